"""`python -m config check FILE...`: print every problem with its path; exit 1 if any.

A file whose top level says `kind: catalogue` (or has `items`/`categories`) is checked as a
service catalogue; any other file as a kiosk config.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from config.activities import activities_from_data, is_activities_document
from config.catalogue import catalogue_from_data, is_catalogue_document
from config.keys import pin_file_problems
from config.loader import ConfigError, load_config, missing_files, parse_yaml


def check_file(file: str) -> bool:
    """Check one file, printing `FILE: path: message` per problem, else `FILE: ok`; True if ok."""
    try:
        raw = parse_yaml(Path(file).read_text(encoding="utf-8"), file)
        if is_activities_document(raw):
            activities = activities_from_data(raw, file)
            count = len(activities.activities)
            print(f"{file}: ok (activities {activities.version}, {count} activities)")
            return True
        if is_catalogue_document(raw):
            catalogue = catalogue_from_data(raw, file)
            print(f"{file}: ok (catalogue {catalogue.version}, {len(catalogue.items)} items)")
            return True
        config = load_config(file)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{file}: cannot read: {exc}")
        return False
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{file}: {problem}")
        return False
    pin_problems = pin_file_problems(config)
    for problem in pin_problems:
        print(f"{file}: {problem}")
    if pin_problems:
        return False
    for problem in missing_files(config):
        print(f"{file}: warning: {problem} (needed on the kiosk itself)")
    print(f"{file}: ok")
    return True


def main(argv: list[str] | None = None) -> int:
    """Check each file (kiosk config or catalogue); exit status 1 if any has problems."""
    parser = argparse.ArgumentParser(prog="python -m config")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate kiosk config and catalogue files")
    check.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    results = [check_file(file) for file in args.files]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
