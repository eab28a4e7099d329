"""TLS to the broker: certificates made here; never a fallback to plaintext."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from config import load_config
from edge_agent.link import LinkError, LinkSettings, MqttLink, TlsSettings
from edge_agent.outbox_config import open_outbox
from testbed.broker import MosquittoBroker, TlsFiles, free_port
from tests.edge_agent.conftest import CitySubscriber, write_config
from tests.edge_agent.test_agent_broker import AgentThread

pytestmark = pytest.mark.broker
DAY = dt.timedelta(days=1)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write(
    directory: Path, stem: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
) -> tuple[Path, Path]:
    key_path, cert_path = directory / f"{stem}.key", directory / f"{stem}.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def make_pki(directory: Path, ca_name: str = "Test City CA") -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(ca_name))
        .issuer_name(_name(ca_name))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - DAY)
        .not_valid_after(now + DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files: dict[str, Path] = {}
    files["ca_key"], files["ca"] = _write(directory, "ca", ca_key, ca)
    for stem, usage, san in (
        (
            "server",
            ExtendedKeyUsageOID.SERVER_AUTH,
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ),
        ("client", ExtendedKeyUsageOID.CLIENT_AUTH, x509.DNSName("kiosk-440300-c1-k1")),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(stem))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - DAY)
            .not_valid_after(now + DAY)
            .add_extension(x509.SubjectAlternativeName([san]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        files[f"{stem}_key"], files[stem] = _write(directory, stem, key, cert)
    return files


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Certificates shared by the TLS tests."""
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_agent_delivers_over_mutual_tls(tmp_path: Path, pki: dict[str, Path]) -> None:
    """With the CA and a client certificate the agent connects over TLS and delivers events."""
    plain_port = free_port()
    broker = MosquittoBroker(
        workdir=tmp_path / "mosquitto",
        tls=TlsFiles(pki["ca"], pki["server"], pki["server_key"], require_client_cert=True),
        extra_conf=f"listener {plain_port} 127.0.0.1\n",
    )
    broker.start()
    city = CitySubscriber(broker.host, plain_port)
    city.start()
    tls = {
        "ca_file": str(pki["ca"]),
        "cert_file": str(pki["client"]),
        "key_file": str(pki["client_key"]),
    }
    path = write_config(tmp_path / "kiosk", broker.url, mqtt={"tls": tls})
    runner = AgentThread(path)
    try:
        assert city.wait_for(lambda: any(s["type"] == "agent.online" for s in city.status), 20)
        with open_outbox(load_config(path, env={})) as box:
            sent = box.put("test", {"note": "over tls"})
        assert city.wait_for(lambda: sent["id"] in city.unique("test"))
        assert city.invalid == []
    finally:
        runner.close()
        city.stop()
        broker.stop()


def test_tls_settings_against_a_plaintext_listener_fail(
    mosquitto: MosquittoBroker, pki: dict[str, Path]
) -> None:
    """mqtts:// to a plaintext broker raises LinkError; nothing retries it without TLS."""
    settings = LinkSettings(
        url=f"mqtts://{mosquitto.host}:{mosquitto.port}",
        client_id="tls-probe",
        tls=TlsSettings(pki["ca"], pki["client"], pki["client_key"]),
    )
    with pytest.raises(LinkError, match=r"tls|connect"):
        MqttLink(settings).connect()


def test_tls_files_with_a_plain_url_are_refused(
    mosquitto: MosquittoBroker, pki: dict[str, Path]
) -> None:
    """Configured TLS files with an mqtt:// URL is a configuration error, not silent plaintext."""
    settings = LinkSettings(url=mosquitto.url, client_id="tls-probe", tls=TlsSettings(pki["ca"]))
    with pytest.raises(LinkError, match="mqtts"):
        MqttLink(settings).connect()


def test_untrusted_server_certificate_is_refused(tmp_path: Path, pki: dict[str, Path]) -> None:
    """A broker whose certificate is not signed by our CA is refused (server verification)."""
    other = make_pki(tmp_path / "other", "Impostor CA")
    broker = MosquittoBroker(
        workdir=tmp_path / "mosquitto",
        tls=TlsFiles(other["ca"], other["server"], other["server_key"], require_client_cert=False),
    )
    broker.start()
    try:
        settings = LinkSettings(url=broker.url, client_id="tls-probe", tls=TlsSettings(pki["ca"]))
        with pytest.raises(LinkError, match="tls"):
            MqttLink(settings).connect()
    finally:
        broker.stop()
