"""The `gem-envoy` command: simulate, poll, command, and the host's run, device, zone, console.

Errors end the program with one line on stderr naming the cause and a non-zero status; no
traceback reaches the user. Tokens come from a file or the environment, never from argv,
where other users of the machine could read them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gem_envoy import __version__
from gem_envoy.cli_host import CliError, add_host_verbs
from gem_envoy.demo import add_demo_verb
from gem_envoy.drivers.enphase_envoy.oneshot import Target, command_once, poll_once
from gem_envoy.envoy.errors import EnvoyError
from gem_envoy.host.contract import CommandRefused
from gem_envoy.host.secrets import SecretError
from gem_envoy.host.store import StoreError
from gem_envoy.sim import cli as sim_cli

TOKEN_ENV = "GEM_ENVOY_TOKEN"


class UsageError(Exception):
    """A command line that cannot be acted on."""


def read_token(token_file: str | None) -> str:
    """The gateway token from `--token-file`, else from $GEM_ENVOY_TOKEN."""
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not readable text"
            raise UsageError(f"cannot read token file {token_file}: {reason}") from None
        if not token:
            raise UsageError(f"token file {token_file} is empty")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(f"no token: give --token-file FILE or set {TOKEN_ENV}")
    return token


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
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, not {args.port}")
    if args.timeout_ms <= 0:
        raise UsageError(f"--timeout-ms must be positive, not {args.timeout_ms}")
    return Target(args.ip, args.port, args.timeout_ms / 1000.0, read_token(args.token_file))


def _command_args(pairs: Sequence[str]) -> dict[str, str]:
    args: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"command arguments are NAME=VALUE, not {pair!r}")
        args[name] = value
    return args


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def cmd_poll(args: argparse.Namespace) -> int:
    _print_json(asyncio.run(poll_once(_target(args), args.zones)))
    return 0


def cmd_command(args: argparse.Namespace) -> int:
    action_args = _command_args(args.args)
    _print_json(asyncio.run(command_once(_target(args), args.action, action_args)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gem-envoy", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"gem-envoy {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    sim = verbs.add_parser("simulate", help="run a simulated IQ Gateway on this machine")
    sim_cli.add_arguments(sim)
    sim.set_defaults(handler=sim_cli.run)

    poll = verbs.add_parser("poll", help="one poll cycle against a gateway, as JSON")
    _add_gateway_options(poll)
    poll.add_argument("--zones", help="'all' (one zone per microinverter) or SERIAL,SERIAL,...")
    poll.set_defaults(handler=cmd_poll)

    command = verbs.add_parser("command", help="run one driver command against a gateway")
    _add_gateway_options(command)
    command.add_argument("action", help="get_status, get_production, get_inverters, ...")
    command.add_argument("args", nargs="*", metavar="NAME=VALUE")
    command.set_defaults(handler=cmd_command)

    add_host_verbs(verbs)
    add_demo_verb(verbs)
    return parser


def configure_logging(verb: str) -> None:
    # Services say what they do; one-shot verbs only speak up when something is wrong.
    level = logging.INFO if verb in ("run", "demo", "simulate") else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verb)
    try:
        status: int = args.handler(args)
    except (EnvoyError, CommandRefused, UsageError, CliError, StoreError, SecretError) as exc:
        print(f"gem-envoy: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError | CliError) else 1
    except OSError as exc:  # e.g. the API port is taken
        print(f"gem-envoy: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
