"""Extract the Simplified-Chinese face of Debian's Noto Sans CJK collection as a single-face font.

Kivy opens face 0 of a .ttc (Japanese glyph forms) and has no per-glyph fallback, so the app
registers this one file as its default font (docs/design.md §3). Generated at setup, never
committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools.ttLib import TTCollection

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
TARGET = Path(__file__).resolve().parents[1] / "build" / "fonts" / "NotoSansCJKsc-Regular.otf"
WANTED_FAMILY = "Noto Sans CJK SC"


def main() -> int:
    if TARGET.exists():
        return 0
    if not SOURCE.exists():
        print(f"make_font: {SOURCE} missing (install fonts-noto-cjk)", file=sys.stderr)
        return 1
    collection = TTCollection(str(SOURCE), lazy=True)
    for font in collection.fonts:
        if font["name"].getDebugName(1) == WANTED_FAMILY:
            TARGET.parent.mkdir(parents=True, exist_ok=True)
            partial = TARGET.with_suffix(".tmp")
            font.save(str(partial))
            partial.replace(TARGET)
            return 0
    print(f"make_font: no face named {WANTED_FAMILY!r} in {SOURCE}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
