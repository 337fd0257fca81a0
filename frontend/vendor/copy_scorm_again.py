"""Copy the scorm-again runtime (npm ``scorm-again``) into
``integrations/static/integrations/vendor``: the SCORM 1.2 and 2004 APIs and the cross-frame
bridge the package player uses (docs/INTEGRATIONS.md). Run by ``make vendor`` after
``npm ci``; the copies are committed too, like the icons, so a checkout that has not run
npm still plays packages from its own files, never a CDN.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "node_modules" / "scorm-again"
TARGET = HERE.parent.parent / "integrations" / "static" / "integrations" / "vendor"
FILES = ("scorm12.min.js", "scorm2004.min.js", "cross-frame-api.min.js", "cross-frame-lms.min.js")


def main() -> int:
    if not SOURCE.is_dir():
        print(f"{SOURCE} is missing: run npm ci in {HERE}", file=sys.stderr)
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        text = (SOURCE / "dist" / name).read_text()
        # The source maps are not copied: drop the comment that points at them.
        lines = [line for line in text.splitlines() if not line.startswith("//# sourceMappingURL")]
        (TARGET / name).write_text("\n".join(lines) + "\n")
    shutil.copyfile(SOURCE / "LICENSE", TARGET / "LICENSE-scorm-again")
    return 0


if __name__ == "__main__":
    sys.exit(main())
