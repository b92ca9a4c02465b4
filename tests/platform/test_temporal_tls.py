"""Mutual TLS to the Temporal frontend (docs/operations.md "Temporal in production").

The dev server speaks plaintext only, so the frontend here is the real dev server behind a TLS
terminator that, like a production frontend, requires a client certificate its CA signed (HTTP/2
by ALPN, bytes passed through unchanged). noticeflow's own ``connect`` is the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from temporalio.testing import WorkflowEnvironment

from noticeflow.settings import Settings
from noticeflow.temporal import TemporalSetupError, connect


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
          *, ca: bool = False, server: bool = False) -> x509.Certificate:
    now = datetime.now(UTC)
    issuer_name, issuer_key = issuer if issuer else (_name(subject), key)
    builder = (
        x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path.with_suffix(".crt"), path.with_suffix(".key")


class Pki:
    def __init__(self, root: Path) -> None:
        root.mkdir()
        self.root = root
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _cert("noticeflow test CA", ca_key, None, ca=True)
        self.ca = root / "ca.crt"
        self.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        server_key = ec.generate_private_key(ec.SECP256R1())
        self.server_cert, self.server_key = _write(root / "frontend", _cert("localhost", server_key, (ca.subject, ca_key), server=True), server_key)
        client_key = ec.generate_private_key(ec.SECP256R1())
        self.client_cert, self.client_key = _write(root / "worker", _cert("noticeflow-worker", client_key, (ca.subject, ca_key)), client_key)
        rogue_ca_key = ec.generate_private_key(ec.SECP256R1())
        rogue_ca = _cert("someone else's CA", rogue_ca_key, None, ca=True)
        rogue_key = ec.generate_private_key(ec.SECP256R1())
        self.rogue_cert, self.rogue_key = _write(root / "rogue", _cert("noticeflow-worker", rogue_key, (rogue_ca.subject, rogue_ca_key)), rogue_key)


@contextlib.asynccontextmanager
async def mtls_frontend(pki: Pki, backend: str) -> AsyncIterator[str]:
    """A TLS 1.2+ terminator in front of ``backend`` that requires a client certificate of ``pki``'s CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.load_verify_locations(pki.ca)
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    host, port = backend.rsplit(":", 1)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


def _settings(tmp_path: Path, address: str, **tls: object) -> Settings:
    return Settings(_env_file=None, home=tmp_path / "home", temporal_address=address, temporal_tls_server_name="localhost", **tls)  # type: ignore[call-arg]


async def test_a_worker_with_the_clusters_client_certificate_connects_over_mutual_tls(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    async with mtls_frontend(pki, dev_env.client.service_client.config.target_host) as address:
        settings = _settings(tmp_path, address, temporal_tls_cert=pki.client_cert, temporal_tls_key=pki.client_key, temporal_tls_ca=pki.ca)
        client = await connect(settings)
        assert await client.service_client.check_health()
        await client.count_workflows()


@pytest.mark.parametrize("credentials", ["none", "another CA's certificate", "plaintext"])
async def test_a_client_without_a_certificate_the_cluster_trusts_cannot_connect(
    dev_env: WorkflowEnvironment, tmp_path: Path, credentials: str
) -> None:
    pki = Pki(tmp_path / "pki")
    tls: dict[str, object] = {
        "none": {"temporal_tls_ca": pki.ca},
        "another CA's certificate": {"temporal_tls_ca": pki.ca, "temporal_tls_cert": pki.rogue_cert, "temporal_tls_key": pki.rogue_key},
        "plaintext": {},
    }[credentials]
    async with mtls_frontend(pki, dev_env.client.service_client.config.target_host) as address:
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(connect(_settings(tmp_path, address, **tls)), 30)


def test_a_client_certificate_without_its_key_is_a_setup_error_naming_both_settings(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    with pytest.raises(TemporalSetupError, match="TEMPORAL_TLS_CERT and NOTICEFLOW_TEMPORAL_TLS_KEY"):
        asyncio.run(connect(_settings(tmp_path, "127.0.0.1:1", temporal_tls_cert=pki.client_cert)))
