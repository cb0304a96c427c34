"""`GET /api/discovery`: the devices each driver finds on the network by itself
(`Driver.discover`, e.g. over mDNS), for the page's "add device" form to offer. Admins only:
finding devices is part of adding one."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gem_envoy.host.api.auth import require_admin
from gem_envoy.host.api.context import Context
from gem_envoy.host.api.schemas import DiscoveredOut
from gem_envoy.host.contract import Discovered, Driver
from gem_envoy.host.secrets import is_secure

router = APIRouter(prefix="/api", tags=["drivers"], dependencies=[Depends(require_admin)])
log = logging.getLogger(__name__)

MAX_TIMEOUT_S = 10.0


@router.get("/discovery")
async def discovery(
    ctx: Context,
    # The query parameter's name; it is the drivers' listening time, not this call's deadline.
    timeout: Annotated[float, Query(gt=0, le=MAX_TIMEOUT_S)] = 3.0,  # noqa: ASYNC109
) -> list[DiscoveredOut]:
    """What every driver found within `timeout` seconds (they listen at the same time): the
    driver, a line for people, and the attributes a new device would be created with."""
    drivers = sorted(ctx.supervisor.drivers.items())
    found = await asyncio.gather(*(_found(name, d, timeout) for name, d in drivers))
    return [item for items in found for item in items]


async def _found(name: str, driver: type[Driver], timeout_s: float) -> list[DiscoveredOut]:
    try:
        # The driver's own deadline, with a little room: one that never returns costs the
        # caller no more than that.
        items: tuple[Discovered, ...] = await asyncio.wait_for(
            driver.discover(timeout_s), timeout_s + 2.0
        )
    except Exception as exc:  # one driver's failure hides no other's findings
        log.warning("discovery by driver %s failed: %s", name, exc)
        return []
    return [
        DiscoveredOut(
            driver=name,
            label=item.label,
            # A found device's attributes are what it announces to everyone; a secret among
            # them would still be a driver's mistake, and is not passed on.
            attributes={k: v for k, v in item.attributes.items() if not is_secure(k)},
        )
        for item in items
    ]
