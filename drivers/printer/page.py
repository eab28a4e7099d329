"""What a printer does with decoded commands: a page of typed items, with the modes in force.

Pure: `PageBuilder.apply(command)` folds one command into the page; the simulator feeds it and
`drivers.printer.render` draws the result. Alignment is taken when a line starts, as printers do
in standard mode; a line longer than the paper wraps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.printer.frames import (
    Align,
    Bold,
    CharacterSize,
    ChineseMode,
    Command,
    Cut,
    FeedLines,
    Initialize,
    Justify,
    LineFeed,
    QrErrorCorrection,
    QrErrorLevel,
    QrModuleSize,
    QrPrint,
    QrStore,
    RasterImage,
    Text,
)

MAX_PAGE_ITEMS = 2000  # a roll is finite too: items past this are dropped, counted


@dataclass(frozen=True)
class Run:
    """Text printed with one set of modes."""

    text: str
    bold: bool
    width: int
    height: int


@dataclass(frozen=True)
class TextLine:
    """One printed line (possibly empty: a feed)."""

    runs: tuple[Run, ...]
    align: Align


@dataclass(frozen=True)
class QrItem:
    """A QR symbol printed from the stored data."""

    payload: bytes
    module_dots: int
    level: QrErrorLevel
    align: Align


@dataclass(frozen=True)
class RasterItem:
    """A raster graphic."""

    image: RasterImage
    align: Align


@dataclass(frozen=True)
class CutMark:
    """Where the knife cut."""

    partial: bool


PageItem = TextLine | QrItem | RasterItem | CutMark


@dataclass
class _Modes:
    bold: bool = False
    width: int = 1
    height: int = 1
    align: Align = Align.LEFT
    chinese: bool = False
    qr_module: int = 3
    qr_level: QrErrorLevel = QrErrorLevel.L


@dataclass
class PageBuilder:
    """Folds commands into page items."""

    items: list[PageItem] = field(default_factory=list)
    dropped_items: int = 0
    _modes: _Modes = field(default_factory=_Modes)
    _runs: list[Run] = field(default_factory=list)
    _line_align: Align | None = None
    _qr_data: bytes = b""

    def apply(self, command: Command) -> None:  # noqa: PLR0912 - one branch per command
        """Change modes or add to the page; status requests and unknowns change nothing."""
        modes = self._modes
        match command:
            case Initialize():
                self._flush_partial()
                self._modes = _Modes()
                self._qr_data = b""
            case ChineseMode(on=on):
                modes.chinese = on
            case Bold(on=on):
                modes.bold = on
            case CharacterSize(width=w, height=h):
                modes.width, modes.height = w, h
            case Justify(align=align):
                modes.align = align
            case Text(data=data):
                self._add_text(data)
            case LineFeed():
                self._end_line()
            case FeedLines(lines=lines):
                self._end_line()
                for _ in range(max(0, lines - 1)):
                    self._end_line()
            case Cut(partial=partial):
                self._flush_partial()
                self._add(CutMark(partial))
            case QrModuleSize(dots=dots):
                modes.qr_module = dots
            case QrErrorCorrection(level=level):
                modes.qr_level = level
            case QrStore(data=data):
                self._qr_data = data
            case QrPrint():
                if self._qr_data:
                    self._flush_partial()
                    self._add(QrItem(self._qr_data, modes.qr_module, modes.qr_level, modes.align))
            case RasterImage():
                self._flush_partial()
                self._add(RasterItem(command, modes.align))
            case _:
                pass

    def text_lines(self) -> list[str]:
        """The page's text, one string per printed line (for tests and the CLI)."""
        return [
            "".join(r.text for r in item.runs) for item in self.items if isinstance(item, TextLine)
        ]

    def _add(self, item: PageItem) -> None:
        if len(self.items) >= MAX_PAGE_ITEMS:
            self.dropped_items += 1
            return
        self.items.append(item)

    def _add_text(self, data: bytes) -> None:
        encoding = "gb18030" if self._modes.chinese else "cp437"
        decoded = data.decode(encoding, errors="replace")
        if self._line_align is None:
            self._line_align = self._modes.align
        m = self._modes
        self._runs.append(Run(decoded, m.bold, m.width, m.height))

    def _end_line(self) -> None:
        align = self._line_align if self._line_align is not None else self._modes.align
        self._add(TextLine(tuple(self._runs), align))
        self._runs = []
        self._line_align = None

    def _flush_partial(self) -> None:
        if self._runs:
            self._end_line()
