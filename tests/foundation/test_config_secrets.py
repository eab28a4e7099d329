"""Secrets in the kiosk config: dev keys and the dev PIN only on a development kiosk, no private
key as the city's public key, no weak pseudonym key, the PIN hash out of the agent's reach."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from config import ConfigError, load_config
from config.pinhash import MIN_N, hash_pin
from edge_agent.commands import load_private_key, load_public_key

REPO = Path(__file__).resolve().parents[2]
DEV_YAML = REPO / "config" / "dev.yaml"
EXAMPLE_YAML = REPO / "config" / "kiosk.example.yaml"
DEV_SIGNING_KEY = REPO / "config" / "dev-keys" / "city-signing-key.DEV-ONLY.pem"
DEV = yaml.safe_load(DEV_YAML.read_text(encoding="utf-8"))
DEV_CITY_KEY = DEV["commands"]["city_public_key"]
DEV_PSEUDONYM_KEY = DEV["privacy"]["pseudonym_key"]
GOOD_PSEUDONYM_KEY = bytes(range(32)).hex()


def write(directory: Path, document: dict[str, object]) -> Path:
    path = directory / "kiosk.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def minimal(directory: Path, **sections: object) -> dict[str, object]:
    """A small field config (no `development` key) with data in `directory`."""
    return {
        "version": 1,
        "identity": {"city": "440300", "centre": "c1", "kiosk": "k1"},
        "paths": {"data_dir": str(directory / "data")},
        **sections,
    }


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    return [str(p) for p in caught.value.problems]


def config_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "config", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=60,
    )


def test_example_config_with_the_dev_keys_is_refused(tmp_path: Path) -> None:
    """kiosk.example.yaml with dev.yaml's city key and pseudonym key: both refused, by path."""
    document = yaml.safe_load(EXAMPLE_YAML.read_text(encoding="utf-8"))
    document["commands"] = {"city_public_key": DEV_CITY_KEY}
    document["privacy"] = {"pseudonym_key": DEV_PSEUDONYM_KEY, "pseudonym_key_id": "x"}
    found = problems(write(tmp_path, document))
    assert any(
        p.startswith("commands.city_public_key: is the repository's public dev") for p in found
    )
    assert any(p.startswith("privacy.pseudonym_key: is the repository's public dev") for p in found)
    result = config_check(write(tmp_path, document))
    assert result.returncode == 1
    assert "commands.city_public_key: is the repository's public development key" in result.stdout


def test_dev_keys_pass_when_the_config_declares_development(tmp_path: Path) -> None:
    """The same keys load once the config says `development: true` (as config/dev.yaml does)."""
    document = minimal(
        tmp_path,
        development=True,
        commands={"city_public_key": DEV_CITY_KEY},
        privacy={"pseudonym_key": DEV_PSEUDONYM_KEY},
    )
    assert load_config(write(tmp_path, document), env={}).development is True
    assert load_config(DEV_YAML, env={}).development is True


def test_a_private_key_pem_as_the_city_public_key_is_refused(tmp_path: Path) -> None:
    """The signing key given as commands.city_public_key_file: refused by config and agent."""
    document = minimal(
        tmp_path, development=True, commands={"city_public_key_file": str(DEV_SIGNING_KEY)}
    )
    assert problems(write(tmp_path, document)) == [
        "commands.city_public_key_file: holds a PRIVATE key: give the city's public key "
        "(`openssl pkey -pubout`) and keep the signing key off the kiosk"
    ]
    with pytest.raises(ValueError, match="PRIVATE key"):
        load_public_key(None, DEV_SIGNING_KEY)


def test_the_dev_public_key_as_a_pem_file_is_refused_outside_development(tmp_path: Path) -> None:
    """Giving the dev key as a PEM public key file does not get around the dev-key check."""
    public = load_private_key(DEV_SIGNING_KEY).public_key()
    pem = tmp_path / "city.pub.pem"
    pem.write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    document = minimal(tmp_path, commands={"city_public_key_file": str(pem)})
    assert problems(write(tmp_path, document))[0].startswith(
        "commands.city_public_key_file: is the repository's public development key"
    )
    assert load_public_key(None, pem) is not None


