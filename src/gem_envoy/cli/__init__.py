"""The `gem-envoy` command: simulate, poll, command, and the host's run, device, zone, user,
console and demo.

Errors end the program with one line on stderr naming the cause and a non-zero status; no
traceback reaches the user. Secrets come from a file or the environment, never from argv,
where other users of the machine could read them.

This is the one place that wires the drivers into the host (`gem_envoy.drivers.DRIVERS`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from gem_envoy import __version__
from gem_envoy.cli.apikey_verbs import add_apikey_verbs
from gem_envoy.cli.backup_verbs import add_backup_verbs
from gem_envoy.cli.demo import add_demo_verb
from gem_envoy.cli.discover_verbs import add_discover_verb
from gem_envoy.cli.gateway import add_gateway_verbs
from gem_envoy.cli.host_verbs import add_host_verbs
from gem_envoy.cli.parsing import UsageError
from gem_envoy.cli.token_verbs import add_token_verbs
from gem_envoy.envoy.errors import EnvoyError
from gem_envoy.host.contract import CommandRefused, DeviceError
from gem_envoy.host.redact import LOG_SCRUBBER
from gem_envoy.host.secrets import SecretError
from gem_envoy.host.store import StoreError
from gem_envoy.sim import cli as sim_cli

__all__ = ["build_parser", "main"]

# Verbs that run as services say what they do; one-shot verbs speak only when it is wrong.
SERVICES = ("run", "demo", "simulate")
FAILURES = (EnvoyError, CommandRefused, DeviceError, StoreError, SecretError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gem-envoy", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"gem-envoy {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    sim = verbs.add_parser("simulate", help="run a simulated IQ Gateway on this machine")
    sim_cli.add_arguments(sim)
    sim.set_defaults(handler=sim_cli.run)

    add_gateway_verbs(verbs)
    add_discover_verb(verbs)
    add_host_verbs(verbs)
    add_backup_verbs(verbs)
    add_apikey_verbs(verbs)
    add_token_verbs(verbs)
    add_demo_verb(verbs)
    return parser


def configure_logging(verb: str) -> None:
    level = logging.INFO if verb in SERVICES else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verb)
    try:
        status: int = args.handler(args)
    except UsageError as exc:
        print(f"gem-envoy: {exc}", file=sys.stderr)
        return 2
    except FAILURES as exc:  # may quote what a gateway said: never with a secret in it
        print(f"gem-envoy: {LOG_SCRUBBER.redact(str(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. the API port is taken
        print(f"gem-envoy: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status
