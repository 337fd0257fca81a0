"""``python -m bench`` (``make bench``): run the benchmarks. Today: the gateway fan-out.

Examples::

    make bench
    make bench BENCH_ARGS="--mode embedded --clients 500 --rate 4 --seconds 20"
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from bench import chat, classrooms, fanout, forums

BENCHMARKS = {"fanout": fanout, "chat": chat, "classrooms": classrooms, "forums": forums}


def _terminate(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so every ``finally`` stops its child processes.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "benchmarks", nargs="*", help=f"any of {', '.join(BENCHMARKS)}; default: all"
    )
    fanout.add_arguments(parser)
    classrooms.add_arguments(parser)
    chat.add_arguments(parser)
    forums.add_arguments(parser)
    args = parser.parse_args(argv)
    unknown = [name for name in args.benchmarks if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    signal.signal(signal.SIGTERM, _terminate)
    for name in args.benchmarks or list(BENCHMARKS):
        BENCHMARKS[name].run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
