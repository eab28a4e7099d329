"""我要反映 (诉求): one step at a time with big buttons (docs/requests.md). The screen draws the
session's RequestsView and forwards touches; the text keyboard and the phone's number pad are
on-screen. The phone number is shown in full only while it is typed, never read aloud."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty

from kiosk.core import inputs as i
from kiosk.core.machine import State
from kiosk.core.resident_requests_view import RequestsView
from kiosk.ui.keyboard import OnScreenKeyboard
from kiosk.ui.screens.base import KioskScreen, PrintButton, speech_join
from kiosk.ui.widgets import KButton, KLabel, KTile

# like the PIN pad; a landline is typed with its area code and no dash (07551234567)
PHONE_ROWS = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), ("back", "0", "done"))
FORM_STEPS = ("category", "location", "text", "phone")


class _FooterButton:
    """A footer button present only while the step offers it (like base.PrintButton)."""

    def __init__(self, screen: KioskScreen, tag: str, label_key: str, event: i.Input) -> None:
        self._screen, self._label_key = screen, label_key
        self.button = KButton(tag=tag, variant="primary")
        self.button.intent = type(event)
        self.button.bind(on_release=lambda _w: screen.send(event))

    def sync(self, footer: Any, offered: bool, *, enabled: bool = True) -> None:
        self.button.text = self._screen.strings.text(self._label_key)
        self.button.disabled = not enabled
        parent = self.button.parent
        if offered and parent is None:
            footer.add_widget(self.button)
        elif not offered and parent is not None:
            parent.remove_widget(self.button)


class ResidentRequestsScreen(KioskScreen):
    """Rebuilds its content when the requests view-model changed."""

    state = State.REQUESTS
    keyboard_open = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        self._shown: object = None
        self._step: str | None = None
        self._keyboard: OnScreenKeyboard | None = None
        self._phone_label: Any = None
        self._next = _FooterButton(self, "request_next", "requests.next", i.RequestGo("next"))
        self._submit = _FooterButton(self, "request_submit", "requests.submit", i.SubmitRequest())
        self._refresh = _FooterButton(
            self, "request_refresh", "requests.refresh", i.RequestGo("mine")
        )
        self._print = PrintButton(
            self, tag="print_request", label_key="requests.print", intent=i.PrintRequestTicket
        )
        super().__init__(**kwargs)
        self._footer = self.ids.footer.__self__  # ids are weak: keep it while the keyboard shows

    # --- the text keyboard ---------------------------------------------------------------------

    @property
    def keyboard(self) -> OnScreenKeyboard:
        """The on-screen keyboard for the text (built on first use)."""
        if self._keyboard is None:
            self._keyboard = OnScreenKeyboard(tag="keyboard", max_chars=200)
            self._keyboard.bind(text=self._typed, on_done=lambda *_a: self.close_keyboard())
        return self._keyboard

    def open_keyboard(self) -> None:
        """Show the keyboard in place of the footer, starting from the current text."""
        if self.keyboard_open:
            return
        self.keyboard.text = self.views.requests.text
        self.ids.bottom.remove_widget(self._footer)
        self.ids.bottom.add_widget(self.keyboard)
        self.keyboard_open = True

    def close_keyboard(self) -> None:
        """Hide the keyboard, bring the footer back."""
        if not self.keyboard_open:
            return
        self.ids.bottom.remove_widget(self.keyboard)
        self.ids.bottom.add_widget(self._footer)
        self.keyboard_open = False

    def _typed(self, _keyboard: Any, text: str) -> None:
        if self.keyboard_open and text != self.views.requests.text:
            self.send(i.EditRequestText(text))

    def on_leave(self, *_args: Any) -> None:
        """Leaving (a wipe, the rating): nothing typed stays in the widgets either."""
        self.close_keyboard()
        if self._keyboard is not None:
            self._keyboard.text = ""
        self.ids.list_box.clear_widgets()
        self._shown, self._phone_label, self._step = None, None, None

    def on_pre_enter(self, *args: Any) -> None:
        """The base enables every offered intent; then Next is greyed again where the step is
        not complete (e.g. back from the idle countdown to an empty text)."""
        super().on_pre_enter(*args)
        if self.views is not None:
            view: RequestsView = self.views.requests
            self._next.button.disabled = not view.can_next
            self._refresh.button.disabled = view.mine_phase == "asking"

    # --- drawing -------------------------------------------------------------------------------

    def show(self, views: Any) -> None:
        view: RequestsView = views.requests
        footer = self.ids.footer
        self._next.sync(footer, view.step in FORM_STEPS and view.identified, enabled=view.can_next)
        self._submit.sync(footer, view.step == "review")
        self._refresh.sync(footer, view.step == "mine", enabled=view.mine_phase != "asking")
        self._print.sync(footer, views.printing.can_print_request)
        if view.step != "text":
            self.close_keyboard()
        if self._phone_label is not None:
            self._phone_label.text = self._phone_text(view)
        # the pad is not rebuilt for each digit (a key press must not replace the keys)
        key = (replace(view, phone_shown=""), self.strings)
        if self._shown == key:
            return
        self._shown = key
        box = self.ids.list_box
        box.clear_widgets()
        self._phone_label = None
        draw = getattr(self, f"_draw_{view.step}")
        draw(box, view)
        stepped = self._step is not None and self._step != view.step
        self._step = view.step
        if stepped and views.accessibility.voice and self.manager is not None:
            App.get_running_app().speak_current()  # a new step is like a new screen

    def _tile(self, tag: str, text: str, event: i.Input, *, selected: bool = False) -> Any:
        tile = KTile(tag=tag, text=text, variant="primary" if selected else "secondary")
        tile.intent = type(event)
        tile.bind(on_release=lambda _w: self.send(event))
        return tile

    def _grid(self, cols: int = 3) -> Any:
        return Factory.TileGrid(cols=cols)

    def _draw_menu(self, box: Any, view: RequestsView) -> None:
        if not view.identified:
            return
        grid = self._grid(2)
        strings = self.strings
        grid.add_widget(self._tile("request_new", strings.text("requests.new"), i.RequestGo("new")))
        grid.add_widget(
            self._tile("request_mine", strings.text("requests.mine"), i.RequestGo("mine"))
        )
        for tile in grid.children:
            tile.role = "entry"
        box.add_widget(grid)

    def _draw_category(self, box: Any, view: RequestsView) -> None:
        grid = self._grid()
        for c in view.categories:
            event = i.ChooseRequestCategory(c.key)
            grid.add_widget(
                self._tile(f"request_category_{c.key}", c.text, event, selected=c.selected)
            )
        box.add_widget(grid)

    def _draw_location(self, box: Any, view: RequestsView) -> None:
        grid = self._grid()
        for b in view.buildings:
            event = i.ChooseRequestLocation(int(b.key))
            grid.add_widget(
                self._tile(f"request_building_{b.key}", b.text, event, selected=b.selected)
            )
        none = self.strings.text("requests.location.none")
        grid.add_widget(
            self._tile(
                "request_no_location",
                none,
                i.ChooseRequestLocation(None),
                selected=view.no_location_selected,
            )
        )
        box.add_widget(grid)
        if view.units:
            building = next(int(b.key) for b in view.buildings if b.selected)
            box.add_widget(
                KLabel(text=self.strings.text("requests.location.units"), role="heading")
            )
            units = self._grid(4)
            for u in view.units:
                event = i.ChooseRequestLocation(building, int(u.key))
                units.add_widget(
                    self._tile(f"request_unit_{u.key}", u.text, event, selected=u.selected)
                )
            box.add_widget(units)

    def _draw_text(self, box: Any, view: RequestsView) -> None:
        strings = self.strings
        card = Factory.Card(size_hint_y=None)
        card.bind(minimum_height=card.setter("height"))
        card.add_widget(KLabel(text=strings.text("requests.text.label"), role="heading"))
        card.add_widget(KLabel(text=view.text or "…", tag="request_text"))
        card.add_widget(KLabel(text=view.text_count, tag="request_text_count"))
        box.add_widget(card)
        row = self._grid(2)
        keyboard = KTile(tag="request_keyboard", text=strings.text("requests.text.keyboard"))
        keyboard.bind(on_release=lambda _w: self.open_keyboard())
        row.add_widget(keyboard)
        row.add_widget(
            self._tile(
                "request_text_clear", strings.text("requests.text.clear"), i.EditRequestText("")
            )
        )
        box.add_widget(row)
        box.add_widget(KLabel(text=strings.text("requests.phrases"), role="heading"))
        phrases = self._grid(2)
        for p in view.phrases:
            event = i.AddRequestPhrase(int(p.key))
            phrases.add_widget(
                self._tile(f"request_phrase_{p.key}", p.text, event, selected=p.selected)
            )
        box.add_widget(phrases)

    def _draw_phone(self, box: Any, view: RequestsView) -> None:
        strings = self.strings
        box.add_widget(
            KLabel(text=strings.text("requests.phone.privacy"), tag="request_phone_privacy")
        )
        if view.phone_shown or view.phone_typing:
            self._phone_label = KLabel(
                text=self._phone_text(view), role="title", tag="request_phone"
            )
            box.add_widget(self._phone_label)
        if not view.phone_typing:
            grid = self._grid(2)
            yes = self._tile(
                "request_phone_yes", strings.text("requests.phone.yes"), i.RequestPhoneKey("edit")
            )
            no = KTile(tag="request_phone_no", text=strings.text("requests.phone.no"))
            no.intent = i.RequestPhoneKey
            no.bind(on_release=lambda _w: self._no_call_back())
            grid.add_widget(yes)
            grid.add_widget(no)
            box.add_widget(grid)
            return
        pad = Factory.PhonePad()
        for row_keys in PHONE_ROWS:
            row = Factory.PinRow()
            for key in row_keys:
                labels = {"back": "keyboard.backspace", "done": "requests.phone.done"}
                text = strings.text(labels[key]) if key in labels else key
                variant = "primary" if key == "done" else "secondary"
                tile = Factory.PinTile(text=text, tag=f"phone_key_{key}", variant=variant)
                tile.intent = i.RequestPhoneKey
                tile.bind(on_release=lambda _w, k=key: self.send(i.RequestPhoneKey(k)))
                row.add_widget(tile)
            pad.add_widget(row)
        box.add_widget(pad)

    def _phone_text(self, view: RequestsView) -> str:
        return f"{self.strings.text('requests.phone.label')}：{view.phone_shown or '…'}"

    def _no_call_back(self) -> None:
        self.send(i.RequestPhoneKey("remove"))
        self.send(i.RequestGo("next"))

    def _draw_review(self, box: Any, view: RequestsView) -> None:
        card = Factory.Card(size_hint_y=None)
        card.bind(minimum_height=card.setter("height"))
        for n, (label, value) in enumerate(view.review):
            card.add_widget(KLabel(text=label, role="heading"))
            card.add_widget(KLabel(text=value, tag=f"request_review_{n}"))
        box.add_widget(card)

    def _draw_ticket(self, box: Any, view: RequestsView) -> None:
        box.add_widget(KLabel(text=view.ticket, role="huge", tag="request_ticket", halign="center"))
        box.add_widget(
            KLabel(text=self.strings.text("requests.ticket.note"), tag="request_ticket_note")
        )

    def _draw_mine(self, box: Any, view: RequestsView) -> None:
        strings = self.strings
        if view.mine_status:
            box.add_widget(Factory.Notice(text=view.mine_status, tag="request_mine_status"))
        if not view.mine and view.mine_phase != "asking":
            box.add_widget(
                KLabel(text=strings.text("requests.mine.empty"), tag="request_mine_empty")
            )
        for m in view.mine:
            card = Factory.Card(size_hint_y=None)
            card.bind(minimum_height=card.setter("height"))
            card.tag = f"request_{m.request_id}"
            title = f"{m.category_text}  {strings.text('requests.mine.ticket', ticket=m.ticket)}"
            card.add_widget(KLabel(text=title, role="heading"))
            card.add_widget(KLabel(text=m.date_text))
            if m.text:
                card.add_widget(KLabel(text=m.text))
            card.add_widget(
                KLabel(text=m.state_text, role="heading", tag=f"request_state_{m.request_id}")
            )
            if m.answer:
                card.add_widget(KLabel(text=strings.text("requests.mine.answer", answer=m.answer)))
            box.add_widget(card)

    # --- speech --------------------------------------------------------------------------------

    def speech_text(self) -> str:
        """The step's sentence and its choices; the ticket character by character; never the
        phone number (not even masked: read aloud, it would be heard by anyone near)."""
        view: RequestsView = self.views.requests
        strings = self.strings
        parts = [view.greeting, view.instruction, view.notice]
        if view.step == "category":
            parts += [c.text for c in view.categories]
        elif view.step == "location":
            parts += [b.text for b in view.buildings] + [u.text for u in view.units]
        elif view.step == "text":
            parts += [view.text] + [p.text for p in view.phrases]
        elif view.step == "phone":
            parts.append(strings.text("requests.phone.privacy"))
        elif view.step == "review":
            parts += [
                f"{label}：{value}"
                for label, value in view.review
                if label != strings.text("requests.review.phone")
            ]
        elif view.step == "ticket":
            parts += [
                strings.text("requests.ticket.spoken", ticket=view.ticket_spoken),
                strings.text("requests.ticket.note"),
            ]
        elif view.step == "mine":
            parts.append(view.mine_status)
            parts += [f"{m.category_text}，{m.state_text}，{m.answer}" for m in view.mine[:5]]
        printing = self.views.printing
        if printing.kind == "request":
            parts.append(printing.text)
        return speech_join(parts)


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
