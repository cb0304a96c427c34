"""The API's parts on their own: sessions, the login limiter, downsampling, redaction and the
query-token middleware."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st
from starlette.types import Receive, Scope, Send

from gem_envoy.host.api import LoginLimiter, Sessions
from gem_envoy.host.api.query_token import QueryTokenMiddleware
from gem_envoy.host.api.ratelimit import MAX_KEYS, login_key
from gem_envoy.host.api.routes_history import downsample
from gem_envoy.host.redact import redact
from gem_envoy.host.secrets import MASK
from gem_envoy.host.store import Store


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_sessions_expire_and_are_revoked(store: Store) -> None:
    clock = Clock()
    sessions = Sessions(lifetime_s=60, clock=clock, store=store)
    token, session = sessions.create("alice", "user")
    assert session.expires == 1060
    assert token not in repr(sessions)
    assert token not in session.key
    assert await sessions.get(token) == session
    assert await sessions.get(token + "x") is None
    clock.now = 1060
    assert await sessions.get(token) is None
    token, session = await sessions.open("alice", "user")
    other, _ = sessions.create("bob", "user")
    await sessions.revoke(session)
    assert await sessions.get(token) is None
    assert await sessions.get(other) is not None
    assert await sessions.revoke_user("bob") == 1
    assert await sessions.get(other) is None


def test_limiter_waits_double_after_the_first_failure_up_to_the_cap() -> None:
    clock = Clock()
    limiter = LoginLimiter(clock=clock)
    key = login_key("Alice", "10.0.0.1")
    assert key == login_key("alice", "10.0.0.1")
    waits = []
    for _ in range(14):
        assert limiter.retry_after(key) is None
        limiter.failed(key)
        waits.append(limiter.retry_after(key))
        clock.now += waits[-1] or 0
    assert waits == [None, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    assert limiter.retry_after(login_key("alice", "10.0.0.2")) is None
    assert limiter.retry_after(login_key("bob", "10.0.0.1")) is None
    limiter.succeeded(key)
    limiter.failed(key)
    assert limiter.retry_after(key) is None  # a success starts the count afresh


def test_limiter_forgets_a_quiet_key_and_bounds_its_memory() -> None:
    clock = Clock()
    limiter = LoginLimiter(clock=clock)
    key = login_key("alice", "a")
    for _ in range(3):
        limiter.failed(key)
    assert limiter.retry_after(key) == 2
    clock.now += 24 * 3600 + 1
    assert limiter.retry_after(key) is None
    limiter.failed(key)
    assert limiter.retry_after(key) is None  # counted from one again
    for index in range(MAX_KEYS + 10):
        limiter.failed(login_key(f"guess{index}", "a"))
    assert len(limiter._failures) == MAX_KEYS


async def test_limiter_turns_let_one_attempt_of_a_key_at_a_time() -> None:
    limiter = LoginLimiter()
    key = login_key("alice", "a")
    inside: list[int] = []

    async def attempt(index: int) -> None:
        async with limiter.turn(key):
            inside.append(index)
            assert len(inside) == 1
            await asyncio.sleep(0.01)
            inside.remove(index)

    await asyncio.gather(*(attempt(i) for i in range(5)))
    assert limiter._turns == {}


points = st.lists(
    st.tuples(
        st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    ),
    max_size=300,
).map(sorted)


@given(points, st.integers(1, 50))
def test_downsample_keeps_the_span_and_the_limit(
    series: list[tuple[float, float]], limit: int
) -> None:
    result = downsample(series, limit)
    assert len(result) <= limit
    if len(series) <= limit:
        assert result == series
        return
    values = [v for _, v in series]
    assert series[0][0] - 1e-6 <= result[0][0] <= result[-1][0] <= series[-1][0] + 1e-6
    assert all(min(values) - 1e-6 <= v <= max(values) + 1e-6 for _, v in result)
    assert [ts for ts, _ in result] == sorted(ts for ts, _ in result)


def test_redact_masks_secrets_at_any_depth() -> None:
    secret = "s3cr3t-value"
    value = {"a": [f"x{secret}y", {"b": secret}], secret: 1, "n": 5}
    assert redact(value, {secret}) == {
        "a": [f"x{MASK}y", {"b": MASK}],
        MASK: 1,
        "n": 5,
    }
    assert redact(value, set()) is value


async def test_query_token_leaves_the_scope_without_it() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    middleware = QueryTokenMiddleware(app)
    scope: Scope = {
        "type": "http",
        "path": "/api/events",
        "query_string": b"a=1&access_token=tok%2Ben&b=2",
        "headers": [(b"host", b"x")],
    }
    await middleware(scope, None, None)  # type: ignore[arg-type]
    # Changed in place: the server logs from this same dict.
    assert seen == [scope]
    assert scope["query_string"] == b"a=1&b=2"
    assert (b"authorization", b"Bearer tok+en") in scope["headers"]

    elsewhere: Scope = {"type": "http", "path": "/api/data/devices", "headers": []}
    elsewhere["query_string"] = b"access_token=tok"
    await middleware(elsewhere, None, None)  # type: ignore[arg-type]
    assert elsewhere["query_string"] == b""
    assert elsewhere["headers"] == []
