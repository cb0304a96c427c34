"""Which gateway this device is: its certificate's fingerprint and its serial, trusted on first
use and checked at every connect, so that the token goes to no other box at that address.

A different certificate is accepted without a person only when the gateway is the same
(same serial, from its unauthenticated `/info`, read over a connection that presents the new
certificate) and the old certificate was near or past its expiry: gateways renew theirs
yearly. Otherwise no token is sent, and the device says what changed and how to accept it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from gem_envoy.drivers.enphase_envoy.renewal import shown as moment
from gem_envoy.drivers.enphase_envoy.settings import EnvoySettings
from gem_envoy.envoy import parse
from gem_envoy.envoy.certificate import CertificateChanged, expires_at, shown
from gem_envoy.envoy.certificate_pin import CertificatePin
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.errors import UnsupportedFirmware
from gem_envoy.envoy.models import GatewayInfo
from gem_envoy.host.contract import CommandRefused, DeviceError

log = logging.getLogger(__name__)

# How close to its expiry the old certificate must be for a new one to pass as its renewal.
RENEWAL_WINDOW = timedelta(days=30)
ACCEPT = (
    "If you replaced or reset the gateway, accept it: the accept_certificate command (admins), "
    "or the button on the overview page"
)


@dataclass(frozen=True, slots=True)
class Identity:
    """A gateway as it presented itself: certificate fingerprint, its expiry, serial."""

    sha256: str | None
    expires_at: datetime | None
    serial: str | None

    def attributes(self) -> dict[str, str | None]:
        return {
            "certificate_sha256": self.sha256,
            "certificate_expires_at": _iso(self.expires_at),
            "serial_number": self.serial,
        }


class IdentityRefused(DeviceError):
    """The gateway at the address is not the one trusted; no token was sent to it."""

    def __init__(self, message: str, presented: Identity) -> None:
        super().__init__(message, permanent=True)
        self.presented = presented


def _iso(moment_: datetime | None) -> str | None:
    return moment_.strftime("%Y-%m-%dT%H:%M:%SZ") if moment_ else None


def parse_iso(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _token_gateway(info: GatewayInfo) -> GatewayInfo:
    # A pre-token (D5) gateway is never sent a token, whoever it is: its firmware is what
    # the person must hear about first.
    if not info.uses_tokens:
        raise UnsupportedFirmware(info.firmware)
    return info


async def presented_by(host: str, port: int, timeout_s: float, sha256: str) -> Identity:
    """Who answers with certificate `sha256`: its serial from `/info` (no token sent), read
    over a connection pinned to that very certificate."""
    from gem_envoy.envoy.transport import HttpsTransport  # ssl and httptools: only to connect

    pin = CertificatePin(sha256)
    client = EnvoyClient(HttpsTransport(host, port, timeout_s=timeout_s, pin=pin), "")
    try:
        info = _token_gateway(parse.parse_info(await client.fetch_info()))
    finally:
        await client.close()
    der = pin.certificate
    return Identity(sha256, expires_at(der) if der else None, info.serial)


def judge(known: Identity, presented: Identity, where: str, now: datetime) -> None:
    """Accept `presented` as the yearly renewal of `known`'s certificate, or raise
    IdentityRefused saying what changed and how to accept it."""
    if known.serial and presented.serial != known.serial:
        raise IdentityRefused(
            f"a different gateway answers at {where}: serial {presented.serial}, expected "
            f"{known.serial}; no token was sent. {ACCEPT} (it then needs a token for its serial)",
            presented,
        )
    if known.sha256 is None or presented.sha256 == known.sha256:
        return  # trusted on first use, or the very certificate trusted
    renewal_due = known.expires_at is not None and known.expires_at - now < RENEWAL_WINDOW
    if not renewal_due:
        until = f", valid until {moment(known.expires_at)}" if known.expires_at else ""
        raise IdentityRefused(
            f"the gateway's certificate changed: {where} now presents "
            f"{shown(presented.sha256 or '')} instead of {shown(known.sha256)} "
            f"(trusted{until}); no token was sent. "
            f"{ACCEPT}",
            presented,
        )


class IdentityGuard:
    """One device's trusted identity, the pin its transport checks, and a refused identity
    waiting for a person (`pending`)."""

    def __init__(self, settings: EnvoySettings, name: str) -> None:
        self.pin = CertificatePin(settings.certificate_sha256)
        self.known = Identity(
            settings.certificate_sha256,
            parse_iso(settings.certificate_expires_at),
            settings.serial_number,
        )
        self.pending: IdentityRefused | None = None
        self._name = name
        self._host, self._port = settings.ip, settings.port
        self._timeout_s = settings.request_timeout_ms / 1000.0

    @property
    def where(self) -> str:
        return f"{self._host}:{self._port}"

    def moved_to(self, host: str) -> None:
        """The gateway answers at a new address (found by its serial, lan.py): ask it there.
        What is trusted stays: the pin decides whether the box there is the same."""
        self._host = host

    async def check(self, client: EnvoyClient, now: datetime) -> dict[str, str | None]:
        """Who answers at the address, before any token is sent: `/info` over the pinned
        transport. Returns the attributes to record (the identity, when first trusted or
        renewed); raises IdentityRefused, kept as `pending`, for a gateway not trusted."""
        try:
            info = _token_gateway(parse.parse_info(await client.fetch_info()))
        except CertificateChanged as changed:
            return await self._changed(changed.got, now)
        certificate = self.pin.certificate
        presented = Identity(
            self.pin.sha256, expires_at(certificate) if certificate else None, info.serial
        )
        self._judge(presented, now)
        first_use = self.known.sha256 is None
        self.known, self.pending = presented, None
        return presented.attributes() if first_use else {}

    async def _changed(self, sha256: str, now: datetime) -> dict[str, str | None]:
        try:
            presented = await presented_by(self._host, self._port, self._timeout_s, sha256)
        except CertificateChanged:
            raise DeviceError(
                f"the certificate at {self.where} keeps changing; no token was sent"
            ) from None
        self._judge(presented, now)
        log.warning(
            "device %s: the gateway renewed its certificate (the old one %s): now trusting %s",
            self._name,
            f"expires on {moment(self.known.expires_at)}" if self.known.expires_at else "expired",
            shown(sha256),
        )
        self.pin.sha256 = sha256
        self.known, self.pending = presented, None
        return presented.attributes()

    def _judge(self, presented: Identity, now: datetime) -> None:
        try:
            judge(self.known, presented, self.where, now)
        except IdentityRefused as refused:
            self.pending = refused
            raise

    def accept(self) -> Identity:
        """A person trusts the refused gateway: its certificate is pinned from now on."""
        if self.pending is None:
            raise CommandRefused(
                "nothing to accept: the gateway presents the certificate already trusted"
            )
        presented, self.pending = self.pending.presented, None
        self.pin.sha256 = presented.sha256
        self.known = presented
        return presented
