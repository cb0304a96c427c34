"""How often an Enlighten account is signed in to: never more than once per 10 minutes, and
after refusals less and less often, down to once a day.

Enlighten limits the sessions an account may hold and blocks accounts that sign in too often,
and an account may serve several gateways (and so several devices of this host). So the pace
is kept per account, for the whole process (`ACCOUNTS`): one signed-in session, one gate, and
one lock, so that two devices renewing at once share a sign-in instead of making two.

A signed-in session is reused for later tokens: renewing a token is then one Entrez call and
no sign-in at all. A failed call of any kind holds back the next attempt (sign-in or not): 10
minutes after an unreachable cloud, and after refusals 10, 20, 40 ... minutes, capped at a day.
New credentials clear the refusals (a person fixed them), but not the 10-minute spacing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gem_envoy.drivers.enphase_envoy.renewal import shown
from gem_envoy.envoy.cloud import EnlightenSession, MintedToken
from gem_envoy.envoy.cloud_endpoints import CloudEndpoints
from gem_envoy.envoy.cloud_errors import (
    CloudError,
    CloudUnreachable,
    SessionExpired,
    TooManySessions,
)

SIGN_IN_SPACING_S = 600.0
MAX_BACKOFF_S = 86_400.0
# Failures a person must act on; the others (an outage, too many sessions) pass by themselves.
TRANSIENT = (CloudUnreachable, TooManySessions)


class RenewalDeferred(Exception):
    """The gate holds the next cloud call back until `at` (epoch seconds); `message` says why
    (the last failure's words, when there was one) and until when."""

    def __init__(self, message: str, at: float, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.at = at
        self.permanent = permanent


def next_attempt(at: float) -> str:
    return f"next attempt after {shown(datetime.fromtimestamp(at, UTC))}"


@dataclass(slots=True)
class SignInGate:
    last_sign_in: float | None = None
    refusals: int = 0  # in a row
    retry_at: float | None = None
    last_failure: CloudError | None = None

    def next_sign_in_at(self) -> float | None:
        moments = [t for t in (self.retry_at,) if t is not None]
        if self.last_sign_in is not None:
            moments.append(self.last_sign_in + SIGN_IN_SPACING_S)
        return max(moments) if moments else None

    def before_sign_in(self, now: float) -> None:
        at = self.next_sign_in_at()
        if at is not None and now < at:
            raise self._deferred(at, "the last Enlighten sign-in was under 10 minutes ago")

    def before_call(self, now: float) -> None:
        """A call on a signed-in session waits only for a failure's backoff."""
        if self.retry_at is not None and now < self.retry_at:
            raise self._deferred(self.retry_at, "")

    def signing_in(self, now: float) -> None:
        self.last_sign_in = now

    def failed(self, error: CloudError, now: float) -> None:
        if isinstance(error, CloudUnreachable):
            wait = SIGN_IN_SPACING_S
        else:
            self.refusals += 1
            wait = min(MAX_BACKOFF_S, SIGN_IN_SPACING_S * 2.0 ** (self.refusals - 1))
        self.retry_at = now + wait
        self.last_failure = error

    def succeeded(self) -> None:
        self.refusals = 0
        self.retry_at = None
        self.last_failure = None

    def _deferred(self, at: float, reason: str) -> RenewalDeferred:
        failure = self.last_failure
        why = failure.message if failure is not None else reason
        permanent = failure is not None and not isinstance(failure, TRANSIENT)
        return RenewalDeferred(f"{why}; {next_attempt(at)}", at, permanent=permanent)


@dataclass(slots=True)
class Account:
    session: EnlightenSession
    gate: SignInGate = field(default_factory=SignInGate)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Accounts:
    """Every Enlighten account this process signs in to, by cloud and e-mail address."""

    def __init__(self) -> None:
        self._accounts: dict[tuple[str, str], Account] = {}

    def get(self, email: str, password: str, endpoints: CloudEndpoints) -> Account:
        key = (endpoints.enlighten, email.strip().lower())
        account = self._accounts.get(key)
        if account is None:
            account = Account(EnlightenSession(email, password, endpoints))
            self._accounts[key] = account
        elif not account.session.same_credentials(email, password):
            account.session = EnlightenSession(email, password, endpoints)
            account.gate.refusals = 0  # a person changed them: what was refused may work now
            account.gate.retry_at = None
            account.gate.last_failure = None
        return account

    def clear(self) -> None:
        """Forget every account and its pace, as a new process would (tests do, between
        simulated clouds that may reuse an address)."""
        self._accounts.clear()


ACCOUNTS = Accounts()


async def mint_token(
    account: Account, serial: str, clock: Callable[[], float] = time.time
) -> MintedToken:
    """A token for `serial`, signing in only if the account has no session, and only when the
    gate allows. Raises RenewalDeferred (held back) or the cloud's CloudError."""
    async with account.lock:
        gate, session = account.gate, account.session
        now = clock()
        try:
            for _ in range(2):  # a lapsed session earns one new sign-in
                if session.signed_in:
                    gate.before_call(now)
                else:
                    gate.before_sign_in(now)
                    gate.signing_in(now)
                    await session.sign_in()
                try:
                    minted = await session.fetch_token(serial)
                except SessionExpired:
                    continue
                gate.succeeded()
                return minted
            raise SessionExpired()
        except CloudError as exc:
            gate.failed(exc, now)
            raise
