"""A strict parser and a small evaluator for the udev rule subset deploy/udev uses.

Systems with systemd < 255 have no `udevadm verify`; this checks the syntax udev(7) defines
(KEY[{attr}] OP "value", comma-separated; GOTO targets a later LABEL) and evaluates rules
against a device's properties, so tests can pin which names and permissions a device gets.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

MATCH_OPS = ("==", "!=")
ASSIGN_OPS = ("=", "+=", "-=", ":=")
# udev(7): keys that only match, keys that only assign, and keys that do both.
MATCH_ONLY = {
    "ACTION", "DEVPATH", "KERNEL", "KERNELS", "SUBSYSTEM", "SUBSYSTEMS", "DRIVER", "DRIVERS",
    "ATTRS", "TAGS", "TEST", "PROGRAM", "RESULT", "CONST", "SYSCTL",
}  # fmt: skip
ASSIGN_ONLY = {"OWNER", "GROUP", "MODE", "LABEL", "GOTO", "IMPORT", "RUN", "OPTIONS", "SECLABEL"}
BOTH = {"NAME", "SYMLINK", "ENV", "TAG", "ATTR"}
NEEDS_ATTR = {"ENV", "ATTR", "ATTRS", "SYSCTL", "TEST", "CONST", "SECLABEL"}
_ENTRY = re.compile(
    r'\s*(?P<key>[A-Z]+)(?:\{(?P<attr>[^}]*)\})?\s*(?P<op>==|!=|\+=|-=|:=|=)\s*"(?P<value>[^"]*)"\s*'
)


class RuleSyntaxError(ValueError):
    """A line that udev would reject or misread; the message names the line number."""


@dataclass(frozen=True)
class Entry:
    """One `KEY{attr} OP "value"` of a rule."""

    key: str
    attr: str | None
    op: str
    value: str


@dataclass(frozen=True)
class Rule:
    """One rule line: its entries in order, and where it came from."""

    line: int
    entries: tuple[Entry, ...]


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Non-comment lines with backslash continuations joined, each with its first line number."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
            stripped = raw.strip()
            if not stripped or stripped.startswith("#"):
                continue
        if raw.endswith("\\"):
            pending.append(raw[:-1])
            continue
        pending.append(raw)
        lines.append((start, "".join(pending).strip()))
        pending = []
    if pending:
        raise RuleSyntaxError(f"line {start}: continuation at end of file")
    return lines


def parse_entry(text: str, line: int) -> Entry:
    """One entry, checked against udev(7)'s keys and operators."""
    match = _ENTRY.fullmatch(text)
    if match is None:
        raise RuleSyntaxError(f"line {line}: cannot parse {text.strip()!r}")
    key, attr, op, value = match["key"], match["attr"], match["op"], match["value"]
    if key not in MATCH_ONLY | ASSIGN_ONLY | BOTH:
        raise RuleSyntaxError(f"line {line}: unknown key {key}")
    if key in NEEDS_ATTR and not attr:
        raise RuleSyntaxError(f"line {line}: {key} needs {{attribute}}")
    if key not in NEEDS_ATTR and attr is not None:
        raise RuleSyntaxError(f"line {line}: {key} takes no {{attribute}}")
    if op in MATCH_OPS and key in ASSIGN_ONLY:
        raise RuleSyntaxError(f"line {line}: {key} cannot be matched")
    if op in ASSIGN_OPS and key in MATCH_ONLY:
        raise RuleSyntaxError(f"line {line}: {key} cannot be assigned")
    if key == "MODE" and not re.fullmatch(r"0[0-7]{3}", value):
        raise RuleSyntaxError(f"line {line}: MODE must be octal like 0660")
    return Entry(key, attr, op, value)


def split_entries(text: str, line: int) -> list[str]:
    """Split a rule on the commas between entries (never inside quoted values)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quoted:
        raise RuleSyntaxError(f"line {line}: unterminated quote")
    parts.append("".join(current))
    return parts


def parse_rules(text: str) -> list[Rule]:
    """Every rule of a rules file; RuleSyntaxError on the first problem."""
    rules = [
        Rule(line, tuple(parse_entry(part, line) for part in split_entries(body, line)))
        for line, body in logical_lines(text)
    ]
    labels: dict[str, int] = {}
    for rule in rules:
        for entry in rule.entries:
            if entry.key == "LABEL":
                if entry.value in labels:
                    raise RuleSyntaxError(f"line {rule.line}: LABEL {entry.value} repeated")
                labels[entry.value] = rule.line
    for rule in rules:
        for entry in rule.entries:
            if entry.key == "GOTO" and labels.get(entry.value, 0) <= rule.line:
                raise RuleSyntaxError(f"line {rule.line}: GOTO {entry.value} has no later LABEL")
    return rules


@dataclass
class Device:
    """What a device has and gets: properties in, names and permissions out."""

    subsystem: str
    kernel: str
    env: dict[str, str]
    action: str = "add"
    symlinks: list[str] = field(default_factory=list)
    group: str | None = None
    mode: str | None = None


def _substitute(value: str, device: Device) -> str:
    return re.sub(r"\$env\{([^}]+)\}", lambda m: device.env.get(m[1], ""), value)


def _matches(entry: Entry, device: Device) -> bool:
    actual = {
        "ACTION": device.action,
        "SUBSYSTEM": device.subsystem,
        "KERNEL": device.kernel,
    }.get(entry.key)
    if entry.key == "ENV":
        actual = device.env.get(entry.attr or "", "")
    if actual is None:
        raise NotImplementedError(f"the evaluator does not match {entry.key}")
    hit = any(fnmatch.fnmatchcase(actual, pattern) for pattern in entry.value.split("|"))
    return hit if entry.op == "==" else not hit


def _assign(entry: Entry, device: Device) -> str | None:
    value = _substitute(entry.value, device)
    if entry.key == "ENV":
        device.env[entry.attr or ""] = value
    elif entry.key == "SYMLINK":
        device.symlinks.extend(value.split())
    elif entry.key == "GROUP":
        device.group = value
    elif entry.key == "MODE":
        device.mode = value
    elif entry.key == "GOTO":
        return value
    elif entry.key != "LABEL":
        raise NotImplementedError(f"the evaluator does not assign {entry.key}")
    return None


def apply_rules(rules: list[Rule], device: Device) -> Device:
    """Run the rules over a device as udev would (matches first, then assignments; GOTO)."""
    index = 0
    while index < len(rules):
        rule = rules[index]
        index += 1
        if not all(_matches(e, device) for e in rule.entries if e.op in MATCH_OPS):
            continue
        goto = None
        for entry in rule.entries:
            if entry.op in ASSIGN_OPS:
                goto = _assign(entry, device) or goto
        if goto is not None:  # udev jumps once the whole line has been applied
            target = Entry("LABEL", None, "=", goto)
            index = next(i for i, r in enumerate(rules) if target in r.entries)
    return device


def uncomment_examples(text: str) -> str:
    """The rules file with its commented example rules (lines starting `#ENV`/`#KERNEL`) active."""
    return re.sub(r"^#(?=(ENV|KERNEL)\b)", "", text, flags=re.MULTILINE)
