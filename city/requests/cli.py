"""`python -m city requests keygen --out FILE`: a new X25519 request key for the city.

Writes the private key as an unencrypted PKCS#8 PEM (mode 0600; an existing file is never
overwritten) and prints the public half, base64 of the raw 32 bytes, for the kiosks' requests
config with its key id. Point `requests.private_key_file` and `requests.key_id` at them
(docs/requests-city.md "The request key").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from city.config import CityConfig

ParserFactory = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_parser(sub: Any, with_config: ParserFactory) -> None:
    """`requests keygen`."""
    requests = sub.add_parser("requests", help="resident requests (诉求): the city's request key")
    requests_sub = requests.add_subparsers(dest="requests_command", required=True)
    keygen = with_config(requests_sub.add_parser("keygen", help="make an X25519 request key pair"))
    keygen.add_argument("--out", type=Path, required=True, metavar="FILE", help="private key PEM")
    keygen.add_argument(
        "--key-id", default=None, help="the id kiosks name it by (default: requests.key_id)"
    )


def run(config: CityConfig, args: argparse.Namespace) -> int:
    """Write the key; print what the kiosks need. Exit 1 when the file exists or cannot be made."""
    import base64

    from city.requests.keys import write_new_key

    key_id = args.key_id or config.requests.key_id
    try:
        public = write_new_key(args.out)
    except FileExistsError:
        print(f"city requests keygen: {args.out} exists; not overwritten", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"city requests keygen: {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"city requests keygen: private key written to {args.out} (mode 0600)", file=sys.stderr)
    print(f"# for the kiosks' config: key id {key_id}, public key (base64, 32 bytes)")
    print(f"key_id: {key_id}")
    print(f"public_key: {base64.b64encode(public).decode('ascii')}")
    print(
        f"# for the city config: requests: {{private_key_file: {args.out.resolve()},"
        f" key_id: {key_id}}}"
    )
    return 0
