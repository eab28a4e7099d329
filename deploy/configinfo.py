"""What deploy/install.sh needs to know from a kiosk config, as `kind<TAB>fields…` lines.

The config is resolved as if installed at --installed-as (relative paths follow it) and with no
environment overrides, since the services read it that way. Output lines:

    path      KEY  PATH                          data_dir, log_dir, catalogue
    file      CONFIG_KEY  MODE  OWNER:GROUP  PATH  a file the config names, with its permissions
    problem   CONFIG_KEY  MESSAGE                the install must not go on
    warning   CONFIG_KEY  MESSAGE                worth a technician's attention

Exit status 1 if the config does not load (run `python -m config check` for the messages).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from config.loader import ConfigError, config_from_data, parse_yaml
from config.model import KioskConfig

INSTALLED_DATA_DIR = Path("/var/lib/civic-kiosk")  # the units sandbox exactly this path
INSTALLED_LOG_DIR = Path("/var/log/civic-kiosk")
STABLE_PORT_PREFIX = "/dev/kiosk-"
UNSTABLE_PORT_PREFIXES = ("/dev/ttyUSB", "/dev/ttyACM")
MODE_PUBLIC = "0644"
MODE_PRIVATE = "0640"


def _files(config: KioskConfig) -> Iterator[tuple[str, str, str, Path]]:
    """(config key, mode, owner:group, path) of every file the config names."""
    tls = config.mqtt.tls
    agent_only = "root:kiosk-agent"  # the broker credentials: only the agent talks to it
    kiosk_only = "root:kiosk"
    both = "root:civic-kiosk"
    named = (
        ("mqtt.tls.ca_file", MODE_PUBLIC, both, tls.ca_file),
        ("mqtt.tls.cert_file", MODE_PUBLIC, both, tls.cert_file),
        ("mqtt.tls.key_file", MODE_PRIVATE, agent_only, tls.key_file),
        ("mqtt.password_file", MODE_PRIVATE, agent_only, config.mqtt.password_file),
        # the kiosk pseudonymises ID numbers before they reach the outbox; the agent never needs it
        ("privacy.pseudonym_key_file", MODE_PRIVATE, kiosk_only, config.privacy.pseudonym_key_file),
        ("commands.city_public_key_file", MODE_PUBLIC, both, config.commands.city_public_key_file),
    )
    for key, mode, owner, path in named:
        if path is not None:
            yield key, mode, owner, path


def _checks(config: KioskConfig) -> Iterator[tuple[str, str, str]]:
    """(problem|warning, config key, message) for what the installed kiosk cannot work with."""
    if config.paths.data_dir != INSTALLED_DATA_DIR:
        yield (
            "problem",
            "paths.data_dir",
            f"must be {INSTALLED_DATA_DIR} on an installed kiosk "
            "(the services are sandboxed to it)",
        )
    if config.paths.log_dir not in (None, INSTALLED_LOG_DIR):
        yield ("problem", "paths.log_dir", f"must be {INSTALLED_LOG_DIR} or null")
    if not config.paths.catalogue.is_relative_to(config.paths.data_dir):
        yield (
            "warning",
            "paths.catalogue",
            f"outside {config.paths.data_dir}: the sandboxed agent cannot apply catalogue "
            "updates from the city there",
        )
    for kind, device in sorted(config.devices.items()):
        port = device.port
        if port.startswith("sim://"):
            yield ("warning", f"devices.{kind}.port", "simulated device on a real kiosk")
        elif port.startswith(UNSTABLE_PORT_PREFIXES):
            yield (
                "warning",
                f"devices.{kind}.port",
                f"{port} can change between boots; use {STABLE_PORT_PREFIX}{kind} "
                "(deploy/udev rules)",
            )
    if config.mqtt.broker_url.startswith("mqtt://"):
        yield ("warning", "mqtt.broker_url", "plaintext MQTT: production kiosks use mqtts://")


def describe(config: KioskConfig) -> list[str]:
    """The output lines for one loaded config; ValueError if a path has a tab or newline."""
    paths = [config.paths.data_dir, config.paths.catalogue, config.paths.log_dir]
    paths += [path for *_, path in _files(config)]
    if any(ch in str(path) for path in paths for ch in "\t\n"):
        raise ValueError("a path in the config contains a tab or newline")
    lines = [
        f"path\tdata_dir\t{config.paths.data_dir}",
        f"path\tcatalogue\t{config.paths.catalogue}",
        f"path\tlog_dir\t{config.paths.log_dir or ''}",
    ]
    lines += [f"file\t{k}\t{mode}\t{owner}\t{path}" for k, mode, owner, path in _files(config)]
    lines += [f"{level}\t{key}\t{message}" for level, key, message in _checks(config)]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print the lines for one config file; 1 if it does not load."""
    parser = argparse.ArgumentParser(prog="deploy/configinfo.py")
    parser.add_argument("config")
    parser.add_argument("--installed-as", default="/etc/civic-kiosk/kiosk.yaml")
    args = parser.parse_args(argv)
    try:
        raw = parse_yaml(Path(args.config).read_text(encoding="utf-8"), args.config)
        config = config_from_data(
            raw, source=args.config, base_dir=Path(args.installed_as).parent, env={}
        )
        lines = describe(config)
    except (OSError, UnicodeDecodeError, ConfigError, ValueError) as exc:
        print(f"{args.config}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
