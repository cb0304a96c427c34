"""The topic layout's names, and the reconnect delays."""

from __future__ import annotations

from gem_envoy.host.bridges.backoff import Backoff
from gem_envoy.host.bridges.topics import Topics, level


def test_names_become_single_topic_levels() -> None:
    assert level("Roof 3") == "Roof_3"
    assert level("a/b+c#d\te") == "a_b_c_d_e"
    t = Topics("home/gem")
    assert t.zone_attribute("my gateway", "Roof 3", "last_w") == (
        "home/gem/my_gateway/zone/Roof_3/last_w"
    )
    assert t.commanded_device("home/gem/my_gateway/command") == "my_gateway"
    assert t.commanded_device("home/gem/my_gateway/command/result") is None
    assert t.commanded_device("other/my_gateway/command") is None
    assert t.commands == "home/gem/+/command"


def test_backoff_doubles_to_its_cap_with_jitter_and_starts_over_after_a_reset() -> None:
    backoff = Backoff(1.0, 8.0, jitter=0.2, rng=lambda: 1.0)  # the most jitter: 20 % less
    assert [round(backoff.next_delay(), 2) for _ in range(6)] == [0.8, 1.6, 3.2, 6.4, 6.4, 6.4]
    backoff.reset()
    assert backoff.next_delay() == 0.8
    steady = Backoff(1.0, 8.0, rng=lambda: 0.0)
    assert [steady.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
