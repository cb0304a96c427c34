"""The simulator's TLS identity: a self-signed certificate for ``envoy.local``, made at start.

Real gateways present a self-signed certificate too, so clients must not verify it. The key is
an EC (P-256) key: cheap to make, so every simulator instance can have its own, and a benchmark
that runs hundreds of instances may share one context instead (``SimOptions.ssl_context``).
"""

from __future__ import annotations

import datetime as dt
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

COMMON_NAME = "envoy.local"
_VALIDITY = dt.timedelta(days=3650)


def make_certificate(
    common_name: str = COMMON_NAME, validity: dt.timedelta = _VALIDITY
) -> tuple[bytes, bytes]:
    """A fresh self-signed certificate and its key, both PEM encoded: ``(cert, key)``.
    ``validity`` counts from now (a real gateway's lasts a year)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + validity)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def make_server_context(
    common_name: str = COMMON_NAME, validity: dt.timedelta = _VALIDITY
) -> ssl.SSLContext:
    """A server-side SSL context holding a new self-signed certificate.

    ``load_cert_chain`` only reads files, so the PEMs go through a temporary directory that is
    removed before this returns.
    """
    cert_pem, key_pem = make_certificate(common_name, validity)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_alpn_protocols(["http/1.1"])
    with tempfile.TemporaryDirectory(prefix="gem-envoy-sim-") as tmp:
        cert_file = Path(tmp) / "cert.pem"
        key_file = Path(tmp) / "key.pem"
        cert_file.write_bytes(cert_pem)
        key_file.touch(mode=0o600)
        key_file.write_bytes(key_pem)
        context.load_cert_chain(cert_file, key_file)
    return context
