"""The host's count of who watches which device, and its grace period."""

from __future__ import annotations

import asyncio

from gem_envoy.host.watchers import Watchers


def _told(watchers: Watchers, device_id: int) -> list[bool]:
    heard: list[bool] = []
    watchers.follow(device_id, heard.append)
    return heard


async def test_a_watcher_of_every_device_watches_each_until_the_grace_ends() -> None:
    watchers = Watchers(grace_s=0.2)
    one, two = _told(watchers, 1), _told(watchers, 2)
    assert one == [False] and two == [False]  # told at once: nobody looks yet
    with watchers.watching():
        assert one == [False, True] and two == [False, True]
    await asyncio.sleep(0.1)
    assert one == [False, True]  # a reload within the grace period changes nothing
    with watchers.watching():
        pass
    await asyncio.sleep(0.15)
    assert one == [False, True]  # the grace counts from the last watcher's leaving
    await asyncio.sleep(0.2)
    assert one == [False, True, False] and two == [False, True, False]


async def test_a_watcher_of_some_devices_leaves_the_others_alone() -> None:
    watchers = Watchers(grace_s=0.05)
    one, two = _told(watchers, 1), _told(watchers, 2)
    with watchers.watching([1]), watchers.watching([1]):
        assert one == [False, True] and two == [False]
    await asyncio.sleep(0.15)
    assert one == [False, True, False] and two == [False]


async def test_a_device_that_starts_while_watched_is_told_so() -> None:
    watchers = Watchers(grace_s=0.05)
    with watchers.watching():
        assert _told(watchers, 3) == [True]
    assert watchers.watched(3)  # within the grace period
    await asyncio.sleep(0.1)
    assert not watchers.watched(3)


async def test_an_unfollowed_listener_hears_nothing_more() -> None:
    watchers = Watchers(grace_s=0.0)
    heard: list[bool] = []
    unfollow = watchers.follow(1, heard.append)
    unfollow()
    with watchers.watching():
        pass
    assert heard == [False]
