"""The verbs that talk to a gateway directly, without a host: `poll` and `command`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from gem_envoy.cli.output import print_json
from gem_envoy.cli.parsing import TOKEN_ENV, UsageError, parse_pairs, read_token
from gem_envoy.host.redact import redact, secret_texts

if TYPE_CHECKING:
    from gem_envoy.drivers.enphase_envoy.oneshot import Target


def _add_gateway_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ip", required=True, help="the gateway's LAN IP")
    parser.add_argument("--port", type=int, default=443, help="HTTPS port (default 443)")
    parser.add_argument(
        "--token-file", help=f"file holding the JWT (else ${TOKEN_ENV}); never pass it in argv"
    )
    parser.add_argument(
        "--timeout-ms", type=int, default=10000, help="per-request timeout (default 10000)"
    )


def _target(args: argparse.Namespace) -> Target:
    from gem_envoy.drivers.enphase_envoy.oneshot import Target  # the driver: only when used

    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, not {args.port}")
    if args.timeout_ms <= 0:
        raise UsageError(f"--timeout-ms must be positive, not {args.timeout_ms}")
    return Target(args.ip, args.port, args.timeout_ms / 1000.0, read_token(args.token_file))


def _print_masked(result: object, target: Target) -> None:
    """What the gateway answered, without the token in it should the gateway echo it."""
    print_json(redact(result, secret_texts(target.token)))


def cmd_poll(args: argparse.Namespace) -> int:
    from gem_envoy.drivers.enphase_envoy.oneshot import poll_once

    target = _target(args)
    polled, unknown = asyncio.run(poll_once(target, args.zones))
    _print_masked(polled, target)
    if unknown:  # said, not failed: the rest of the answer holds
        print(
            f"unknown serial(s), not in the gateway's inverter list: {', '.join(unknown)}",
            file=sys.stderr,
        )
    return 0


def cmd_command(args: argparse.Namespace) -> int:
    from gem_envoy.drivers.enphase_envoy.oneshot import command_once

    action_args = {name: str(value) for name, value in parse_pairs(args.args).items()}
    target = _target(args)
    _print_masked(asyncio.run(command_once(target, args.action, action_args)), target)
    return 0


def add_gateway_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    poll = verbs.add_parser("poll", help="one poll cycle against a gateway, as JSON")
    _add_gateway_options(poll)
    poll.add_argument("--zones", help="'all' (one zone per microinverter) or SERIAL,SERIAL,...")
    poll.set_defaults(handler=cmd_poll)

    command = verbs.add_parser("command", help="run one driver command against a gateway")
    _add_gateway_options(command)
    command.add_argument("action", help="get_status, get_production, get_inverters, ...")
    command.add_argument("args", nargs="*", metavar="NAME=VALUE")
    command.set_defaults(handler=cmd_command)
