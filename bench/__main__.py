"""``python -m bench`` (``make bench``): run the benchmarks.

Every module of ``bench/`` that defines ``add_arguments(parser)`` and ``run(args)`` is a
benchmark, named after its module (``bench/chat.py`` -> ``chat``): adding one is adding a file.

Examples::

    make bench
    make bench BENCH_ARGS="--mode embedded --clients 500 --rate 4 --seconds 20"
"""

from __future__ import annotations

import argparse
import importlib
import re
import signal
import sys
from pathlib import Path
from types import FrameType, ModuleType

# The gateway fan-out first: it is the baseline every other figure is read against.
FIRST = ("fanout",)


def _is_benchmark(source: str) -> bool:
    return all(re.search(rf"^def {fn}\(", source, re.M) for fn in ("run", "add_arguments"))


def discover() -> dict[str, ModuleType]:
    """The benchmark modules of this package, by name, ``FIRST`` ones leading.

    Helper modules (``clients``, ``topics``, ...) need Django set up before they import, so
    a module is recognised by its source defining both functions, and only those are imported.
    """
    here = Path(__file__).parent
    names = [
        path.stem
        for path in here.glob("*.py")
        if not path.stem.startswith("_") and _is_benchmark(path.read_text(encoding="utf-8"))
    ]
    found: dict[str, ModuleType] = {}
    for name in sorted(names, key=lambda n: (n not in FIRST, n)):
        found[name] = importlib.import_module(f"bench.{name}")
    return found


def _terminate(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so every ``finally`` stops its child processes.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    benchmarks = discover()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "benchmarks", nargs="*", help=f"any of {', '.join(benchmarks)}; default: all"
    )
    for module in benchmarks.values():
        module.add_arguments(parser)
    args = parser.parse_args(argv)
    unknown = [name for name in args.benchmarks if name not in benchmarks]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    signal.signal(signal.SIGTERM, _terminate)
    for name in args.benchmarks or list(benchmarks):
        benchmarks[name].run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
