"""The host's notice: what whoever started the host wants every user of the page to read."""

from __future__ import annotations

from gem_envoy.host.notice import set_notice

from .conftest import Host


async def test_the_notice_is_told_to_signed_in_users_only(host: Host) -> None:
    assert (await host.user.get("/api/notice")).json() == {"notice": ""}
    await set_notice(host.store, "  Demo: this device is simulated.\n")
    assert (await host.user.get("/api/notice")).json() == {
        "notice": "Demo: this device is simulated."
    }
    assert (await host.anon.get("/api/notice")).status_code == 401
    await set_notice(host.store, "")
    assert (await host.admin.get("/api/notice")).json() == {"notice": ""}
