"""The device's token: the one a person set, or one minted from the Enlighten credentials and
renewed before it expires (see `renewal` for when, `signin` for how often the cloud is asked).

A renewal that fails while the token still works changes nothing but `token_warning` and the
log: the current token is used until it expires. Only a device with no usable token fails,
with the cloud's own words on `last_error`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from gem_envoy.drivers.enphase_envoy.renewal import expiry_near, expiry_warning, renewal_due
from gem_envoy.drivers.enphase_envoy.settings import Credentials
from gem_envoy.drivers.enphase_envoy.signin import (
    ACCOUNTS,
    TRANSIENT,
    Accounts,
    RenewalDeferred,
    mint_token,
    next_attempt,
)
from gem_envoy.envoy.cloud import MintedToken
from gem_envoy.envoy.cloud_endpoints import CloudEndpoints
from gem_envoy.envoy.cloud_errors import CloudError, WrongCredentials
from gem_envoy.envoy.token import InvalidToken, TokenClaims, read_claims
from gem_envoy.host.contract import DeviceError

NO_CREDENTIALS = "no Enlighten credentials are set to renew it"


class TokenKeeper:
    def __init__(
        self,
        token: str | None,
        credentials: Credentials | None,
        *,
        accounts: Accounts = ACCOUNTS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.credentials = credentials
        self._accounts = accounts
        self._clock = clock
        self.failure: str | None = None  # why the last renewal failed, until one succeeds
        # A token this keeper minted that no poll has yet shown the gateway accepts: a 401 for
        # it is not answered with yet another token.
        self.unproven = False
        # The claims of the last token read: every poll asks, and decoding a JWT cost a
        # tenth of the host's event loop at 1000 gateways (issue 17).
        self._read: tuple[str, TokenClaims | None] | None = None

    def __repr__(self) -> str:
        return f"TokenKeeper(token={'set' if self.token else 'none'})"

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def claims(self) -> TokenClaims | None:
        token = self.token
        if token is None:
            return None
        if self._read is not None and self._read[0] == token:
            return self._read[1]
        try:
            claims: TokenClaims | None = read_claims(token)
        except InvalidToken:
            claims = None
        self._read = (token, claims)
        return claims

    def needs_token(self) -> bool:
        """No token at all, or one due for renewal that the credentials can renew."""
        if self.token is None:
            return True
        claims = self.claims()
        return (
            self.credentials is not None and claims is not None and renewal_due(claims, self.now())
        )

    def may_answer_rejection(self) -> bool:
        return self.credentials is not None and not self.unproven

    def proven(self) -> None:
        self.unproven = False

    async def mint(self, serial: str) -> MintedToken:
        """A new token for `serial` (kept as `token`); DeviceError in the cloud's words."""
        if self.credentials is None:
            raise DeviceError(
                "no token: set the device's token, or enlighten_email and enlighten_password "
                "so that one can be minted",
                permanent=True,
            )
        email, password = self.credentials.email, self.credentials.password
        try:
            endpoints = CloudEndpoints.from_env()
        except CloudError as exc:  # a cloud address that is not https: refused, never used
            raise self._failed(exc.message, permanent=True) from None
        account = self._accounts.get(email, password, endpoints)
        try:
            minted = await mint_token(account, serial, self._clock)
        except RenewalDeferred as held:
            raise self._failed(held.message, permanent=held.permanent) from None
        except CloudError as exc:
            message = exc.message
            if isinstance(exc, WrongCredentials):
                message += ": fix the device's enlighten_email or enlighten_password"
            retry_at = account.gate.retry_at
            message = f"{message}; {next_attempt(retry_at)}" if retry_at else message
            raise self._failed(message, permanent=not isinstance(exc, TRANSIENT)) from None
        self.token, self.failure, self.unproven = minted.token, None, True
        return minted

    def _failed(self, message: str, *, permanent: bool) -> DeviceError:
        self.failure = message
        return DeviceError(message, permanent=permanent)

    def warning(self) -> str | None:
        """`token_warning`: set while the token expires within 30 days and nothing will
        renew it (no credentials, or renewing fails)."""
        claims = self.claims()
        now = self.now()
        if claims is None or not expiry_near(claims, now):
            return None
        if self.credentials is None:
            return expiry_warning(claims, now, NO_CREDENTIALS)
        if self.failure is not None:
            return expiry_warning(claims, now, f"renewing it failed ({self.failure})")
        return None
