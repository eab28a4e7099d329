"""An ESC/POS receipt printer simulator: decodes what it receives, keeps the page, answers status.

Sans-I/O like the other simulators (`feed`/`poll`/`control`, time passed in). Scenarios are data:
the sensor states the printer reports. While it cannot print (paper out, cover open) it still
answers DLE EOT in real time, as printers do, and discards print data, counting it. Each cut
ends a page; with `out_dir` set every page is also written there as a PNG. `paper_lines` leaves
that many line feeds on the roll: the paper then runs out mid-receipt (until `load_paper`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from drivers.errors import FrameError
from drivers.printer.decoder import EscPosDecoder
from drivers.printer.frames import DOTS_80MM, Cut, FeedLines, LineFeed, StatusRequest
from drivers.printer.page import PageBuilder, PageItem
from drivers.printer.status import PrinterStatus, encode_status
from drivers.simulation import SimOutput

MAX_PAGES_KEPT = 16


@dataclass(frozen=True)
class Scenario:
    """The printer's sensors."""

    name: str
    status: PrinterStatus = PrinterStatus()  # noqa: RUF009 - frozen, so sharing it is safe


SCENARIOS: Mapping[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("normal"),
        Scenario("paper_near_end", PrinterStatus(paper_near_end=True)),
        Scenario("paper_out", PrinterStatus(offline=True, paper_out=True, paper_near_end=True)),
        Scenario("cover_open", PrinterStatus(offline=True, cover_open=True)),
    )
}
ALIASES = {"default": "normal"}


class PrinterSimulator:
    """Sans-I/O printer: `feed` host bytes, `poll` for status replies."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        width_dots: int = DOTS_80MM,
        out_dir: Path | None = None,
        paper_lines: int | None = None,
    ) -> None:
        self.scenario = scenario
        self.status = scenario.status
        self.width_dots = width_dots
        self.out_dir = out_dir
        self.pages: list[list[PageItem]] = []
        self.frame_errors: list[FrameError] = []
        self.discarded_commands = 0
        self.status_requests = 0
        self.pages_printed = 0
        self._decoder = EscPosDecoder()
        self._builder = PageBuilder()
        self._outbox = bytearray()
        self.paper_lines_left = paper_lines  # None: an endless roll

    @property
    def current_page(self) -> list[PageItem]:
        """Items printed since the last cut."""
        return self._builder.items

    def feed(self, data: bytes, now_s: float) -> None:
        """Decode host bytes; print what can be printed, answer status requests."""
        for event in self._decoder.feed(data):
            if isinstance(event, FrameError):
                self.frame_errors.append(event)
                del self.frame_errors[:-64]
            elif isinstance(event, StatusRequest):
                self.status_requests += 1
                self._outbox.append(encode_status(self.status, event.kind))
            elif not self.status.can_print:
                self.discarded_commands += 1
            else:
                self._builder.apply(event)
                if isinstance(event, Cut):
                    self._end_page()
                elif isinstance(event, LineFeed | FeedLines):
                    self._use_paper(event.lines if isinstance(event, FeedLines) else 1)

    def _use_paper(self, lines: int) -> None:
        if self.paper_lines_left is None:
            return
        self.paper_lines_left = max(0, self.paper_lines_left - lines)
        if self.paper_lines_left == 0:
            self.status = replace(self.status, paper_out=True, paper_near_end=True, offline=True)

    def poll(self, now_s: float) -> SimOutput:
        """Status replies are due at once; the printer never speaks unasked."""
        data = bytes(self._outbox)
        self._outbox.clear()
        return SimOutput(data=data)

    def control(self, command: str, now_s: float) -> str:
        """`scenario NAME`, `open_cover`, `close_cover`, `paper_out`, `load_paper`, `png PATH`."""
        verb, _, rest = command.strip().partition(" ")
        s = self.status
        if verb == "scenario" and rest.strip() in SCENARIOS:
            self.scenario = SCENARIOS[rest.strip()]
            self.status = self.scenario.status
            return f"scenario {self.scenario.name}"
        if verb in _SENSOR_CHANGES:
            if verb == "load_paper":
                self.paper_lines_left = None
            self.status = replace(s, **_SENSOR_CHANGES[verb])
            self.status = replace(
                self.status, offline=self.status.paper_out or self.status.cover_open
            )
            return verb
        if verb == "png" and rest.strip():
            path = Path(rest.strip())
            self.write_png(path, self.pages[-1] if self.pages else self.current_page)
            return f"wrote {path}"
        known = ", ".join(sorted(SCENARIOS))
        raise ValueError(
            "unknown command; use 'scenario <" + known + ">', open_cover, close_cover, "
            "paper_out, load_paper or 'png <path>'"
        )

    def write_png(self, path: Path, items: list[PageItem]) -> None:
        """Render `items` to a PNG file."""
        from drivers.printer.render import render_png

        path.write_bytes(render_png(items, width_dots=self.width_dots))

    def _end_page(self) -> None:
        page = self._builder.items
        self._builder = PageBuilder()
        self.pages.append(page)
        self.pages_printed += 1
        del self.pages[:-MAX_PAGES_KEPT]
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.write_png(self.out_dir / f"receipt-{self.pages_printed:03d}.png", page)


_SENSOR_CHANGES: Mapping[str, Mapping[str, bool]] = {
    "open_cover": {"cover_open": True},
    "close_cover": {"cover_open": False},
    "paper_out": {"paper_out": True, "paper_near_end": True},
    "load_paper": {"paper_out": False, "paper_near_end": False},
}


def make_simulator(
    scenario: str = "normal",
    *,
    width_dots: str = str(DOTS_80MM),
    out_dir: str | None = None,
    paper_lines: str | None = None,
) -> PrinterSimulator:
    """Build a printer simulator for a scenario name (ValueError if unknown)."""
    name = ALIASES.get(scenario, scenario)
    try:
        chosen = SCENARIOS[name]
    except KeyError:
        known = ", ".join(sorted(SCENARIOS))
        raise ValueError(f"unknown printer scenario {scenario!r}; known: {known}") from None
    return PrinterSimulator(
        chosen,
        width_dots=int(width_dots),
        out_dir=Path(out_dir) if out_dir else None,
        paper_lines=int(paper_lines) if paper_lines is not None else None,
    )
