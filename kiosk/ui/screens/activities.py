"""活动报名: the centre's coming activities with a 报名 button each, and — once the resident is
identified — their own sign-ups with where the city's answer stands, cancel and print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.factory import Factory
from kivy.lang import Builder

from kiosk.core import inputs as i
from kiosk.core.machine import State
from kiosk.core.views import ActivitiesView, ActivityView, SignupView
from kiosk.ui.screens.base import KioskScreen, speech_join
from kiosk.ui.widgets import KButton, KLabel


class ActivitiesScreen(KioskScreen):
    """Rebuilds its list when the activities view-model (or the print offer) changed."""

    state = State.ACTIVITIES
    _shown: object = None

    def show(self, views: Any) -> None:
        view: ActivitiesView = views.activities
        key = (view, views.printing.can_print_signup, self.strings)
        if self._shown == key:
            return
        self._shown = key
        box = self.ids.list_box
        box.clear_widgets()
        strings = self.strings
        if view.signups:
            box.add_widget(KLabel(text=strings.text("activities.mine"), role="heading", tag="mine"))
            for signup in view.signups:
                box.add_widget(self._signup_card(signup, can_print=views.printing.can_print_signup))
        box.add_widget(KLabel(text=strings.text("activities.coming"), role="heading", tag="coming"))
        if view.empty_text:
            box.add_widget(KLabel(text=view.empty_text, tag="activities_empty"))
        for activity in view.activities:
            box.add_widget(self._activity_card(activity))

    def _activity_card(self, activity: ActivityView) -> Any:
        card = Factory.ActivityCard()
        card.tag = f"activity_{activity.activity_id}"
        lines = card.ids.lines
        lines.add_widget(KLabel(text=activity.title, role="heading"))
        for text in (activity.when_text, activity.place, activity.organiser, activity.audience):
            lines.add_widget(KLabel(text=text))
        lines.add_widget(KLabel(text=activity.places_text, role="heading"))
        if activity.can_sign_up:
            button = KButton(
                text=self.strings.text("activities.sign_up"),
                tag=f"sign_up_{activity.activity_id}",
                variant="primary",
            )
            button.intent = i.SignUp
            button.bind(on_release=lambda _w, a=activity.activity_id: self.send(i.SignUp(a)))
            card.ids.actions.add_widget(button)
        elif activity.signed_up:
            card.ids.actions.add_widget(
                KLabel(text=self.strings.text("activities.signed_up"), role="heading")
            )
        return card

    def _signup_card(self, signup: SignupView, *, can_print: bool) -> Any:
        card = Factory.ActivityCard()
        card.tag = f"signup_{signup.signup_id}"
        lines = card.ids.lines
        lines.add_widget(KLabel(text=signup.title, role="heading"))
        lines.add_widget(KLabel(text=signup.when_text))
        lines.add_widget(KLabel(text=signup.place))
        lines.add_widget(
            KLabel(text=signup.state_text, role="heading", tag=f"signup_state_{signup.signup_id}")
        )
        actions = card.ids.actions
        if signup.can_cancel:
            cancel = KButton(
                text=self.strings.text("activities.cancel"), tag=f"cancel_{signup.signup_id}"
            )
            cancel.intent = i.CancelSignup
            cancel.bind(on_release=lambda _w, s=signup.signup_id: self.send(i.CancelSignup(s)))
            actions.add_widget(cancel)
        if can_print:
            slip = KButton(
                text=self.strings.text("activities.print"), tag=f"print_signup_{signup.signup_id}"
            )
            slip.intent = i.PrintSignupSlip
            slip.bind(on_release=lambda _w, s=signup.signup_id: self.send(i.PrintSignupSlip(s)))
            actions.add_widget(slip)
        return card

    def speech_text(self) -> str:
        view: ActivitiesView = self.views.activities
        titles = [f"{a.title}，{a.when_text}，{a.places_text}" for a in view.activities[:5]]
        mine = [f"{s.title}，{s.state_text}" for s in view.signups]
        printing = self.views.printing
        status = printing.text if printing.kind == "signup" else ""
        return speech_join((view.greeting, view.notice, *mine, *titles, view.empty_text, status))


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
