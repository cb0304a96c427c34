"""`gem-envoy discover [--timeout 5]`: the IQ Gateways that announce themselves on the LAN
(mDNS / DNS-SD), with their serial, firmware and addresses, as JSON."""

from __future__ import annotations

import argparse
import asyncio
import sys

from gem_envoy.cli.output import print_json
from gem_envoy.cli.parsing import UsageError

MAX_TIMEOUT_S = 600.0
# envoy.discovery's own default, not imported from there: zeroconf slows every start-up.
DEFAULT_TIMEOUT_S = 5.0


def cmd_discover(args: argparse.Namespace) -> int:
    if not 0 < args.timeout <= MAX_TIMEOUT_S:
        raise UsageError(f"--timeout must be between 0 and {MAX_TIMEOUT_S:g} seconds")
    from gem_envoy.envoy.discovery import browse

    found = asyncio.run(browse(args.timeout))
    print_json(
        [
            {
                "serial": g.serial,
                "firmware": g.firmware,
                "addresses": list(g.addresses),
                "port": g.port,
                "name": g.name,
                "host": g.host,
            }
            for g in found
        ]
    )
    if not found:
        print(
            f"no gateway answered within {args.timeout:g} s (is this machine on the "
            "gateway's LAN, and does it let mDNS, UDP 5353, through?)",
            file=sys.stderr,
        )
    return 0


def add_discover_verb(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    discover = verbs.add_parser(
        "discover", help="list the IQ Gateways announced on the LAN (mDNS): serial, addresses"
    )
    discover.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds to listen for answers (default {DEFAULT_TIMEOUT_S:g})",
    )
    discover.set_defaults(handler=cmd_discover)
