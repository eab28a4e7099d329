"""Technician tool and CLI: capture replay records, masking, and the subprocess entry points."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.idcard.samples import SAMPLE_CARDS
from drivers.idcard.tool import card_record, decode_capture, probe
from tests.drivers.idcard import capture_builder

RECORD_KEYS = [
    "card_type",
    "name_masked",
    "sex",
    "nation",
    "birth",
    "id_number_masked",
    "id_number_valid",
    "valid_from",
    "valid_to",
    "authority",
    "address_masked",
]
REPO = Path(__file__).resolve().parents[3]


def test_committed_captures_match_the_builder() -> None:
    """The capture files are exactly what the simulator frames produce (reproducible fixtures)."""
    assert capture_builder.SESSION_BIN.read_bytes() == capture_builder.resident_session()
    text = capture_builder.READER_SIDE_HEX.read_text()
    assert text == capture_builder.as_hex_dump(capture_builder.reader_side())


def status(sw3: int, meaning: str, sw1: int = 0, sw2: int = 0) -> dict[str, object]:
    return {"kind": "status", "sw1": sw1, "sw2": sw2, "sw3": sw3, "meaning": meaning}


def test_two_way_capture_skips_host_commands_and_prints_every_reply() -> None:
    """Host commands are skipped; every reply that is not a card prints as a status record.

    Changed by issue 10 items 2 and 10: non-read replies used to be dropped silently, and the
    birth printed in full (YYYYMMDD) rebuilt the digits the masked number hides.
    """
    records = list(decode_capture(capture_builder.resident_session()))
    assert records[:6] == [
        status(0x90, "success"),
        status(0x90, "success"),
        {"error": "garbage", "offset": 68},
        status(0x80, "no card found"),
        status(0x9F, "card found"),
        status(0x90, "success"),
    ]
    assert len(records) == 7
    card = records[6]
    assert list(card) == RECORD_KEYS
    assert card["card_type"] == "resident"
    assert card["id_number_masked"] == "350503********0029"
    assert card["id_number_valid"] is True
    assert (card["sex"], card["nation"], card["birth"]) == ("female", "汉", "1990")


def test_reader_side_capture_has_every_card_type_and_the_bad_frame() -> None:
    """All four card types decode, a corrupted read is one error record, a truncated tail too."""
    data = capture_builder.reader_side()
    records = list(decode_capture(data + data[:50]))
    types = [r.get("card_type") for r in records]
    assert {"hkmotw_permit", "foreign_pr_2017", "foreign_pr_2023", "resident"} <= set(types)
    errors = [r for r in records if "error" in r]
    assert [e["error"] for e in errors] == ["bad checksum", "truncated"]
    assert errors[-1]["offset"] == len(data)


def test_decode_capture_output_never_contains_clear_pii() -> None:
    """No record contains a clear name, ID number, address or pass number of any sample card."""
    data = capture_builder.resident_session() + capture_builder.reader_side()
    output = "\n".join(json.dumps(r, ensure_ascii=False) for r in decode_capture(data))
    for card in SAMPLE_CARDS.values():
        for secret in (card.name, card.english_name, card.id_number, card.address):
            if secret:
                assert secret not in output
        assert card.id_number[6:14] + card.id_number[14:16] not in output


def test_fifteen_character_numbers_keep_three_and_four() -> None:
    """A 2017 PR number (15 characters) shows its first 3 and last 4 characters only."""
    record = card_record(SAMPLE_CARDS["foreign_pr_2017"])
    assert record["id_number_masked"] == "USA********0116"
    assert record["valid_to"] == "20270601"


def test_long_term_validity_is_printed_as_such() -> None:
    """valid_to is 长期 for a long-term card."""
    assert card_record(SAMPLE_CARDS["rare_name"])["valid_to"] == "长期"


def run_cli(*args: str) -> list[dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-m", "drivers", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize(
    ("path", "extra", "cards"),
    [
        (capture_builder.SESSION_BIN, [], 1),
        (capture_builder.READER_SIDE_HEX, ["--hex"], 5),
    ],
)
def test_cli_decodes_committed_captures(path: Path, extra: list[str], cards: int) -> None:
    """`python -m drivers decode idcard FILE [--hex]` prints one JSON record per card."""
    records = run_cli("decode", "idcard", str(path), *extra)
    assert sum("card_type" in r for r in records) == cards
    assert all(list(r) == RECORD_KEYS for r in records if "card_type" in r)


def test_cli_probe_against_the_in_process_simulator() -> None:
    """`python -m drivers probe idcard sim://idcard?scenario=…` prints status and the card."""
    records = run_cli("probe", "idcard", "sim://idcard?scenario=foreign_pr_2017", "--timeout", "2")
    assert records[0] == {
        "kind": "status",
        "status": "ok",
        "sam_id": "05.01-20240101-0000012345-0000067890",
    }
    assert records[1]["card_type"] == "foreign_pr_2017"


def test_probe_reports_no_card() -> None:
    """probe on an empty reader ends with a no_card record after its timeout."""
    records = list(probe("sim://idcard?scenario=absent", 0.4))
    assert records[-1] == {"kind": "no_card", "timeout_s": 0.4}
