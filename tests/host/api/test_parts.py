"""The API's parts on their own: sessions, the login limiter, downsampling, redaction and the
query-token middleware."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from starlette.types import Receive, Scope, Send

from gem_envoy.host.api import LoginLimiter, Sessions
from gem_envoy.host.api.query_token import QueryTokenMiddleware
from gem_envoy.host.redact import redact
from gem_envoy.host.api.routes_history import downsample
from gem_envoy.host.secrets import MASK


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sessions_expire_and_are_revoked() -> None:
    clock = Clock()
    sessions = Sessions(lifetime_s=60, clock=clock)
    token, session = sessions.create("alice", "user")
    assert session.expires == 1060
    assert token not in repr(sessions)
    assert token not in session.key
    assert sessions.get(token) == session
    assert sessions.get(token + "x") is None
    clock.now = 1060
    assert sessions.get(token) is None
    token, session = sessions.create("alice", "user")
    other, _ = sessions.create("bob", "user")
    sessions.revoke(session)
    assert sessions.get(token) is None
    assert sessions.get(other) is not None
    sessions.revoke_user("bob")
    assert sessions.get(other) is None


def test_limiter_blocks_after_five_failures_until_the_window_passes() -> None:
    clock = Clock()
    limiter = LoginLimiter(clock=clock)
    keys = ("user:alice", "address:10.0.0.1")
    delays = []
    for _ in range(5):
        assert limiter.retry_after(keys) is None
        limiter.record(keys)
        delays.append(limiter.delay(keys))
        clock.now += 10
    assert delays == [0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
    assert limiter.retry_after(keys) == 900 - 50
    assert limiter.retry_after(["address:10.0.0.1"]) == 850
    assert limiter.retry_after(["user:bob"]) is None
    clock.now += 851
    assert limiter.retry_after(keys) is None


def test_limiter_delay_is_capped_and_success_takes_the_attempt_back() -> None:
    clock = Clock()
    limiter = LoginLimiter(clock=clock, max_failures=100)
    keys = ("user:alice", "address:a")
    for _ in range(20):
        limiter.record(keys)
    assert limiter.delay(keys) == 2.0
    stamp = limiter.record(("user:bob", "address:a"))
    limiter.succeeded(("user:bob", "address:a"), stamp, forget="user:bob")
    assert limiter.delay(["user:bob"]) == 0
    assert limiter.delay(["address:a"]) == 2.0  # the address keeps its own count


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
