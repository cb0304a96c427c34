"""The gateway's identity: its certificate, pinned by its SHA-256 fingerprint.

The gateway's certificate is self-signed, so it cannot be verified; but it can be recognised.
`CertificatePin` is handed to the transport, which calls its `check` on every new connection
right after the TLS handshake and before the first byte of a request is written, and drops the
connection when it raises. So a device that takes over the gateway's address never receives a
request, let alone the token.

With no fingerprint yet, the first certificate seen is trusted (trust on first use) and pinned
from then on; the caller stores it and hands it back next time.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from gem_envoy.envoy.errors import EnvoyError


def fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate, as lowercase hex."""
    return hashlib.sha256(der).hexdigest()


def shown(sha256_hex: str) -> str:
    """A fingerprint as `openssl x509 -fingerprint -sha256` prints it, to compare with."""
    return ":".join(sha256_hex[i : i + 2] for i in range(0, len(sha256_hex), 2)).upper()


def expires_at(der: bytes) -> datetime | None:
    from cryptography import x509  # here: a tenth of a second of every command line's start

    try:
        return x509.load_der_x509_certificate(der).not_valid_after_utc
    except ValueError:
        return None


class CertificateChanged(EnvoyError):
    """The gateway's address answered with a certificate other than the pinned one; no
    request was sent on that connection."""

    def __init__(self, expected: str, got: str, where: str) -> None:
        super().__init__(
            f"the certificate at {where} changed (was {shown(expected)}, now {shown(got)}); "
            "no request was sent"
        )
        self.expected = expected
        self.got = got
