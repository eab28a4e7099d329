"""The city's request key: `python -m city requests keygen`, loading it, and its config."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from city.cli import main
from city.config import CityConfig, city_config_from_data
from city.requests.keys import RequestKeyError, load_request_key, open_callback
from common.ids import uuid7
from common.sealed_box import seal_phone

REPO = Path(__file__).resolve().parents[2]
DEV_CONFIG = REPO / "city" / "dev.yaml"


def test_keygen_writes_a_private_key_once_and_prints_its_public_half(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """0600 PEM, never overwritten; a number sealed to the printed key opens with the file."""
    out = tmp_path / "request-key.pem"
    argv = [
        "requests",
        "keygen",
        "--out",
        str(out),
        "--key-id",
        "sz2027",
        "--config",
        str(DEV_CONFIG),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "key_id: sz2027" in printed
    public_line = next(line for line in printed.splitlines() if line.startswith("public_key: "))
    public = base64.b64decode(public_line.removeprefix("public_key: "))
    assert len(public) == 32
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    key = load_request_key(out, "sz2027")
    assert key.public_base64 == base64.b64encode(public).decode()
    assert "PRIVATE" not in repr(key)
    assert key.private.hex() not in repr(key)
    request_id = uuid7()
    callback, number = open_callback(
        key, seal_phone("0755-83001234", public, request_id), "sz2027", request_id
    )
    assert (callback.masked, number) == ("075*****1234", "0755-83001234")
    before = out.read_bytes()
    assert main(argv) == 1
    assert "not overwritten" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_a_key_file_that_is_not_an_x25519_key_says_what_is_wrong(tmp_path: Path) -> None:
    """Missing, not PEM, encrypted, another kind of key, unset: each a RequestKeyError."""
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        X25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    cases = {
        None: "no request key configured",
        tmp_path / "missing.pem": "cannot read",
        garbage: "not a PEM private key",
        encrypted: "encrypted",
        REPO / "config" / "dev-keys" / "city-signing-key.DEV-ONLY.pem": "not an X25519 key",
    }
    mismatched = tmp_path / "mismatched.txt"
    mismatched.write_text(
        f"private_key: {base64.b64encode(bytes(range(32))).decode()}\n"
        f"public_key: {base64.b64encode(bytes(32)).decode()}\n"
    )
    short = tmp_path / "short.txt"
    short.write_text("private_key: AAAA\n")
    cases |= {mismatched: "not the private key's", short: "32 bytes"}
    for path, problem in cases.items():
        with pytest.raises(RequestKeyError, match=problem):
            load_request_key(path, "k1")


def test_the_development_key_in_its_text_form_is_the_one_the_dev_kiosks_seal_to() -> None:
    """config/dev-keys/city-request-key.DEV-ONLY.txt (`private_key:` / `public_key:` lines)
    opens what is sealed to the public key in the kiosks' config/dev.yaml."""
    import yaml

    key = load_request_key(
        REPO / "config" / "dev-keys" / "city-request-key.DEV-ONLY.txt", "dev-req"
    )
    city = yaml.safe_load((REPO / "city" / "dev.yaml").read_text())["requests"]
    assert city["key_id"] == "dev-req"
    assert key.public_base64 == "OwWEUSgWXSMUCki0RPmD9Qljj7gktCzxYbD3Glvv71c="
    request_id = uuid7()
    sealed = seal_phone("13912345678", base64.b64decode(key.public_base64), request_id)
    assert open_callback(key, sealed, "dev-req", request_id)[1] == "13912345678"


def test_the_requests_config_section(tmp_path: Path) -> None:
    """private_key_file resolves against the config's folder; key_id and typos are checked."""

    def config(requests: object) -> CityConfig:
        return city_config_from_data(
            {
                "database": {"url": "postgresql://u@127.0.0.1/db"},
                "broker": {"url": "mqtt://127.0.0.1:1"},
                "requests": requests,
            },
            source="test",
            base_dir=tmp_path,
            env={},
        )

    loaded = config({"private_key_file": "keys/r.pem", "key_id": "sz-2027"})
    assert loaded.requests.private_key_file == tmp_path / "keys" / "r.pem"
    with pytest.raises(ValueError, match=r"requests\.key_id"):
        config({"key_id": "bad id!"})
    with pytest.raises(ValueError, match="private_key_fil"):
        config({"private_key_fil": "x"})
