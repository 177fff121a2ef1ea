"""TLS on the gateway: ``flowcast api`` with a certificate and key from settings serves HTTPS.

The certificate is self-signed, made here with ``cryptography``; the client trusts exactly it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import sys
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from commands.embedded import free_port
from commands.processes import ManagedProcess

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flowcast-test")])
    now = dt.datetime.now(dt.UTC)
    san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_gateway_serves_https_with_the_configured_certificate(
    redis_url: str, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "FLOWCAST_REDIS_URL": redis_url,
        "FLOWCAST_API_PORT": str(port),
        "FLOWCAST_ADMIN_PASSWORD": "tls-test-admin-password",
        "FLOWCAST_TLS_CERTFILE": str(cert),
        "FLOWCAST_TLS_KEYFILE": str(key),
    }
    trusted = ssl.create_default_context(cafile=str(cert))
    url = f"https://127.0.0.1:{port}"

    def https_answers() -> bool:
        try:
            return httpx.get(f"{url}/health", verify=trusted, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    argv = [sys.executable, "-m", "commands.cli", "api"]
    with ManagedProcess("gateway-tls", argv, tmp_path / "gateway.log", env=env, cwd=REPO) as p:
        p.wait_for(https_answers, 60, "GET /health over HTTPS")
        response = httpx.get(f"{url}/health", verify=trusted, timeout=5)
        assert response.headers["strict-transport-security"].startswith("max-age=")
        with pytest.raises(httpx.HTTPError):  # the certificate is not trusted by default
            httpx.get(f"{url}/health", timeout=5)
        with pytest.raises(httpx.HTTPError):  # no plain HTTP on the TLS port
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
