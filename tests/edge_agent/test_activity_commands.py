"""The agent's side of 活动报名: the `activities` set_config kind (validated with path errors)
and `activity_signup_result` handed to the kiosk one file per sign-up; hostile args refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.kiosk_agent import MAX_PENDING_SIGNUP_RESULTS, parse_signup_result, signup_results_dir
from edge_agent.actions import Actions
from edge_agent.agent import DEFAULT_VALIDATORS
from edge_agent.commands import make_command
from tests.activities.test_activities_config import activity, document
from tests.edge_agent.conftest import TARGET
from tests.edge_agent.test_commands import check_result, ran, set_config

SIGNUP_ID = "0193f1c2-7a4b-7c3d-8e5f-0123456789ab"


def make_actions(tmp_path: Path) -> Actions:
    data = tmp_path / "data"
    return Actions(
        data,
        {"catalogue": tmp_path / "catalogue.yaml", "activities": data / "activities.yaml"},
        validators=dict(DEFAULT_VALIDATORS),
    )


def signup_result(args: Any) -> dict[str, Any]:
    return make_command("activity_signup_result", TARGET, args)


def test_activities_swap_in_and_the_kiosk_is_told(tmp_path: Path) -> None:
    """A good document replaces the file; the kiosk gets a reload_config request for it."""
    actions = make_actions(tmp_path)
    content = json.dumps(document(activity()), ensure_ascii=False)
    result = ran(actions, set_config("activities", "2026-12-01.1", content))
    check_result(result)
    assert result["status"] == "ok", result
    assert (tmp_path / "data" / "activities.yaml").read_text(encoding="utf-8") == content
    request = json.loads((tmp_path / "data" / "requests" / "reload_config.json").read_text())
    assert request["kind"] == "activities"


def test_a_bad_activities_document_is_refused_with_its_path(tmp_path: Path) -> None:
    """places_left over capacity: rejected, the problem names the field; the old file stays."""
    actions = make_actions(tmp_path)
    bad = json.dumps(document(activity(places_left=99)))
    result = ran(actions, set_config("activities", "2026-12-01.1", bad))
    check_result(result)
    assert (result["status"], result["reason"]) == ("rejected", "invalid_payload")
    assert "activities[0].places_left" in result["detail"]["problem"]
    assert not (tmp_path / "data" / "activities.yaml").exists()


def test_a_signup_result_becomes_one_file_for_the_kiosk(tmp_path: Path) -> None:
    """Confirmed and refused answers land as files named by sign-up; nothing overwrites."""
    actions = make_actions(tmp_path)
    other = "0193f1c2-7a4b-7c3d-9e5f-0123456789ac"
    first = ran(actions, signup_result({"signup_id": SIGNUP_ID, "outcome": "confirmed"}))
    check_result(first)
    assert first["status"] == "ok"
    assert first["detail"] == {"signup_id": SIGNUP_ID, "handed_to_kiosk": True}
    args = {"signup_id": other, "outcome": "refused", "reason": "名额已满"}
    ran(actions, signup_result(args))
    folder = signup_results_dir(tmp_path / "data")
    files = sorted(p.name for p in folder.glob("*.json"))
    assert files == sorted([f"{SIGNUP_ID}.json", f"{other}.json"])
    stored = json.loads((folder / f"{other}.json").read_text(encoding="utf-8"))
    assert parse_signup_result(stored) == parse_signup_result(args)


def test_a_kiosk_that_takes_nothing_gets_no_more_files(tmp_path: Path) -> None:
    """Past the pending limit the agent answers failed instead of filling the disk."""
    actions = make_actions(tmp_path)
    folder = signup_results_dir(tmp_path / "data")
    folder.mkdir(parents=True)
    for n in range(MAX_PENDING_SIGNUP_RESULTS):
        (folder / f"{n}.json").write_text("{}")
    result = ran(actions, signup_result({"signup_id": SIGNUP_ID, "outcome": "confirmed"}))
    check_result(result)
    assert (result["status"], result["reason"]) == ("failed", "execution_failed")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
BAD_IDS = [SIGNUP_ID.upper(), "../../etc/passwd", "", "x" * 40, SIGNUP_ID.replace("-7", "-4")]
NEAR_MISS = st.fixed_dictionaries(
    {
        "signup_id": st.sampled_from([SIGNUP_ID, *BAD_IDS]),
        "outcome": st.sampled_from(["confirmed", "refused", "CONFIRMED", "maybe", None]),
    },
    optional={"reason": st.text(max_size=250) | st.integers(), "extra": JSON},
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.text(max_size=10), JSON, max_size=4) | NEAR_MISS)
def test_hostile_signup_args_are_refused_or_stored_clean(tmp_path: Path, args: Any) -> None:
    """Any args object (the command schema makes args one): a valid command.result; a file
    only for a well-formed answer, named by its UUIDv7 alone (no path from the payload),
    holding exactly the parsed answer."""
    actions = make_actions(tmp_path)
    result = ran(actions, signup_result(args))
    check_result(result)
    parsed = parse_signup_result(args)
    folder = signup_results_dir(tmp_path / "data")
    if parsed is None:
        assert (result["status"], result["reason"]) == ("rejected", "invalid_payload")
        return
    assert result["status"] == "ok"
    path = folder / f"{parsed.signup_id}.json"
    assert path.parent == folder
    assert parse_signup_result(json.loads(path.read_text(encoding="utf-8"))) == parsed
    assert all(ch.isprintable() for ch in parsed.reason)
