"""红色积分: the resident's balance, recent entries and what points can buy; the confirm step,
"please wait", a failure in plain words with try again, and the voucher (code, QR, printed).

All of it is PointsView (kiosk/core/points.py): this screen lays it out and forwards touches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.factory import Factory
from kivy.lang import Builder

from kiosk.core import inputs as i
from kiosk.core.machine import State
from kiosk.core.views import PointsView, RewardView
from kiosk.ui.graphics import qr_texture
from kiosk.ui.screens.base import KioskScreen, speech_join
from kiosk.ui.widgets import KButton, KLabel


class PointsScreen(KioskScreen):
    """Rebuilds its list and footer when the points view-model (or the print offer) changed."""

    state = State.POINTS
    _shown: object = None

    def show(self, views: Any) -> None:
        view: PointsView = views.points
        key = (view, views.printing.can_print_voucher, self.strings)
        if self._shown == key:
            return
        self._shown = key
        box = self.ids.list_box
        box.clear_widgets()
        if view.phase in ("loading", "redeeming"):
            box.add_widget(KLabel(text=view.waiting_text, role="title", tag="points_wait"))
        elif view.phase == "confirm" and view.confirm is not None:
            self._confirm(box, view)
        elif view.phase == "voucher" and view.voucher is not None:
            self._voucher(box, view)
        elif view.phase in ("overview", "error"):
            self._overview(box, view)
        self._footer(view, can_print=views.printing.can_print_voucher)

    def _overview(self, box: Any, view: PointsView) -> None:
        strings = self.strings
        if view.balance_text:
            box.add_widget(KLabel(text=view.balance_text, role="title", tag="points_balance"))
        if view.rewards or view.rewards_empty_text:
            box.add_widget(KLabel(text=strings.text("points.catalogue"), role="heading"))
        if view.rewards_empty_text:
            box.add_widget(KLabel(text=view.rewards_empty_text, tag="rewards_empty"))
        for reward in view.rewards:
            box.add_widget(self._reward_card(reward, offer=view.phase == "overview"))
        if view.entries or view.entries_empty_text:
            box.add_widget(KLabel(text=strings.text("points.recent"), role="heading"))
        if view.entries_empty_text:
            box.add_widget(KLabel(text=view.entries_empty_text, tag="entries_empty"))
        for number, entry in enumerate(view.entries):
            card = Factory.PointsCard()
            card.tag = f"entry_{number}"
            card.ids.lines.add_widget(KLabel(text=entry.title, role="heading"))
            card.ids.lines.add_widget(KLabel(text=entry.when_text))
            card.ids.actions.add_widget(
                KLabel(text=entry.points_text, role="title", halign="right")
            )
            box.add_widget(card)

    def _reward_card(self, reward: RewardView, *, offer: bool) -> Any:
        card = Factory.PointsCard()
        card.tag = f"reward_card_{reward.reward_id}"
        lines = card.ids.lines
        lines.add_widget(KLabel(text=reward.title, role="heading"))
        lines.add_widget(KLabel(text=reward.points_text, role="heading"))
        lines.add_widget(KLabel(text=reward.status_text, tag=f"reward_status_{reward.reward_id}"))
        if reward.can_choose and offer:
            button = KButton(
                text=self.strings.text("points.choose"),
                tag=f"reward_{reward.reward_id}",
                variant="primary",
            )
            button.intent = i.ChooseReward
            button.bind(on_release=lambda _w, r=reward.reward_id: self.send(i.ChooseReward(r)))
            card.ids.actions.add_widget(button)
        return card

    def _confirm(self, box: Any, view: PointsView) -> None:
        confirm = view.confirm
        assert confirm is not None
        box.add_widget(KLabel(text=self.strings.text("points.confirm.title"), role="heading"))
        box.add_widget(KLabel(text=confirm.question, role="title", tag="confirm_question"))
        box.add_widget(KLabel(text=confirm.price_text, role="heading", tag="confirm_price"))
        box.add_widget(
            KLabel(text=confirm.balance_after_text, role="heading", tag="confirm_balance_after")
        )

    def _voucher(self, box: Any, view: PointsView) -> None:
        voucher = view.voucher
        assert voucher is not None
        strings = self.strings
        card = Factory.VoucherCard()
        card.ids.qr.texture = qr_texture(voucher.code)
        lines = card.ids.lines
        lines.add_widget(KLabel(text=strings.text("points.voucher.title"), role="heading"))
        lines.add_widget(KLabel(text=voucher.code, role="huge", tag="voucher_code"))
        lines.add_widget(KLabel(text=voucher.title, role="heading", tag="voucher_title"))
        for tag, text in (
            ("voucher_spent", voucher.points_text),
            ("voucher_balance_after", voucher.balance_after_text),
        ):
            lines.add_widget(KLabel(text=text, role="heading", tag=tag))
        box.add_widget(card)
        box.add_widget(KLabel(text=voucher.when_text, tag="voucher_when"))
        box.add_widget(KLabel(text=voucher.note, tag="voucher_note"))

    def _footer(self, view: PointsView, *, can_print: bool) -> None:
        footer = self.ids.footer
        footer.clear_widgets()
        if view.phase == "redeeming":
            return  # the answer decides; leaving now would lose the voucher
        strings = self.strings
        buttons: list[tuple[str, str, type, str]] = []
        if view.phase == "voucher" and can_print:
            buttons.append(("print_voucher", "points.print", i.PrintVoucher, "secondary"))
        buttons.append(("back", "common.back", i.Back, "secondary"))
        if view.phase == "confirm":
            buttons.append(("confirm_redeem", "points.confirm.ok", i.ConfirmRedeem, "primary"))
        if view.phase == "error" and view.can_retry:
            buttons.append(("retry", "points.retry", i.PointsRetry, "primary"))
        if view.phase != "confirm":
            buttons.append(("exit", "common.exit", i.Exit, "secondary"))
        for tag, label, intent, variant in buttons:
            button = KButton(text=strings.text(label), tag=tag, variant=variant)
            button.intent = intent
            button.bind(on_release=lambda _w, t=intent: self.send(t()))
            footer.add_widget(button)

    def speech_text(self) -> str:
        view: PointsView = self.views.points
        printing = self.views.printing
        status = printing.text if printing.kind == "voucher" else ""
        if view.phase in ("loading", "redeeming"):
            return view.waiting_text
        if view.phase == "confirm" and view.confirm is not None:
            c = view.confirm
            return speech_join((c.question, c.price_text, c.balance_after_text))
        if view.phase == "voucher" and view.voucher is not None:
            v = view.voucher
            code = "，".join(v.code.replace("-", ""))  # read one character at a time
            return speech_join(
                (
                    self.strings.text("points.voucher.title"),
                    v.title,
                    self.strings.text("points.voucher.code"),
                    code,
                    v.points_text,
                    v.balance_after_text,
                    v.note,
                    status,
                )
            )
        rewards = [f"{r.title}，{r.points_text}，{r.status_text}" for r in view.rewards[:5]]
        return speech_join(
            (view.greeting, view.error_text, view.notice, view.balance_text, *rewards)
        )


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
