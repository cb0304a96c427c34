"""`CertificatePin`: the fingerprint every connection to a gateway must present, checked by the
transport right after each new connection's handshake, before a request is written (see
`certificate`).
"""

from __future__ import annotations

from gem_envoy.envoy.certificate import CertificateChanged, fingerprint


class CertificatePin:
    """The fingerprint every connection must present; None trusts the first one seen."""

    def __init__(self, sha256_hex: str | None = None) -> None:
        self.sha256: str | None = sha256_hex
        self.certificate: bytes | None = None  # DER, of the last connection checked

    def check(self, der: bytes | None, where: str) -> None:
        """Accept the certificate `der` that `where` presented, or raise `CertificateChanged`
        (the caller then drops the connection unused)."""
        if not der:
            raise CertificateChanged(self.sha256 or "", "", where)
        got = fingerprint(der)
        if self.sha256 is None:
            self.sha256 = got  # trust on first use
        if got != self.sha256:
            raise CertificateChanged(self.sha256, got, where)
        self.certificate = der
