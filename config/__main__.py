"""`python -m config check FILE...`: print every problem with its path; exit 1 if any."""

from __future__ import annotations

import argparse
import sys

from config.loader import ConfigError, load_config, missing_files


def main(argv: list[str] | None = None) -> int:
    """Check each file: one `FILE: path: message` line per problem, else warnings and `FILE: ok`."""
    parser = argparse.ArgumentParser(prog="python -m config")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate kiosk config files")
    check.add_argument("files", nargs="+")
    args = parser.parse_args(argv)

    failed = False
    for file in args.files:
        try:
            config = load_config(file)
        except ConfigError as exc:
            failed = True
            for problem in exc.problems:
                print(f"{file}: {problem}")
            continue
        for problem in missing_files(config):
            print(f"{file}: warning: {problem} (needed on the kiosk itself)")
        print(f"{file}: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
