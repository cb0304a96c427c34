"""The drivers this host can run: their names, and what each one declares about itself (its
attributes, commands and pages), so that a page can build its forms and tabs from them
instead of knowing any driver."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, Depends, HTTPException, status

from gem_envoy.host.api.auth import current_session
from gem_envoy.host.api.context import Context
from gem_envoy.host.api.schemas import (
    AttributeSpecOut,
    CommandRow,
    CommandSpecOut,
    DriverOut,
    DriverPageOut,
)
from gem_envoy.host.contract import AttributeSpec, Driver
from gem_envoy.host.secrets import MASK, is_secure
from gem_envoy.host.web import driver_url

router = APIRouter(prefix="/api", tags=["drivers"], dependencies=[Depends(current_session)])

_NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"content": {"application/json": {"example": {"error": "..."}}}}
}


@router.get("/drivers")
async def list_drivers(ctx: Context) -> list[str]:
    """Names of the drivers this host can run, for the `driver` field of a device; each
    one's details at `/api/drivers/{name}`."""
    return sorted(ctx.supervisor.drivers)


@router.get("/drivers/{name}", responses=_NOT_FOUND)
async def driver_details(name: str, ctx: Context) -> DriverOut:
    """What the driver declares: the attributes a device of it takes (`required`,
    `optional`), those it reports (`runtime`, `zone`), its commands, and its own pages
    (`module` is the URL of an ES module that exports `mount(main, ctx)`)."""
    driver = ctx.supervisor.drivers.get(name)
    if driver is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no driver named {name!r}")
    return describe(name, driver)


@router.get("/drivers/{name}/commands", responses=_NOT_FOUND)
async def driver_commands(name: str, ctx: Context) -> list[CommandRow]:
    """The driver's command table as the store keeps it (also for drivers no longer
    installed whose rows remain)."""
    rows = await ctx.store.list_commands(name)
    if not rows and name not in ctx.supervisor.drivers:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no driver named {name!r}")
    return [CommandRow(name=n, args=args, notes=notes) for n, args, notes in rows]


def describe(name: str, driver: type[Driver]) -> DriverOut:
    meta = driver.metadata()
    web = driver.web()
    return DriverOut(
        name=name,
        device_type=meta.device_type,
        status=meta.status,
        required=_specs(meta.required),
        optional=_specs(meta.optional),
        runtime=_specs(meta.runtime),
        zone=_specs(meta.zone),
        # Meant to hold placeholders, but the host cannot tell a placeholder from a real
        # secret a driver's author pasted in: secure values are masked like stored ones.
        sample_config={k: MASK if is_secure(k) else v for k, v in meta.sample_config.items()},
        commands=[
            CommandSpecOut(name=c.name, args=list(c.args), notes=c.notes, writes=c.writes)
            for c in driver.commands()
        ],
        pages=[
            DriverPageOut(route=p.route, title=p.title, module=driver_url(name, p.module))
            for p in (web.pages if web else ())
        ],
    )


def _specs(specs: Iterable[AttributeSpec]) -> list[AttributeSpecOut]:
    return [
        AttributeSpecOut(
            name=s.name,
            type=s.type,
            description=s.description,
            default=s.default,
            history=s.history,
            minimum=s.minimum,
            secure=is_secure(s.name),
            energy=s.energy,
        )
        for s in specs
    ]
