"""`gem-envoy backup DEST` and `gem-envoy restore SRC`: the database and its key together."""

from __future__ import annotations

import argparse
from pathlib import Path

from gem_envoy.cli.output import print_json
from gem_envoy.host.store.backup import backup, restore

DEFAULT_DB = "var/gem-envoy.db"


def cmd_backup(args: argparse.Namespace) -> int:
    report = backup(Path(args.db), Path(args.dest))
    print_json(
        {
            "backup": str(Path(args.dest)),
            "devices": report.devices,
            "secure_values_checked": report.secure_values,
        }
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    report, moved = restore(Path(args.src), Path(args.db))
    print_json(
        {
            "restored": str(Path(args.db)),
            "devices": report.devices,
            "secure_values_checked": report.secure_values,
            "previous_database_moved_to": str(moved) if moved else None,
        }
    )
    return 0


def add_backup_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    save = verbs.add_parser(
        "backup", help="copy the database and its key into a new directory (service may run)"
    )
    save.add_argument("dest", help="a new (or empty) directory for the backup")
    save.add_argument("--db", default=DEFAULT_DB, help=f"database file (default {DEFAULT_DB})")
    save.set_defaults(handler=cmd_backup)

    load = verbs.add_parser(
        "restore",
        help="put a backup in place (stop the service first); the old database is moved aside",
    )
    load.add_argument("src", help="a directory made by `gem-envoy backup`")
    load.add_argument("--db", default=DEFAULT_DB, help=f"database file (default {DEFAULT_DB})")
    load.set_defaults(handler=cmd_restore)
