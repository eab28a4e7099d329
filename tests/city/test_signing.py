"""City-signed commands against the kiosk's own verifier and actions (both sides imported here,
never in city/): accepted when intact, refused when anything was changed; the key file checks."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from city import signing
from city.signing import SigningKeyError, build_command, load_signing_key, public_key_base64, sign
from edge_agent.actions import Actions
from edge_agent.commands import CommandRejected, Verifier, load_public_key
from edge_agent.commands import canonical as kiosk_canonical
from tests.edge_agent.conftest import DEV_KEY, DEV_PUBLIC_KEY

TARGET = "440300/c1/k1"


def verifier(public_b64: str = DEV_PUBLIC_KEY) -> Verifier:
    """The kiosk's verifier with an in-memory nonce store."""
    seen: set[str] = set()

    def remember(nonce: str, _until: float, _now: float) -> bool:
        if nonce in seen:
            return False
        seen.add(nonce)
        return True

    return Verifier(load_public_key(public_b64, None), TARGET, 60.0, remember)


def city_message(command_type: str = "ping", args: dict[str, Any] | None = None) -> bytes:
    key = load_signing_key(DEV_KEY)
    body = build_command(command_type, TARGET, args or {}, now=datetime.now(UTC), lifetime_s=300)
    return sign(key, body)


def test_the_dev_key_pair_matches_the_kiosks_configured_public_key() -> None:
    assert public_key_base64(load_signing_key(DEV_KEY)) == DEV_PUBLIC_KEY


def test_a_city_signed_command_passes_the_kiosk_verifier_once() -> None:
    check = verifier()
    message = city_message()
    now = datetime.now(UTC).timestamp()
    assert check.verify(message, now)["type"] == "ping"
    with pytest.raises(CommandRejected) as replay:
        check.verify(message, now)
    assert replay.value.reason == "replayed"


def test_set_config_from_the_city_is_applied_by_the_kiosk_actions(tmp_path: Path) -> None:
    catalogue = Path("config/catalogue.yaml").read_text(encoding="utf-8")
    message = city_message(
        "set_config", {"kind": "catalogue", "version": "440300-2025.03.1", "content": catalogue}
    )
    command = verifier().verify(message, datetime.now(UTC).timestamp())
    actions = Actions(tmp_path / "data", {"catalogue": tmp_path / "catalogue.yaml"})
    result = actions.run(command)
    assert result is not None
    assert result["status"] == "ok", result
    assert (tmp_path / "catalogue.yaml").read_text(encoding="utf-8") == catalogue


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("command", "target"), "440300/c1/k2"),
        (("command", "args", "x"), 1),
        (("command", "expires_at"), "2099-01-01T00:00:00.000Z"),
        (("command", "type"), "restart_kiosk"),
        (("command", "nonce"), "0" * 32),
    ],
)
def test_any_change_after_signing_is_refused_as_bad_signature(
    path: tuple[str, ...], value: Any
) -> None:
    message = json.loads(city_message())
    node = message
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(CommandRejected) as refused:
        verifier().verify(json.dumps(message).encode(), datetime.now(UTC).timestamp())
    assert refused.value.reason == "bad_signature"


def test_another_citys_key_is_refused() -> None:
    other = Ed25519PrivateKey.generate()
    body = build_command("ping", TARGET, {}, now=datetime.now(UTC), lifetime_s=60)
    with pytest.raises(CommandRejected) as refused:
        verifier().verify(sign(other, body), datetime.now(UTC).timestamp())
    assert refused.value.reason == "bad_signature"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(args=st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_canonical_bytes_are_the_kiosks_for_any_args(args: dict[str, Any]) -> None:
    """The contract's canonical form, implemented twice, gives the same bytes."""
    body = build_command("set_config", TARGET, args, now=datetime.now(UTC), lifetime_s=60)
    assert signing.canonical(body) == kiosk_canonical(body)
    sent = json.loads(sign(load_signing_key(DEV_KEY), body))
    signature = base64.b64decode(sent["signature"])
    load_signing_key(DEV_KEY).public_key().verify(signature, kiosk_canonical(sent["command"]))


def test_command_fields_follow_the_schema() -> None:
    body = build_command("ping", TARGET, {}, now=datetime(2026, 1, 2, 3, 4, 5, 678900, UTC),
                         lifetime_s=90)  # fmt: skip
    assert body["issued_at"] == "2026-01-02T03:04:05.678Z"
    assert body["expires_at"] == "2026-01-02T03:05:35.678Z"
    assert len(body["nonce"]) == 32
    with pytest.raises(ValueError, match="lifetime"):
        build_command("ping", TARGET, {}, now=datetime.now(UTC), lifetime_s=8 * 86400)
    with pytest.raises(ValueError, match="unknown command type"):
        build_command("format_disk", TARGET, {}, now=datetime.now(UTC), lifetime_s=60)


def _pem(key: Any, tmp_path: Path, name: str = "key.pem") -> Path:
    path = tmp_path / name
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def test_key_file_problems_are_clear(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="no signing key configured"):
        load_signing_key(None)
    with pytest.raises(SigningKeyError, match="cannot read"):
        load_signing_key(tmp_path / "missing.pem")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(SigningKeyError, match="not an Ed25519 key"):
        load_signing_key(_pem(rsa_key, tmp_path))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(SigningKeyError, match="not an Ed25519 key"):
        load_signing_key(_pem(ec_key, tmp_path, "ec.pem"))
    public = tmp_path / "public.pem"
    public.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(SigningKeyError, match="not a PEM private key"):
        load_signing_key(public)
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(SigningKeyError, match="encrypted"):
        load_signing_key(encrypted)
    huge = tmp_path / "huge.pem"
    huge.write_bytes(b"x" * 100_000)
    with pytest.raises(SigningKeyError, match="too large"):
        load_signing_key(huge)
    assert "PRIVATE" not in str(SigningKeyError("x"))


def test_the_contract_readme_test_vector() -> None:
    """docs/contract/README.md's vector: our canonical bytes, signature, and the kiosk's yes."""
    readme = (Path(__file__).resolve().parents[2] / "docs" / "contract" / "README.md").read_text(
        encoding="utf-8"
    )
    section = readme[readme.index("Test vector") :]
    blocks = section.split("```")
    canonical_text, signature_text = blocks[1].strip(), blocks[3].strip()
    command = json.loads(canonical_text)
    assert signing.canonical(command) == canonical_text.encode()
    key = load_signing_key(DEV_KEY)
    assert base64.b64encode(key.sign(signing.canonical(command))).decode() == signature_text
    check = Verifier(
        load_public_key(DEV_PUBLIC_KEY, None), command["target"], 60.0, lambda *_: True
    )
    message = json.dumps({"command": command, "signature": signature_text}).encode()
    issued = datetime(2026, 12, 3, 8, 1, tzinfo=UTC).timestamp()
    assert check.verify(message, issued)["id"] == command["id"]
