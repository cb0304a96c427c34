"""A device's failure text reaches the caller cut short, and masked before it is cut."""

from __future__ import annotations

import secrets

from .conftest import Host


async def test_a_long_token_in_an_error_is_masked_before_the_text_is_cut(host: Host) -> None:
    # 321 characters, like a real JWT: cut at 300 first, most of it would survive unmasked.
    token = "eyJ" + secrets.token_urlsafe(240)[:318]
    await host.add_device("meter", attributes={"token": token})
    answer = await host.admin.post(
        "/api/control/command", json={"device": "meter", "action": "fail"}
    )
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert token[:40] not in error and token[-40:] not in error
    assert error == "401 from https://gw.local/auth?token=********"
