"""`CertificatePin`: the fingerprint every connection to a gateway must present, checked by
aiohttp's connector right after the handshake (see `certificate`). Its own module so that
aiohttp is imported only by what connects.
"""

from __future__ import annotations

import asyncio

import aiohttp

from gem_envoy.envoy.certificate import fingerprint

_PLACEHOLDER = bytes(32)  # aiohttp picks the hash by the digest's length: SHA-256


class CertificatePin(aiohttp.Fingerprint):
    """The fingerprint every connection must present; None trusts the first one seen."""

    def __init__(self, sha256_hex: str | None = None) -> None:
        super().__init__(bytes.fromhex(sha256_hex) if sha256_hex else _PLACEHOLDER)
        self.sha256: str | None = sha256_hex
        self.certificate: bytes | None = None  # DER, of the last connection checked

    def check(self, transport: asyncio.Transport) -> None:
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            raise aiohttp.ServerFingerprintMismatch(b"", b"", *_peer(transport))
        got = fingerprint(der)
        if self.sha256 is None:
            self.sha256 = got  # trust on first use
        if got != self.sha256:
            expected = bytes.fromhex(self.sha256)
            raise aiohttp.ServerFingerprintMismatch(expected, bytes.fromhex(got), *_peer(transport))
        self.certificate = der


def _peer(transport: asyncio.Transport) -> tuple[str, int]:
    peer = transport.get_extra_info("peername") or ("", 0)
    return str(peer[0]), int(peer[1])
