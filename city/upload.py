"""An uploaded catalogue or UI-texts document: bounded, parsed defensively, validated with the
kiosk's own validators (config/catalogue.py), every problem reported with its path.

A document that passes here is one the kiosk's `set_config` accepts: the same byte limit, the
same bounded YAML/JSON reader, the same catalogue validation, and a `version` the command can
repeat exactly (the agent compares them, edge-agent side of docs/contract "Commands").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from config.catalogue import (
    MAX_DOCUMENT_BYTES,
    VERSION_RE,
    catalogue_from_data,
    is_catalogue_document,
    parse_bounded_document,
)
from config.loader import ConfigError

ConfigKind = Literal["catalogue", "ui_texts"]
KINDS: tuple[ConfigKind, ...] = ("catalogue", "ui_texts")
MAX_PROBLEMS = 200  # what a page shows; the count says how many there were


@dataclass(frozen=True)
class UploadProblem:
    """One problem: where in the document (dotted path, '' for the whole) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message}"


@dataclass(frozen=True)
class ValidDocument:
    """A document the kiosks will accept."""

    kind: ConfigKind
    version: str
    content: str
    sha256: str
    summary: Mapping[str, Any]


@dataclass(frozen=True)
class Invalid:
    """What is wrong with an upload (at most MAX_PROBLEMS of `total`)."""

    problems: tuple[UploadProblem, ...]
    total: int


def parse_upload(kind: str, data: bytes) -> ValidDocument | Invalid:
    """Validate an upload of `kind`; never raises on the bytes."""
    if kind not in KINDS:
        return _invalid([UploadProblem("", f"unknown kind {kind!r}; use catalogue or ui_texts")])
    if len(data) > MAX_DOCUMENT_BYTES:
        return _invalid([UploadProblem("", f"larger than {MAX_DOCUMENT_BYTES} bytes")])
    try:
        raw = parse_bounded_document(data, kind)
    except ConfigError as exc:
        return _invalid([UploadProblem(p.path, p.message) for p in exc.problems])
    except RecursionError:  # deeply nested flow collections
        return _invalid([UploadProblem("", "nested too deeply")])
    content = data.decode("utf-8")
    if kind == "catalogue":
        return _catalogue(raw, content)
    return _ui_texts(raw, content)


def _invalid(problems: list[UploadProblem]) -> Invalid:
    return Invalid(tuple(problems[:MAX_PROBLEMS]), len(problems))


def _digest(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _catalogue(raw: Any, content: str) -> ValidDocument | Invalid:
    try:
        catalogue = catalogue_from_data(raw, "catalogue")
    except ConfigError as exc:
        return _invalid([UploadProblem(p.path, p.message) for p in exc.problems])
    except RecursionError:
        return _invalid([UploadProblem("", "nested too deeply")])
    summary = {
        "city": catalogue.city,
        "categories": len(catalogue.categories),
        "items": len(catalogue.items),
    }
    return ValidDocument("catalogue", catalogue.version, content, _digest(content), summary)


def _ui_texts(raw: Any, content: str) -> ValidDocument | Invalid:
    # The kiosk checks UI texts for a mapping with a version (edge agent's default validator);
    # the city also holds the version to the catalogue's form, so it is safe in a topic or URL.
    if is_catalogue_document(raw):
        return _invalid([UploadProblem("", "this is a catalogue; upload it as a catalogue")])
    if not isinstance(raw, Mapping):
        return _invalid([UploadProblem("", "expected a mapping with a version")])
    version = raw.get("version")
    if version is None:
        return _invalid([UploadProblem("version", "required")])
    if isinstance(version, bool) or not isinstance(version, str | int | float):
        return _invalid([UploadProblem("version", "expected a string such as '2026.12.1'")])
    text = str(version)
    if not VERSION_RE.fullmatch(text):
        return _invalid([UploadProblem("version", "use 1-64 letters, digits, '.', '_' or '-'")])
    summary = {"sections": len(raw) - 1}
    return ValidDocument("ui_texts", text, content, _digest(content), summary)
