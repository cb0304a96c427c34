"""What can go wrong when talking to a gateway, one class per thing a caller can act on.

Messages use the words of the product description's Troubleshooting section, so that what a
user reads in `last_error` or on stderr matches the documentation they will search for.
"""

from __future__ import annotations


class EnvoyError(Exception):
    """Root of every error the gateway client raises. Always carries a non-empty message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class AuthRejected(EnvoyError):
    """401: the token is missing, expired, or minted for another gateway."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"auth rejected (401) on {path}: the token is expired, was minted for another "
            "gateway serial, or lacks installer scope; mint a fresh installer JWT in Entrez"
        )
        self.path = path


class NotPermitted(EnvoyError):
    """403: the token is valid but lacks the scope for this endpoint."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"auth rejected (403) on {path}: the token is valid but lacks the scope for this "
            "endpoint (installer-tier needed)"
        )
        self.path = path


class NotFound(EnvoyError):
    """404: this firmware does not have the endpoint."""

    def __init__(self, path: str) -> None:
        super().__init__(f"not found (404) on {path}: this firmware does not have that endpoint")
        self.path = path


class Unreachable(EnvoyError):
    """The gateway could not be reached: refused, unknown host, TLS failure, dropped link."""


class GatewayTimeout(EnvoyError):
    """The gateway did not answer within the request timeout."""


class BadResponse(EnvoyError):
    """The gateway answered, but not with something usable: unparseable, oversized, wrong shape,
    or an unexpected HTTP status."""


class WriteRefused(EnvoyError):
    """The gateway answered a write with an error status (400, 500...): nothing was changed,
    as far as the gateway says. The message quotes the gateway's own words when it gave any."""

    def __init__(self, path: str, status: int, detail: str) -> None:
        said = f": {detail}" if detail else ""
        super().__init__(f"the gateway refused the write to {path} (HTTP {status}){said}")
        self.path = path
        self.status = status


class UnsupportedFirmware(EnvoyError):
    """A pre-token (D5 or older) gateway: it speaks digest auth, not the D7+ JWT flow."""

    def __init__(self, firmware: str) -> None:
        super().__init__(
            f"unsupported firmware {firmware or '(unknown)'}: this is a pre-token (D5) gateway; "
            "the driver speaks only the D7+ JWT flow. Upgrade the gateway in Enlighten"
        )
        self.firmware = firmware


class StreamStalled(EnvoyError):
    """The meter stream's connection is open but no event came for its idle timeout: a hung
    connection (a gateway may leave one open without sending), to drop and open again."""

    def __init__(self, idle_timeout_s: float) -> None:
        super().__init__(
            f"stalled: the gateway's meter stream sent nothing for {idle_timeout_s:g} s"
        )
        self.idle_timeout_s = idle_timeout_s
