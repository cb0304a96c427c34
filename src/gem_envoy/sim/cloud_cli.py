"""The ``--cloud-*`` options of ``gem-envoy simulate``: serve Enphase's cloud beside the gateway.

With at least one ``--cloud-account``, the simulator also serves the cloud (see `cloud`) on
``--cloud-port``, writes the CA certificate that clients must trust to ``--cloud-ca-file``, and
prints ``cloud on https://HOST:PORT`` (after the ``listening on`` line).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .cloud import CloudAccount, CloudBehaviour, CloudOptions

if TYPE_CHECKING:
    from .server import SimServer

_SWITCHES = {
    "cloud_mfa": ("mfa", "accounts use multi-factor sign-in"),
    "cloud_too_many_sessions": ("too_many_sessions", "sign-ins refused: too many sessions"),
    "cloud_tokens_400": ("tokens_400", "Entrez /tokens answers 400 (flow B needed)"),
    "cloud_wrong_serial": ("wrong_serial", "the gateway is on no account"),
    "cloud_down": ("down", "the cloud drops every connection"),
    "cloud_tokens_json": ("tokens_json", "/tokens answers JSON instead of the raw token"),
}


def add_cloud_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "cloud", "also serve Enlighten and Entrez (token minting); switches: /__sim/cloud"
    )
    add = group.add_argument
    add(
        "--cloud-account",
        action="append",
        default=[],
        metavar="EMAIL:PASSWORD[:installer]",
        help="an Enlighten account (repeatable); owner unless :installer",
    )
    add("--cloud-port", type=int, default=0, help="the cloud's port; 0 = any (default 0)")
    add("--cloud-ca-file", type=Path, metavar="F", help="write the CA certificate to trust to F")
    add("--cloud-token-lifetime", type=int, metavar="SECONDS", help="lifetime of minted tokens")
    for option, (_, text) in _SWITCHES.items():
        add("--" + option.replace("_", "-"), action="store_true", help=text)


def cloud_options_from_args(args: argparse.Namespace) -> CloudOptions | None:
    """The cloud's options, or None without accounts; ValueError for a malformed account."""
    accounts = tuple(CloudAccount.parse(text) for text in args.cloud_account)
    if not accounts:
        return None
    behaviour = CloudBehaviour(token_lifetime_s=args.cloud_token_lifetime)
    for option, (name, _) in _SWITCHES.items():
        setattr(behaviour, name, bool(getattr(args, option)))
    return CloudOptions(accounts, args.cloud_port, behaviour)


def announce_cloud(server: SimServer, args: argparse.Namespace) -> None:
    """Write the CA file (before anyone is told where the cloud is), then say where."""
    if server.cloud is None:
        return
    if args.cloud_ca_file is not None:
        args.cloud_ca_file.write_bytes(server.cloud.ca_pem)
    print(f"cloud on {server.cloud.url}", flush=True)
