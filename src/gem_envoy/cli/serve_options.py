"""The options of `gem-envoy run` and `demo` that say how the API faces the network."""

from __future__ import annotations

import argparse
import ipaddress
from typing import TYPE_CHECKING

from gem_envoy.cli.mqtt_options import add_mqtt_options, mqtt_options
from gem_envoy.cli.parsing import UsageError

if TYPE_CHECKING:
    from gem_envoy.host.service import ServeOptions


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the API answers to besides its listen address and localhost, e.g. "
        "the machine's name on the LAN (repeatable); other Host headers get 400",
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        metavar="ADDRESSES",
        help="comma-separated addresses or networks of reverse proxies whose X-Forwarded-For "
        "names the client (default: trust no proxy)",
    )
    add_mqtt_options(parser)


def serve_options(args: argparse.Namespace) -> ServeOptions:
    # Imported here, by the verbs that serve: the web stack is most of a start-up's time.
    from gem_envoy.host.api.allowed_hosts import host_name
    from gem_envoy.host.service import ServeOptions

    names = []
    for text in args.allowed_host:
        name = host_name(text.strip())
        if name is None:
            raise UsageError(f"--allowed-host wants a host name or address, not {text!r}")
        names.append(name)
    proxies = None
    if args.forwarded_allow_ips is not None:
        items = [item.strip() for item in args.forwarded_allow_ips.split(",") if item.strip()]
        for item in items:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise UsageError(
                    f"--forwarded-allow-ips wants addresses or networks, e.g. 127.0.0.1 or "
                    f"10.0.0.0/24, not {item!r}"
                ) from None
        if not items:
            raise UsageError("--forwarded-allow-ips needs at least one address")
        proxies = ",".join(items)
    return ServeOptions(
        allowed_hosts=tuple(names), forwarded_allow_ips=proxies, mqtt=mqtt_options(args)
    )
