"""The service catalogue: categories → items → detail (with a QR for online items), and search
with the on-screen keyboard (keywords or pinyin initials; results most-used first)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty

from kiosk.core import inputs as i
from kiosk.core.machine import State
from kiosk.core.ports import ItemSummary
from kiosk.core.views import CatalogueView
from kiosk.ui.graphics import qr_texture
from kiosk.ui.keyboard import OnScreenKeyboard
from kiosk.ui.screens.base import KioskScreen, PrintButton, speech_join
from kiosk.ui.widgets import KButton, KLabel, KTile


class ServicesScreen(KioskScreen):
    """Rebuilds its list only when the catalogue view-model changed."""

    state = State.SERVICES
    keyboard_open = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        self._shown: tuple[CatalogueView, object] | None = None
        self._category_widgets: tuple[object, tuple[Any, Any]] | None = None
        self._keyboard: OnScreenKeyboard | None = None
        self._print = PrintButton(
            self, tag="print_guide", label_key="print.guide", intent=i.PrintGuide
        )
        super().__init__(**kwargs)
        # ids are weak references: keep the footer alive while the keyboard replaces it
        self._footer = self.ids.footer.__self__

    @property
    def keyboard(self) -> OnScreenKeyboard:
        """The on-screen keyboard (built on first use)."""
        if self._keyboard is None:
            self._keyboard = OnScreenKeyboard(tag="keyboard")
            self._keyboard.bind(text=self._typed, on_done=lambda *_a: self.close_keyboard())
        return self._keyboard

    # --- touches --------------------------------------------------------------------------

    def open_keyboard(self) -> None:
        """Show the keyboard in place of the footer, starting from the current query."""
        if self.keyboard_open:
            return
        self.keyboard.text = self.views.catalogue.query
        bottom = self.ids.bottom
        bottom.remove_widget(self._footer)
        bottom.add_widget(self.keyboard)
        self.keyboard_open = True

    def close_keyboard(self) -> None:
        """Hide the keyboard, bring the footer back."""
        if not self.keyboard_open:
            return
        bottom = self.ids.bottom
        bottom.remove_widget(self.keyboard)
        bottom.add_widget(self._footer)
        self.keyboard_open = False

    def _typed(self, _keyboard: Any, text: str) -> None:
        if self.keyboard_open and text != self.views.catalogue.query:
            self.send(i.Search(text))

    def on_leave(self, *_args: Any) -> None:
        self.close_keyboard()

    # --- drawing --------------------------------------------------------------------------

    def show(self, views: Any) -> None:
        self._print.sync(self.ids.footer, views.printing.can_print_guide)
        view: CatalogueView = views.catalogue
        key = (view, self.strings)
        if self._shown == key:
            return
        self._shown = key
        box = self.ids.list_box
        box.clear_widgets()
        self.ids.scroll.scroll_y = 1
        if view.mode == "detail" and view.detail is not None:
            self._fill_detail(box, view)
        elif view.mode == "search":
            self._fill_items(box, self.strings.text("catalogue.results"), view.results, "search")
            if view.no_results:
                box.add_widget(KLabel(text=self.strings.text("catalogue.no_results"), tag="none"))
        elif view.mode == "items":
            self._fill_items(box, view.category_title, view.items, "browse")
        else:
            self._fill_categories(box, view)

    def _fill_categories(self, box: Any, view: CatalogueView) -> None:
        # Every session starts here, and a label texture costs ~7 ms to render with the CJK
        # font (measured: ~130 ms of the card -> greeting frame went to rebuilding 17 tiles).
        # The tiles only change with the catalogue or the language, so they are kept.
        key = (view.categories, self.strings)
        if self._category_widgets is not None and self._category_widgets[0] == key:
            for widget in self._category_widgets[1]:
                box.add_widget(widget)
            return
        heading = KLabel(text=self.strings.text("catalogue.categories"), role="heading")
        box.add_widget(heading)
        grid = Factory.CategoryGrid()
        self._category_widgets = (key, (heading, grid))
        for entry in view.categories:
            text = self.strings.text(
                "catalogue.category_tile", title=entry.title, count=entry.item_count
            )
            tile = KTile(text=text, tag=f"category_{entry.category_id}", intent=i.SelectCategory)
            tile.bind(on_release=lambda _w, c=entry.category_id: self.send(i.SelectCategory(c)))
            grid.add_widget(tile)
        box.add_widget(grid)

    def _fill_items(
        self, box: Any, title: str, items: tuple[ItemSummary, ...], via: i.SearchVia
    ) -> None:
        box.add_widget(KLabel(text=title, role="heading", tag="list_title"))
        for item in items:
            button = KButton(text=item.title, tag=f"item_{item.item_id}", intent=i.OpenItem)
            button.halign = "left"
            button.bind(on_release=lambda _w, n=item.item_id: self.send(i.OpenItem(n, via)))
            box.add_widget(button)

    def _fill_detail(self, box: Any, view: CatalogueView) -> None:
        detail, strings = view.detail, self.strings
        assert detail is not None
        box.add_widget(KLabel(text=detail.title, role="title", tag="detail_title"))
        box.add_widget(KLabel(text=detail.summary, tag="detail_summary"))
        if detail.online_url:  # the main way to handle an online item: first thing after the title
            block = Factory.QrBlock()
            block.ids.qr.texture = qr_texture(detail.online_url)
            block.ids.caption.text = strings.text("catalogue.online_qr")
            box.add_widget(block)
        sections = [
            ("catalogue.handling", view.handling_text),
            ("catalogue.where", detail.where),
            ("catalogue.hours", detail.opening_hours),
        ]
        for key, text in sections:
            if text:
                box.add_widget(KLabel(text=strings.text(key), role="heading"))
                box.add_widget(KLabel(text=text, tag=f"detail_{key.split('.')[-1]}"))
        if detail.materials:
            box.add_widget(KLabel(text=strings.text("catalogue.materials"), role="heading"))
            for number, material in enumerate(detail.materials, start=1):
                line = strings.text("catalogue.material_line", number=number, text=material)
                box.add_widget(KLabel(text=line, tag=f"material_{number}"))

    def _print_text(self) -> str:
        printing = self.views.printing
        return str(printing.text) if printing.kind == "guide" else ""

    def speech_text(self) -> str:
        view = self.views.catalogue
        if view.mode == "detail" and view.detail is not None:
            return speech_join(
                (view.detail.title, view.detail.summary, view.handling_text, self._print_text())
            )
        if view.mode == "search" and view.no_results:
            return self.strings.text("catalogue.no_results")
        return speech_join((view.greeting, self.strings.text("catalogue.title")))


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