@pytest.mark.parametrize("weak", ["00" * 32, "ab" * 48, "0102" * 16])
def test_weak_pseudonym_keys_are_config_errors(tmp_path: Path, weak: str) -> None:
    """All-zero, one repeated byte or a two-byte pattern: a path-qualified problem."""
    found = problems(write(tmp_path, minimal(tmp_path, privacy={"pseudonym_key": weak})))
    assert len(found) == 1
    assert found[0].startswith("privacy.pseudonym_key: must be hex or base64 of at least 32 random")


def test_weak_pseudonym_key_file_is_a_config_error(tmp_path: Path) -> None:
    """The same check applies to a key file this process can read."""
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text("00" * 32, encoding="ascii")
    document = minimal(tmp_path, privacy={"pseudonym_key_file": str(key_file)})
    assert problems(write(tmp_path, document))[0].startswith("privacy.pseudonym_key_file: must")
    key_file.write_text(GOOD_PSEUDONYM_KEY, encoding="ascii")
    assert load_config(write(tmp_path, document), env={}).privacy.pseudonym_key_file == key_file


def test_inline_pin_hash_only_on_a_development_kiosk(tmp_path: Path) -> None:
    """An inline pin_hash (readable by the agent's user) is refused outside development."""
    line = hash_pin("735194", n=MIN_N)
    field = minimal(tmp_path, technician={"pin_hash": line})
    assert problems(write(tmp_path, field))[0].startswith(
        "technician.pin_hash: an inline hash is readable by the agent's user too"
    )
    dev = minimal(tmp_path, development=True, technician={"pin_hash": line})
    assert load_config(write(tmp_path, dev), env={}).technician.pin_hash == line


def test_pbkdf2_inline_hash_is_refused_even_in_development(tmp_path: Path) -> None:
    """The old PBKDF2 format is a config error telling the technician to re-hash."""
    old = DEV_YAML.read_text(encoding="utf-8")
    assert "scrypt$" in old
    pbkdf2 = "pbkdf2-sha256$200000$c70e548f89649ac2165dd6f0cdc1d35f$" + "25" * 32
    document = minimal(tmp_path, development=True, technician={"pin_hash": pbkdf2})
    assert problems(write(tmp_path, document)) == [
        "technician.pin_hash: PBKDF2 PIN hashes are no longer accepted (too fast to crack); "
        "set a new PIN with `python -m kiosk hash-pin --config FILE`"
    ]


def test_pin_hash_file_of_the_dev_pin_or_readable_by_others_fails_config_check(
    tmp_path: Path,
) -> None:
    """`config check` refuses a hash file holding the dev PIN, and one others can read."""
    document = minimal(tmp_path)
    path = write(tmp_path, document)
    hash_file = tmp_path / "data" / "kiosk-private" / "technician-pin.hash"
    hash_file.parent.mkdir(parents=True)
    hash_file.write_text(hash_pin("2580", n=MIN_N), encoding="ascii")
    os.chmod(hash_file, 0o600)
    result = config_check(path)
    assert result.returncode == 1
    assert "technician.pin_hash_file: this is the repository's development PIN" in result.stdout
    hash_file.write_text(hash_pin("735194", n=MIN_N), encoding="ascii")
    os.chmod(hash_file, 0o644)
    result = config_check(path)
    assert result.returncode == 1
    assert "technician.pin_hash_file:" in result.stdout
    assert "can be read by other users" in result.stdout
    os.chmod(hash_file, 0o600)
    assert config_check(path).returncode == 0


def test_lockout_steps_must_grow(tmp_path: Path) -> None:
    """Lockout steps shortest first, each within 10 s..1 day."""
    document = minimal(tmp_path, technician={"lockout_steps_s": [300, 60]})
    assert problems(write(tmp_path, document)) == [
        "technician.lockout_steps_s: lockouts may only grow: list them shortest first"
    ]
