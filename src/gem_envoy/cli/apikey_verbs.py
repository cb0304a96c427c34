"""`gem-envoy apikey create|list|revoke`: long-lived API keys for machines (Prometheus).

A key is printed once, by `create`, and stored only as its SHA-256 digest. A running service
reads keys from the database on every request, so `revoke` holds from the next one on.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

from gem_envoy.cli.open_store import open_store
from gem_envoy.cli.output import print_json
from gem_envoy.host.api_keys import KEY_ROLES, METRICS, key_digest, new_key
from gem_envoy.host.store import Store

DEFAULT_DB = "var/gem-envoy.db"

KeyVerb = Callable[[argparse.Namespace, Store], Awaitable[object]]


async def _create(args: argparse.Namespace, store: Store) -> object:
    key = new_key()
    stored = await store.add_api_key(args.name, key_digest(key), args.role)
    return {
        "name": stored.name,
        "role": stored.role,
        "key": key,
        "note": "shown this once: only its digest is stored; send it as Authorization: Bearer",
    }


async def _list(args: argparse.Namespace, store: Store) -> object:
    return [
        {"name": k.name, "role": k.role, "created": _iso(k.created_at)}
        for k in await store.list_api_keys()
    ]


async def _revoke(args: argparse.Namespace, store: Store) -> object:
    await store.delete_api_key(args.name)
    return {"revoked": args.name}


VERBS: dict[str, KeyVerb] = {"create": _create, "list": _list, "revoke": _revoke}


def _iso(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC).isoformat(timespec="seconds")


async def _with_store(args: argparse.Namespace) -> object:
    store = await open_store(args.db)
    try:
        return await VERBS[args.action](args, store)
    finally:
        await store.close()


def cmd_apikey(args: argparse.Namespace) -> int:
    print_json(asyncio.run(_with_store(args)))
    return 0


def add_apikey_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = verbs.add_parser(
        "apikey", help="manage API keys (bearer tokens for machines, e.g. Prometheus)"
    ).add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="make a key and print it, once")
    create.add_argument("name", help="what the key is for, e.g. prometheus")
    create.add_argument(
        "--role",
        choices=KEY_ROLES,
        default=METRICS,
        help=f"{METRICS}: GET /metrics only (default); user: what a signed-in user may read",
    )
    lst = actions.add_parser("list", help="list keys (names and roles, never the keys)")
    revoke = actions.add_parser("revoke", help="revoke a key, at once")
    revoke.add_argument("name")
    for parser in (create, lst, revoke):
        parser.add_argument(
            "--db", default=DEFAULT_DB, help=f"database file (default {DEFAULT_DB})"
        )
        parser.set_defaults(handler=cmd_apikey)
