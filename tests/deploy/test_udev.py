"""deploy/udev/99-civic-kiosk.rules: valid syntax, and the names and permissions devices get."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.udev_rules import (
    Device,
    RuleSyntaxError,
    apply_rules,
    parse_rules,
    uncomment_examples,
)

RULES_FILE = Path(__file__).resolve().parents[2] / "deploy" / "udev" / "99-civic-kiosk.rules"
SHIPPED = RULES_FILE.read_text(encoding="utf-8")
CH340 = {"ID_BUS": "usb", "ID_VENDOR_ID": "1a86", "ID_MODEL_ID": "7523"}
CP210X = {"ID_BUS": "usb", "ID_VENDOR_ID": "10c4", "ID_MODEL_ID": "ea60"}
SOCKET_1 = "pci-0000:00:14.0-usb-0:1:1.0"
SOCKET_2 = "pci-0000:00:14.0-usb-0:2:1.0"


def serial_port(env: dict[str, str], kernel: str = "ttyUSB0", action: str = "add") -> Device:
    return Device(subsystem="tty", kernel=kernel, env=dict(env), action=action)


def test_shipped_rules_parse() -> None:
    """The installed file is valid rule syntax, with every GOTO jumping forward to a LABEL."""
    assert len(parse_rules(SHIPPED)) >= 5


def test_examples_parse_when_uncommented() -> None:
    """Each commented example becomes a valid rule when a technician removes its `#`."""
    active = uncomment_examples(SHIPPED)
    assert len(parse_rules(active)) == len(parse_rules(SHIPPED)) + 7


def test_shipped_rules_name_nothing_until_edited() -> None:
    """Out of the box no adapter is guessed to be a reader: a wrong name is worse than none."""
    device = apply_rules(parse_rules(SHIPPED), serial_port({**CH340, "ID_PATH": SOCKET_1}))
    assert device.symlinks == []
    assert device.group is None


def test_serial_number_rule_names_the_reader() -> None:
    """A CP210x with the configured serial number becomes /dev/kiosk-idcard, kiosk group only."""
    rules = parse_rules(uncomment_examples(SHIPPED))
    device = apply_rules(rules, serial_port({**CP210X, "ID_SERIAL_SHORT": "0001A2B3"}))
    assert device.symlinks == ["kiosk-idcard"]
    assert (device.group, device.mode) == ("kiosk", "0660")
    assert device.env["ID_MM_DEVICE_IGNORE"] == "1"


def test_other_serial_number_is_not_named() -> None:
    """The same chip with another serial number gets no kiosk name."""
    rules = parse_rules(uncomment_examples(SHIPPED))
    device = apply_rules(rules, serial_port({**CP210X, "ID_SERIAL_SHORT": "FFFF0000"}))
    assert device.symlinks == []


def test_ch340s_are_told_apart_by_socket() -> None:
    """Two serial-less CH340 adapters get their names from the USB socket they sit in."""
    rules = parse_rules(uncomment_examples(SHIPPED))
    first = apply_rules(rules, serial_port({**CH340, "ID_PATH": SOCKET_1}))
    second = apply_rules(rules, serial_port({**CH340, "ID_PATH": SOCKET_2}, kernel="ttyUSB1"))
    assert (first.symlinks, second.symlinks) == (["kiosk-idcard"], ["kiosk-bp"])


def test_acm_scanner_by_socket() -> None:
    """A QR scanner in USB-serial (CDC-ACM) mode is named by its socket."""
    rules = parse_rules(uncomment_examples(SHIPPED))
    env = {"ID_BUS": "usb", "ID_VENDOR_ID": "0c2e", "ID_PATH": "pci-0000:00:14.0-usb-0:4:1.0"}
    device = apply_rules(rules, serial_port(env, kernel="ttyACM0"))
    assert device.symlinks == ["kiosk-qrscan"]


def test_receipt_printer_by_serial_number() -> None:
    """The receipt printer's FTDI with its serial number becomes /dev/kiosk-printer."""
    rules = parse_rules(uncomment_examples(SHIPPED))
    env = {"ID_BUS": "usb", "ID_VENDOR_ID": "0403", "ID_MODEL_ID": "6001"}
    device = apply_rules(rules, serial_port({**env, "ID_SERIAL_SHORT": "PRN00042"}, "ttyUSB2"))
    assert device.symlinks == ["kiosk-printer"]
    assert (device.group, device.mode) == ("kiosk", "0660")


def test_non_usb_and_removal_untouched() -> None:
    """Built-in UARTs and remove events are left alone."""
    rules = parse_rules(uncomment_examples(SHIPPED))
    builtin = apply_rules(rules, Device(subsystem="tty", kernel="ttyS0", env={"ID_BUS": "pci"}))
    removed = apply_rules(
        rules, serial_port({**CP210X, "ID_SERIAL_SHORT": "0001A2B3"}, "ttyUSB0", "remove")
    )
    assert builtin.symlinks == removed.symlinks == []


def test_camera_capture_node_only() -> None:
    """A UVC capture node becomes /dev/kiosk-camera (group video); the metadata node does not."""
    rules = parse_rules(SHIPPED)
    capture = apply_rules(
        rules, Device("video4linux", "video0", {"ID_V4L_CAPABILITIES": ":capture:"})
    )
    metadata = apply_rules(rules, Device("video4linux", "video1", {"ID_V4L_CAPABILITIES": ":"}))
    assert (capture.symlinks, capture.group, capture.mode) == (["kiosk-camera"], "video", "0660")
    assert metadata.symlinks == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('SUBSYSTEM=="tty", SYMLINK+="x', "unterminated quote"),
        ('SUBSYSTEM="tty"', "cannot be assigned"),
        ('GROUP=="kiosk"', "cannot be matched"),
        ('ENV=="x"', "needs {attribute}"),
        ('FOO=="x"', "unknown key"),
        ('MODE="660"', "octal"),
        ('GOTO="nowhere"', "no later LABEL"),
        ('SUBSYSTEM=="tty" SYMLINK+="x"', "cannot parse"),
    ],
)
def test_parser_rejects_what_udev_rejects(text: str, problem: str) -> None:
    """The checker is strict: each malformed rule fails with a message naming the problem."""
    with pytest.raises(RuleSyntaxError, match=problem):
        parse_rules(text)


def test_udevadm_verify(tmp_path: Path) -> None:
    """Where systemd ships `udevadm verify` (255+), it accepts the file and its examples."""
    udevadm = shutil.which("udevadm")
    if udevadm is None:
        pytest.skip("udevadm is not installed")
    probe = subprocess.run([udevadm, "verify", "--help"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("this udevadm has no verify command (systemd < 255)")
    examples = tmp_path / "99-civic-kiosk.rules"
    examples.write_text(uncomment_examples(SHIPPED), encoding="utf-8")
    for path in (RULES_FILE, examples):
        result = subprocess.run(
            [udevadm, "verify", "--resolve-names=never", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
