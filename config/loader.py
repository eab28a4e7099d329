"""Loading a kiosk config file: YAML → environment overrides → typed objects → cross-checks."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from config.keys import secret_problems
from config.model import KioskConfig
from config.schema import Problem, build

ENV_OVERRIDES: Mapping[str, tuple[str, str]] = {
    "KIOSK_BROKER_URL": ("mqtt", "broker_url"),
    "KIOSK_DATA_DIR": ("paths", "data_dir"),
}


class ConfigError(ValueError):
    """The file has problems; `problems` lists every one of them with its path."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")


# libyaml parses the 116 kB catalogue in 18 ms where pure-Python PyYAML takes 150 ms, the largest
# part of the kiosk's cold start (docs/design.md §3). Its composer recurses in C without a limit
# (a few hundred thousand `- ` segfault it), so the nesting is measured first on its event
# stream, which libyaml produces without recursion.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_NESTING = 100  # levels of mappings and sequences; no config or catalogue comes close


class _StrictLoader(_BaseLoader):  # type: ignore[misc]
    """SafeLoader that refuses duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    loader.flatten_mapping(node)
    return dict(loader.construct_pairs(node))


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML strictly; a syntax error becomes a ConfigError naming line and column."""
    try:
        if _nesting_exceeds(text, MAX_NESTING):
            problem = Problem("", f"YAML nested too deeply (more than {MAX_NESTING} levels)")
            raise ConfigError(source, [problem])
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 — _StrictLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ConfigError(source, [Problem("", f"YAML error at {where}: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, [Problem("", f"YAML error: {exc}")]) from None
    except RecursionError:
        # PyYAML composes nodes recursively: a few hundred levels of [[[... exhaust the stack.
        raise ConfigError(source, [Problem("", "YAML nested too deeply")]) from None


def _nesting_exceeds(text: str, limit: int) -> bool:
    depth = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            depth += 1
            if depth > limit:
                return True
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            depth -= 1
    return False


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> KioskConfig:
    """Read, validate and resolve one kiosk config file; ConfigError lists every problem."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [Problem("", f"cannot read: {exc}")]) from None
    raw = parse_yaml(text, source)
    return config_from_data(raw, source=source, base_dir=path.parent, env=env)


def config_from_data(
    raw: Any, *, source: str, base_dir: Path, env: Mapping[str, str] | None = None
) -> KioskConfig:
    """Validate already-parsed data (a YAML document's root) into a KioskConfig."""
    env = os.environ if env is None else env
    if isinstance(raw, dict):
        raw = _with_env_overrides(raw, env)
    problems: list[Problem] = []
    config = build(KioskConfig, raw, "", problems)
    if config is not None:
        config = _resolve_paths(config, base_dir)
        problems.extend(_cross_checks(config))
    if problems or config is None:
        raise ConfigError(source, problems)
    return config


def _with_env_overrides(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    merged = dict(raw)
    for variable, (section, key) in ENV_OVERRIDES.items():
        value = env.get(variable)
        if value:
            current = merged.get(section)
            merged[section] = {**(current if isinstance(current, dict) else {}), key: value}
    return merged


def _resolve(base_dir: Path, path: Path) -> Path:
    return path if path.is_absolute() else (base_dir / path).resolve()


def _resolve_optional(base_dir: Path, path: Path | None) -> Path | None:
    return None if path is None else _resolve(base_dir, path)


def _resolve_paths(config: KioskConfig, base_dir: Path) -> KioskConfig:
    tls = config.mqtt.tls
    return dataclasses.replace(
        config,
        paths=dataclasses.replace(
            config.paths,
            data_dir=_resolve(base_dir, config.paths.data_dir),
            catalogue=_resolve(base_dir, config.paths.catalogue),
            log_dir=_resolve_optional(base_dir, config.paths.log_dir),
            private_dir=_resolve_optional(base_dir, config.paths.private_dir),
        ),
        mqtt=dataclasses.replace(
            config.mqtt,
            tls=dataclasses.replace(
                tls,
                ca_file=_resolve_optional(base_dir, tls.ca_file),
                cert_file=_resolve_optional(base_dir, tls.cert_file),
                key_file=_resolve_optional(base_dir, tls.key_file),
            ),
            password_file=_resolve_optional(base_dir, config.mqtt.password_file),
        ),
        privacy=dataclasses.replace(
            config.privacy,
            pseudonym_key_file=_resolve_optional(base_dir, config.privacy.pseudonym_key_file),
        ),
        commands=dataclasses.replace(
            config.commands,
            city_public_key_file=_resolve_optional(base_dir, config.commands.city_public_key_file),
        ),
        technician=dataclasses.replace(
            config.technician,
            pin_hash_file=_resolve_optional(base_dir, config.technician.pin_hash_file),
        ),
    )


def is_loopback_host(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1): traffic never leaves."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _plaintext_checks(config: KioskConfig) -> list[Problem]:
    """mqtt:// carries everything in clear: never credentials, and off-box only when declared."""
    mqtt = config.mqtt
    parts = urlsplit(mqtt.broker_url)
    tls = mqtt.tls
    if parts.scheme != "mqtt" or any((tls.ca_file, tls.cert_file, tls.key_file)):
        return []  # mqtts://, or TLS files with mqtt:// (reported on its own)
    problems = [
        Problem(f"mqtt.{name}", "credentials are never sent over plaintext mqtt://; use mqtts://")
        for name, value in (("username", mqtt.username), ("password_file", mqtt.password_file))
        if value is not None
    ]
    if not mqtt.allow_plaintext and not is_loopback_host(parts.hostname or ""):
        problems.append(
            Problem(
                "mqtt.broker_url",
                f"plaintext mqtt:// to {parts.hostname}, which is not loopback; use mqtts:// "
                "(or set mqtt.allow_plaintext: true on a closed network)",
            )
        )
    return problems


def _cross_checks(config: KioskConfig) -> list[Problem]:
    problems: list[Problem] = _plaintext_checks(config)
    tls = config.mqtt.tls
    scheme = urlsplit(config.mqtt.broker_url).scheme
    if scheme == "mqtts" and tls.ca_file is None:
        problems.append(Problem("mqtt.tls.ca_file", "required for mqtts:// (server verification)"))
    if scheme == "mqtt" and any((tls.ca_file, tls.cert_file, tls.key_file)):
        problems.append(
            Problem("mqtt.broker_url", "TLS files are set but the URL is mqtt://; use mqtts://")
        )
    if (tls.cert_file is None) != (tls.key_file is None):
        problems.append(Problem("mqtt.tls", "cert_file and key_file go together"))
    privacy = config.privacy
    if privacy.pseudonym_key and privacy.pseudonym_key_file:
        problems.append(Problem("privacy", "set pseudonym_key or pseudonym_key_file, not both"))
    commands = config.commands
    if commands.city_public_key and commands.city_public_key_file:
        problems.append(Problem("commands", "set city_public_key or city_public_key_file"))
    if config.technician.pin_hash and config.technician.pin_hash_file:
        problems.append(Problem("technician", "set pin_hash or pin_hash_file, not both"))
    problems.extend(secret_problems(config))
    return problems


def missing_files(config: KioskConfig) -> list[Problem]:
    """Files the config names that do not exist on this machine (fatal only where they are used)."""
    tls = config.mqtt.tls
    named = (
        ("mqtt.tls.ca_file", tls.ca_file),
        ("mqtt.tls.cert_file", tls.cert_file),
        ("mqtt.tls.key_file", tls.key_file),
        ("mqtt.password_file", config.mqtt.password_file),
        ("privacy.pseudonym_key_file", config.privacy.pseudonym_key_file),
        ("commands.city_public_key_file", config.commands.city_public_key_file),
        ("paths.catalogue", config.paths.catalogue),
    )
    return [
        Problem(name, f"file not found: {file}")
        for name, file in named
        if file and not file.is_file()
    ]
