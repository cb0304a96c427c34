"""The device attributes a user sets for the enphase_envoy driver, read and checked."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gem_envoy.host.contract import AttributeSpec, AttributeValue

log = logging.getLogger(__name__)

DEFAULT_PORT = 443
DEFAULT_INTERVAL_MS = 30_000
# The gateway freezes when polled fast; nothing useful changes faster than this anyway.
MIN_INTERVAL_MS = 5_000
DEFAULT_TIMEOUT_MS = 10_000
DEFAULT_LIVE_INTERVAL_MS = 2_000
# Livedata is one small native read; faster than a second would only load the gateway.
MIN_LIVE_INTERVAL_MS = 1_000
# When the live feed runs: while someone watches (a page open, a bridge that asks), or always.
LIVE_WHEN = ("watched", "always")

REQUIRED = (AttributeSpec("ip", "str", "Envoy LAN IP."),)
OPTIONAL = (
    AttributeSpec(
        "token",
        "str",
        "JWT bearer minted from Entrez (stored encrypted). Needed unless the Enlighten "
        "credentials are set, from which the driver mints and renews it.",
    ),
    AttributeSpec(
        "enlighten_email",
        "str",
        "Enlighten account e-mail, to mint and renew the token (stored encrypted).",
        secure=True,
    ),
    AttributeSpec(
        "enlighten_password",
        "str",
        "Enlighten account password (stored encrypted).",
        secure=True,
    ),
    AttributeSpec("port", "int", "HTTPS port. Override only on non-standard installs.", 443),
    AttributeSpec("serial_number", "str", "Gateway serial. Auto-populated from /info."),
    AttributeSpec(
        "polling_interval",
        "int",
        "Telemetry poll interval (ms). Hard floor 5000 ms.",
        DEFAULT_INTERVAL_MS,
        minimum=MIN_INTERVAL_MS,
        unit="ms",
    ),
    AttributeSpec("request_timeout", "int", "Per-request HTTPS timeout (ms).", 10000, unit="ms"),
    AttributeSpec(
        "time_zone",
        "str",
        "The plant's IANA time zone (e.g. Europe/Paris): where the energy reports' days begin. "
        "Default: the host's.",
    ),
    AttributeSpec(
        "live",
        "bool",
        "Follow the power flow live (the meter stream or livedata) between polls; false = "
        "poll only.",
        True,
    ),
    AttributeSpec(
        "live_when",
        "str",
        "When live runs: watched (while someone has the page open, or a bridge asks; the "
        "poll alone otherwise, which spares the gateway) or always (live power and its "
        "history all day).",
        LIVE_WHEN[0],
        choices=LIVE_WHEN,
    ),
    AttributeSpec(
        "live_interval",
        "int",
        "How often livedata is read when it is the live source (ms). Floor 1000 ms.",
        DEFAULT_LIVE_INTERVAL_MS,
        minimum=MIN_LIVE_INTERVAL_MS,
        unit="ms",
    ),
)


class SettingsError(ValueError):
    """A device attribute that the driver cannot use; the message names it."""


def _int(attrs: Mapping[str, AttributeValue], name: str, default: int) -> int:
    value = attrs.get(name, default)
    if isinstance(value, bool):
        raise SettingsError(f"{name} must be a whole number, not {value!r}")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise SettingsError(f"{name} must be a whole number, not {value!r}")


def _bool(attrs: Mapping[str, AttributeValue], name: str, default: bool) -> bool:
    value = attrs.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise SettingsError(f"{name} must be true or false, not {value!r}")


NO_TOKEN = (
    "token is required: set the device's token attribute (a JWT from Entrez, or from "
    "`gem-envoy token mint`), or enlighten_email and enlighten_password to have one minted"
)


def _text(attrs: Mapping[str, AttributeValue], name: str, missing: str = "") -> str:
    value = attrs.get(name)
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(missing or f"{name} is required: set the device's {name} attribute")
    return value.strip()


@dataclass(frozen=True, slots=True)
class Credentials:
    """An Enlighten account, to mint tokens with."""

    email: str
    password: str

    def __repr__(self) -> str:  # neither reaches a log line
        return "Credentials(...)"


def _credentials(attrs: Mapping[str, AttributeValue]) -> Credentials | None:
    email, password = attrs.get("enlighten_email"), attrs.get("enlighten_password")
    given = [v for v in (email, password) if isinstance(v, str) and v.strip()]
    if not given:
        return None
    if len(given) == 1:
        missing = "enlighten_password" if given[0] is email else "enlighten_email"
        raise SettingsError(f"{missing} is not set: set both Enlighten credentials, or neither")
    assert isinstance(email, str) and isinstance(password, str)
    return Credentials(email.strip(), password)


@dataclass(frozen=True, slots=True)
class EnvoySettings:
    ip: str
    token: str  # "" when none is set: the credentials then mint one
    port: int
    polling_interval_ms: int
    request_timeout_ms: int
    serial_number: str | None
    credentials: Credentials | None = None
    live: bool = True
    live_always: bool = False  # `live_when`: always, rather than only while watched
    live_interval_ms: int = DEFAULT_LIVE_INTERVAL_MS
    # The gateway's identity as last trusted (see identity.py); written by the driver.
    certificate_sha256: str | None = None
    certificate_expires_at: str | None = None

    def __repr__(self) -> str:  # the token must never reach a log line
        return f"EnvoySettings(ip={self.ip!r}, port={self.port})"

    @classmethod
    def from_attributes(cls, attrs: Mapping[str, AttributeValue]) -> EnvoySettings:
        port = _int(attrs, "port", DEFAULT_PORT)
        if not 0 < port < 65536:
            raise SettingsError(f"port must be between 1 and 65535, not {port}")
        timeout = _int(attrs, "request_timeout", DEFAULT_TIMEOUT_MS)
        if timeout <= 0:
            raise SettingsError(f"request_timeout must be a positive number of ms, not {timeout}")
        serial = attrs.get("serial_number")
        interval = clamp_interval(_int(attrs, "polling_interval", DEFAULT_INTERVAL_MS))
        credentials = _credentials(attrs)
        token = attrs.get("token")
        if credentials is None or (isinstance(token, str) and token.strip()):
            token = _text(attrs, "token", NO_TOKEN)
        return cls(
            ip=_text(attrs, "ip"),
            token=token if isinstance(token, str) else "",
            port=port,
            polling_interval_ms=interval,
            request_timeout_ms=timeout,
            serial_number=serial if isinstance(serial, str) and serial else None,
            credentials=credentials,
            live=_bool(attrs, "live", True),
            live_always=_live_when(attrs) == "always",
            live_interval_ms=max(
                MIN_LIVE_INTERVAL_MS, _int(attrs, "live_interval", DEFAULT_LIVE_INTERVAL_MS)
            ),
            certificate_sha256=_fingerprint(attrs),
            certificate_expires_at=_optional_text(attrs, "certificate_expires_at"),
        )


def _optional_text(attrs: Mapping[str, AttributeValue], name: str) -> str | None:
    value = attrs.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _fingerprint(attrs: Mapping[str, AttributeValue]) -> str | None:
    text = _optional_text(attrs, "certificate_sha256")
    if text is None:
        return None
    digits = text.replace(":", "").lower()
    if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
        # Never silently trust whatever answers next: a pin that cannot be read is an error.
        raise SettingsError(
            "certificate_sha256 must be a SHA-256 fingerprint (64 hex digits); delete it to "
            "trust the gateway's certificate afresh"
        )
    return digits


def check_user_attributes(values: Mapping[str, AttributeValue]) -> None:
    """Refuse, before storing, the values this driver could never use (SettingsError).

    Intervals under the floor are accepted (and raised to it when used), as GEM does;
    negative or non-numeric ones are not."""
    for name in ("port", "polling_interval", "request_timeout", "live_interval"):
        if name in values and _int(values, name, 0) <= 0:
            raise SettingsError(f"{name} must be a positive whole number, not {values[name]!r}")
    if "port" in values and _int(values, "port", 0) > 65535:
        raise SettingsError(f"port must be between 1 and 65535, not {values['port']!r}")
    if "live" in values:
        _bool(values, "live", True)
    if "live_when" in values:
        _live_when(values)
    if "time_zone" in values:
        _time_zone(values["time_zone"])
    for name in ("ip", "token", "enlighten_password"):
        if name in values:
            _text(values, name)
    if "enlighten_email" in values:
        email = values["enlighten_email"]
        if not isinstance(email, str) or "@" not in email.strip():
            raise SettingsError("enlighten_email must be an Enlighten account's e-mail address")


def _live_when(attrs: Mapping[str, AttributeValue]) -> str:
    value = attrs.get("live_when", LIVE_WHEN[0])
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in LIVE_WHEN:
        raise SettingsError(f"live_when must be watched or always, not {value!r}")
    return str(text)


def _time_zone(value: AttributeValue) -> None:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"time_zone must be an IANA time zone such as Europe/Paris, not {value!r}"
        ) from None


def clamp_interval(interval_ms: int) -> int:
    if interval_ms < MIN_INTERVAL_MS:
        log.warning(
            "polling_interval %d ms is below the %d ms floor; using %d ms",
            interval_ms,
            MIN_INTERVAL_MS,
            MIN_INTERVAL_MS,
        )
        return MIN_INTERVAL_MS
    return interval_ms
