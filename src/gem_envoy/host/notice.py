"""A notice for every user of the web page: one sentence the host's operator wants read, such
as the demo's word that its device and its past are simulated.

Kept as a store setting, so that whoever starts the host sets it before serving and the API
reads it where the page asks (`GET /api/notice`). Empty means no notice.
"""

from __future__ import annotations

from gem_envoy.host.store import Store

NOTICE_SETTING = "notice"


async def set_notice(store: Store, text: str) -> None:
    await store.set_setting(NOTICE_SETTING, text.strip())


async def get_notice(store: Store) -> str:
    return await store.get_setting(NOTICE_SETTING, "")
