"""A small typed-dataclass builder: raw YAML data → frozen objects, every problem with its path.

Shared by the kiosk config (config/) and the city platform (city/config.py).

Why not pydantic: the config must report *every* mistake in one run with a dotted path and a
suggestion for typos, reject unknown keys, and stay dependency-light on the kiosk; 150 lines do it.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin
from urllib.parse import urlsplit

T = TypeVar("T")
Check = Callable[[Any], str | tuple[str, str] | None]
"""A field check returns None when the value is fine, else a message or (sub-path, message)."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """One configuration mistake at a dotted path (`devices.idcard.port`)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def field(default: Any = dataclasses.MISSING, *, check: Check | None = None, doc: str = "") -> Any:
    """A dataclass field with an optional value check and a one-line description."""
    metadata = {"check": check, "doc": doc}
    if isinstance(default, list | dict):
        frozen = tuple(default) if isinstance(default, list) else dict(default)
        return dataclasses.field(default_factory=lambda: frozen, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _join(path: str, key: str) -> str:
    if not path or key.startswith("["):
        return f"{path}{key}"
    return f"{path}.{key}"


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


@functools.cache
def _shape(cls: type[Any]) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    """A dataclass's resolved field types and fields (get_type_hints is slow; a catalogue has
    thousands of values, each built per load)."""
    return typing.get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls)}


def build(cls: type[T], data: Any, path: str, problems: list[Problem]) -> T | None:
    """Build dataclass `cls` from `data`, appending every problem; None if any field failed."""
    if not isinstance(data, Mapping):
        problems.append(Problem(path, f"expected a mapping, got {type(data).__name__}"))
        return None
    hints, fields = _shape(typing.cast(Any, cls))  # a class is hashable; mypy sees type[T]
    for key in data:
        if key not in fields:
            suggestion = difflib.get_close_matches(str(key), fields, n=1)
            hint = f"; did you mean {suggestion[0]!r}?" if suggestion else ""
            known = ", ".join(fields)
            problems.append(Problem(_join(path, str(key)), f"unknown key{hint} (known: {known})"))
    values: dict[str, Any] = {}
    ok = True
    for name, f in fields.items():
        sub = _join(path, name)
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                problems.append(Problem(sub, "required"))
                ok = False
            continue
        before = len(problems)
        value = convert(hints[name], data[name], sub, problems)
        if len(problems) == before:
            check: Check | None = f.metadata.get("check")
            verdict = check(value) if check is not None else None
            if isinstance(verdict, tuple):
                problems.append(Problem(_join(sub, verdict[0]), verdict[1]))
            elif verdict:
                problems.append(Problem(sub, verdict))
        if len(problems) > before:
            ok = False
            continue
        values[name] = value
    return cls(**values) if ok else None


def convert(tp: Any, value: Any, path: str, problems: list[Problem]) -> Any:  # noqa: PLR0911, PLR0912 — one branch per supported type
    """Convert one value to type `tp`, appending a problem when it does not fit."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        non_null = [o for o in options if o is not type(None)]
        if len(non_null) == 1:
            return convert(non_null[0], value, path, problems)
        for option in non_null:
            trial: list[Problem] = []
            result = convert(option, value, path, trial)
            if not trial:
                return result
        problems.append(Problem(path, f"expected {_type_name(tp)}, got {value!r}"))
        return None
    if origin is Literal:
        if value in get_args(tp):
            return value
        problems.append(Problem(path, f"must be one of {_type_name(tp)}, got {value!r}"))
        return None
    if dataclasses.is_dataclass(tp):
        return build(typing.cast(type[Any], tp), value, path, problems)
    if origin is tuple:
        (item_type, _ellipsis) = get_args(tp)
        if not isinstance(value, list):
            problems.append(Problem(path, f"expected a list, got {type(value).__name__}"))
            return None
        return tuple(convert(item_type, v, f"{path}[{i}]", problems) for i, v in enumerate(value))
    if origin in (dict, Mapping):
        key_type, item_type = get_args(tp)
        if not isinstance(value, Mapping):
            problems.append(Problem(path, f"expected a mapping, got {type(value).__name__}"))
            return None
        items = {
            convert(key_type, k, path, problems): convert(
                item_type, v, _join(path, str(k)), problems
            )
            for k, v in value.items()
        }
        return types.MappingProxyType(items)
    if tp is Any:
        return value
    if tp is Path:
        if isinstance(value, str) and value:
            return Path(value)
        problems.append(Problem(path, f"expected a path string, got {value!r}"))
        return None
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float) and isinstance(value, bool):
        problems.append(Problem(path, f"expected {tp.__name__}, got {value!r}"))
        return None
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    problems.append(Problem(path, f"expected {_type_name(tp)}, got {value!r}"))
    return None


def in_range(low: float, high: float) -> Check:
    """Check that a number lies in [low, high]."""

    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"must be between {low:g} and {high:g}"

    return check


def mqtt_url(value: Any) -> str | None:
    """A broker URL check: `mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]` (kiosk and city)."""
    parts = urlsplit(str(value))
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        return "expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"
    try:
        _ = parts.port
    except ValueError:
        return "the port must be a number"
    return None


def non_empty(value: Any) -> str | None:
    """Check that a string has visible content."""
    return None if str(value).strip() else "must not be empty"
