"""Technician command line: replay captures, probe devices, run simulators, decode QR images.

Every line printed is one JSON object; clear PII is never printed, and QR payloads only by
`qr --payload` (a technician's own test images).
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from drivers.errors import DriverError
from drivers.simulation import SIMULATOR_KINDS, PtySimulatorHost, make_simulator

# capture kind -> (tool module, options); each tool module provides
#   decode_capture(data: bytes, **options) -> Iterator[dict]
#   probe(url: str, timeout_s: float, **options) -> Iterator[dict]
DECODE_KINDS: Mapping[str, tuple[str, Mapping[str, str]]] = {
    "idcard": ("drivers.idcard.tool", {}),
    "bp-suntech": ("drivers.bp.tool", {"protocol": "suntech"}),
    "bp-omron9030": ("drivers.bp.tool", {"protocol": "omron9030"}),
    "qrscan": ("drivers.qrscan.tool", {}),
    "printer": ("drivers.printer.tool", {}),
}
PROBE_KINDS: Mapping[str, str] = {
    "idcard": "drivers.idcard.tool",
    "bp": "drivers.bp.tool",
    "qrscan": "drivers.qrscan.tool",
    "printer": "drivers.printer.tool",
}
PRINTER_TOOL = "drivers.printer.tool"
CAMERA_TOOL = "drivers.camera.tool"

Record = dict[str, Any]


_XXD_LINE = re.compile(r"^[0-9A-Fa-f]{7,8}: ")  # xxd: offset, 8 groups of 4 hex digits, text
_HEXDUMP_C_LINE = re.compile(r"^[0-9A-Fa-f]{8}  .*\|")  # hexdump -C: offset, bytes, |text|
XXD_HEX_COLUMNS = 40


def _dump_format(lines: list[str]) -> str:
    first = next((line for line in lines if line.strip()), "")
    if _XXD_LINE.match(first):
        return "xxd"
    if _HEXDUMP_C_LINE.match(first):
        return "hexdump"
    return "plain"


def _hex_part(line: str, dump_format: str) -> str:
    if dump_format == "xxd" and _XXD_LINE.match(line):
        start = line.index(": ") + 2
        return line[start : start + XXD_HEX_COLUMNS]
    if dump_format == "hexdump":
        # offset, the bytes, then |text|; the closing line holds only the total length
        return line[8:].split("|", 1)[0] if len(line) > 8 else ""
    return line.split("#", 1)[0]


def parse_hex_capture(text: str) -> bytes:
    """Hex dump text to bytes: plain hex (spaces, newlines, `0x`, `:` `,` `;` `-` separators,
    `#` comments), `xxd` output, or `hexdump -C` output (offsets and text columns dropped)."""
    lines = text.splitlines()
    dump_format = _dump_format(lines)
    cleaned = " ".join(_hex_part(line, dump_format) for line in lines)
    cleaned = cleaned.replace("0x", " ").replace("0X", " ")
    for separator in ":,;-":
        cleaned = cleaned.replace(separator, " ")
    digits = "".join(cleaned.split())
    if len(digits) % 2:
        raise ValueError("hex capture has an odd number of digits")
    return bytes.fromhex(digits)


def _emit(records: Iterable[Record]) -> None:
    for record in records:
        print(json.dumps(record, ensure_ascii=False), flush=True)


def _tool(module_name: str) -> Any:
    return importlib.import_module(module_name)


def _cmd_decode(args: argparse.Namespace) -> int:
    module_name, options = DECODE_KINDS[args.kind]
    raw = Path(args.file).read_bytes()
    data = parse_hex_capture(raw.decode("ascii", errors="replace")) if args.hex else raw
    decode: Callable[..., Iterator[Record]] = _tool(module_name).decode_capture
    _emit(decode(data, **options, **_qr_options(args)))
    return 0


def _cmd_probe(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {"protocol": args.protocol} if args.kind == "bp" else {}
    options.update(_qr_options(args))
    probe: Callable[..., Iterator[Record]] = _tool(PROBE_KINDS[args.kind]).probe
    _emit(probe(args.url, args.timeout, **options))
    return 0


def _qr_options(args: argparse.Namespace) -> dict[str, Any]:
    if args.kind != "qrscan":
        return {}
    options: dict[str, Any] = {}
    if args.suffix is not None:
        options["suffix"] = args.suffix
    if getattr(args, "max_payload", None) is not None:
        options["max_payload"] = args.max_payload
    return options


def _cmd_qr(args: argparse.Namespace) -> int:
    if args.redact:
        print(
            json.dumps({"warning": "--redact is the default now and will go away"}), file=sys.stderr
        )
    decode_images: Callable[..., Iterator[Record]] = _tool(CAMERA_TOOL).decode_images
    _emit(decode_images([Path(p) for p in args.images], backend=args.backend, payload=args.payload))
    return 0


def _cmd_print_test(args: argparse.Namespace) -> int:
    print_test: Callable[..., Iterator[Record]] = _tool(PRINTER_TOOL).print_test
    _emit(print_test(args.url, args.timeout))
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    options = {"out_dir": args.out} if args.out else {}
    if options and args.kind != "printer":
        raise ValueError("--out applies to the printer simulator only")
    host = PtySimulatorHost(
        make_simulator(args.kind, args.scenario, **options),
        link_path=Path(args.link) if args.link else None,
    )
    host.start()
    print(json.dumps({"kind": args.kind, "scenario": args.scenario, "port": host.port_path}))
    print(host.port_path, file=sys.stderr, flush=True)
    sys.stdout.flush()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        for line in sys.stdin:
            command = line.strip()
            if not command:
                continue
            try:
                if command == "unplug":
                    host.unplug()
                    reply = "unplugged"
                elif command == "replug":
                    host.replug()
                    reply = "replugged"
                else:
                    reply = host.control(command)
            except ValueError as exc:
                reply = f"error: {exc}"
            print(json.dumps({"control": command, "reply": reply}, ensure_ascii=False), flush=True)
            if done.is_set():
                break
        else:
            # stdin closed (e.g. started from a script): keep serving until signalled
            done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        host.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of `python -m drivers`."""
    parser = argparse.ArgumentParser(prog="python -m drivers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    decode = sub.add_parser("decode", help="decode a raw serial capture, one JSON object per line")
    decode.add_argument("kind", choices=sorted(DECODE_KINDS))
    decode.add_argument("file")
    decode.add_argument("--hex", action="store_true", help="the file is a hex dump, not raw bytes")
    decode.add_argument("--suffix", help="qrscan: line suffix cr, lf or crlf (default: guessed)")
    decode.add_argument("--max-payload", type=int, help="qrscan: longest payload accepted")
    decode.set_defaults(run=_cmd_decode)

    probe = sub.add_parser("probe", help="talk to a real or simulated device")
    probe.add_argument("kind", choices=sorted(PROBE_KINDS))
    probe.add_argument(
        "url", help="pyserial URL, e.g. /dev/ttyUSB0 or sim://idcard?scenario=resident"
    )
    probe.add_argument("--protocol", default="suntech", help="BP protocol (suntech, omron9030)")
    probe.add_argument("--timeout", type=float, default=10.0, help="seconds to wait (default 10)")
    probe.add_argument("--suffix", help="qrscan: line suffix cr, lf or crlf (default cr)")
    probe.set_defaults(run=_cmd_probe)

    simulate = sub.add_parser("simulate", help="run a device simulator on a pty, print its path")
    simulate.add_argument("kind", choices=sorted(SIMULATOR_KINDS))
    simulate.add_argument("--scenario", default="default")
    simulate.add_argument("--link", help="stable symlink path for the pty (default: a temp path)")
    simulate.add_argument("--out", help="printer: write each cut page as a PNG into this folder")
    simulate.set_defaults(run=_cmd_simulate)

    print_test = sub.add_parser("print-test", help="print the receipt printer's test page")
    print_test.add_argument("url", help="pyserial URL, e.g. /dev/ttyUSB0 or sim://printer")
    print_test.add_argument("--timeout", type=float, default=2.0, help="status timeout seconds")
    print_test.set_defaults(run=_cmd_print_test)

    qr = sub.add_parser("qr", help="decode QR codes in image files")
    qr.add_argument("images", nargs="+")
    qr.add_argument("--backend", default=None, help="decoder backend (default: the best measured)")
    shown = qr.add_mutually_exclusive_group()
    shown.add_argument(
        "--payload",
        action="store_true",
        help="also print each code's decoded text (only for your own test images)",
    )
    # Kind and length only is the default now; the old flag stays accepted for scripts.
    shown.add_argument("--redact", action="store_true", help=argparse.SUPPRESS)
    qr.set_defaults(run=_cmd_qr)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit 2 on usage errors, 1 on device or input errors."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except (DriverError, ValueError, OSError) as exc:
        print(json.dumps({"error": str(exc)}, ensure_ascii=False), file=sys.stderr)
        return 1
    return result
