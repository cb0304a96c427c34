"""The simulator's command line (``gem-envoy simulate``, ``python -m gem_envoy.sim``).

Once the simulator accepts connections it prints ``listening on https://HOST:PORT`` (with the
real port when ``--port 0``; then ``cloud on https://HOST:PORT`` when it serves the cloud, see
`cloud_cli`) and runs until Ctrl-C or SIGTERM, then exits with status 0. Token
files, when asked for, are written (mode 0600) before that line is printed.

``--fault KIND`` sets a fault (see `faults`) as the simulator starts listening; the other
``--fault-*`` options are its fields. ``refused``, ``tls`` and ``reboot`` close the port or break
handshakes right away, so the listening line comes before the port actually serves.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .auth import LIFETIME_S
from .cloud_cli import add_cloud_arguments, announce_cloud, cloud_options_from_args
from .faults import KINDS, PARAMETERS, Fault
from .latency_profile import PROFILES
from .livedata_switch import DEFAULT_TIMEOUT_S, WHEN_DISABLED
from .options import DEFAULT_FIRMWARE, DEFAULT_SERIAL, STREAM_INTERVAL_S, SimOptions

if TYPE_CHECKING:
    from .server import SimServer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    add("--port", type=int, default=8443, help="port to listen on; 0 = any (default 8443)")
    add("--capture", type=Path, metavar="DIR", help="replay this capture folder")
    add("--inverters", type=int, default=12, metavar="N", help="microinverters (default 12)")
    add("--no-cts", dest="cts", action="store_false", help="no production/consumption CTs")
    add("--battery", action="store_true", help="add Encharge batteries")
    add("--battery-units", type=int, default=2, metavar="N", help="Encharge units (default 2)")
    add(
        "--no-storage-ct",
        dest="storage_ct",
        action="store_false",
        help="with --battery: no CT on the battery's circuit (older sites have none)",
    )
    add("--serial", default=DEFAULT_SERIAL, help=f"gateway serial (default {DEFAULT_SERIAL})")
    add("--firmware", default=DEFAULT_FIRMWARE, help=f"firmware (default {DEFAULT_FIRMWARE})")
    add("--speed", type=float, default=1.0, help="simulated seconds per real second")
    add("--start", metavar="ISO", help="simulated start time, ISO 8601 (default: now)")
    add("--utc-offset", type=float, metavar="HOURS", help="plant time zone (default: local)")
    add("--weak-inverter", type=int, metavar="INDEX", help="an inverter producing only 60%%")
    add("--latency-ms", type=float, default=0.0, help="delay before every gateway answer")
    add(
        "--latency-profile",
        choices=PROFILES,
        default="none",
        help="field: each endpoint answers after a delay drawn as on real gateways, one "
        "request at a time, counted as busy time in /__sim/stats (default none)",
    )
    add("--latency-seed", type=int, default=0, help="seed of the field profile's draws")
    add(
        "--latency-scale",
        type=float,
        default=1.0,
        help="real seconds slept per second of drawn service time (default 1)",
    )
    add("--token-file", type=Path, metavar="F", help="write an installer token to F (0600)")
    add("--owner-token-file", type=Path, metavar="F", help="write an owner token to F (0600)")
    add(
        "--token-lifetime",
        type=int,
        metavar="SECONDS",
        help="lifetime of the tokens written (default as Enphase's: 12 hours for an "
        "installer, a year for an owner)",
    )
    add(
        "--phases",
        type=int,
        choices=(1, 2, 3),
        default=2,
        help="1 single-phase, 2 split-phase, 3 three-phase (default 2)",
    )
    add(
        "--stream-interval",
        type=float,
        default=STREAM_INTERVAL_S,
        metavar="S",
        help="real seconds between /stream/meter events (default 1)",
    )
    add(
        "--livedata-timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help="seconds sc_stream stays enabled after POST /ivp/livedata/stream (default 900)",
    )
    add(
        "--livedata-when-disabled",
        choices=WHEN_DISABLED,
        default="frozen",
        help="what /ivp/livedata/status shows while sc_stream is disabled: frozen values "
        "(default) or refreshing ones",
    )
    add(
        "--clock-power",
        action="store_true",
        help="freshness probe: production = 10 W x (simulated epoch seconds mod 1000) in "
        "every view, so that a reader can tell how old a value is",
    )
    add(
        "--mdns",
        action="store_true",
        help="announce the gateway on mDNS (_enphase-envoy._tcp), as a real one does",
    )
    _add_fault_arguments(parser)
    add_cloud_arguments(parser)


def _add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("faults", "set a fault from the start (see /__sim/fault)")
    add = group.add_argument
    add(
        "--fault",
        choices=KINDS,
        metavar="KIND",
        help=f"one of: {', '.join(KINDS)}; the stream-* kinds act on /stream/meter: "
        "stall (no events, connection held), disconnect (dropped mid-event), garbage (bad "
        "events among good ones), split (events in pieces, varied line endings), burst "
        "(16 KiB at a time)",
    )
    add("--fault-path", metavar="PATH", help="only this path (default: every gateway path)")
    add("--fault-fraction", type=float, metavar="F", help="share of requests hit, 0..1")
    add("--fault-duration", type=float, metavar="S", help="clear the fault after S seconds")
    add("--fault-seed", type=int, metavar="N", help="seed of the fraction's draws (default 0)")
    add(
        "--fault-seconds",
        type=float,
        metavar="S",
        help="reboot: seconds down; cloud-revert: seconds until a write is undone (default 10)",
    )
    add("--fault-hours", type=float, metavar="H", help="skew: hours off (default 3)")
    add("--fault-bytes-per-s", type=float, metavar="N", help="slow: body rate (default 4)")


_FAULT_FIELDS = {
    "fault_path": "path",
    "fault_fraction": "fraction",
    "fault_duration": "duration_s",
    "fault_seed": "seed",
    **{f"fault_{name}": name for name in PARAMETERS.values()},
}


def fault_from_args(args: argparse.Namespace) -> Fault | None:
    """The ``--fault*`` options as a `Fault`; ValueError when they do not make one."""
    given = {
        field: getattr(args, option)
        for option, field in _FAULT_FIELDS.items()
        if getattr(args, option, None) is not None
    }
    if args.fault is None:
        if given:
            raise ValueError("the --fault-* options need --fault")
        return None
    return Fault.from_json({"kind": args.fault, **given})


def options_from_args(args: argparse.Namespace) -> SimOptions:
    start = None
    if args.start:
        parsed = dt.datetime.fromisoformat(args.start)
        start = parsed.astimezone().timestamp() if parsed.tzinfo is None else parsed.timestamp()
    offset = None if args.utc_offset is None else round(args.utc_offset * 3600)
    return SimOptions(
        host=args.host,
        port=args.port,
        capture=args.capture,
        inverters=args.inverters,
        cts=args.cts,
        battery=args.battery,
        battery_units=args.battery_units,
        storage_ct=args.storage_ct,
        serial=args.serial,
        firmware=args.firmware,
        utc_offset_s=offset,
        speed=args.speed,
        start_time=start,
        latency_ms=args.latency_ms,
        latency_profile=args.latency_profile,
        latency_seed=args.latency_seed,
        latency_scale=args.latency_scale,
        weak_inverter=args.weak_inverter,
        fault=fault_from_args(args),
        cloud=cloud_options_from_args(args),
        phases=args.phases,
        stream_interval_s=args.stream_interval,
        livedata_timeout_s=args.livedata_timeout,
        livedata_when_disabled=args.livedata_when_disabled,
        clock_power=args.clock_power,
    )


def run(args: argparse.Namespace) -> int:
    """Run the simulator until Ctrl-C or SIGTERM (status 0); 2 for unusable options."""
    try:
        options = options_from_args(args)
    except ValueError as exc:
        print(f"gem-envoy simulate: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(options, args))
    except KeyboardInterrupt:
        return 0
    except (OSError, ValueError) as exc:
        print(f"gem-envoy simulate: {exc}", file=sys.stderr)
        return 2


async def _serve(options: SimOptions, args: argparse.Namespace) -> int:
    from .mdns import Advertiser  # zeroconf: only to announce
    from .server import start_simulator

    server = await start_simulator(options)
    advertiser = None
    try:
        _write_tokens(server, args)
        if args.mdns:
            advertiser = Advertiser(server.serial, options.firmware, server.host, server.port)
            await advertiser.start()
        print(f"listening on {server.url}", flush=True)
        if advertiser is not None:
            print(f"announced on mDNS as {advertiser.name}", flush=True)
        announce_cloud(server, args)
        await _until_signalled()
    finally:
        if advertiser is not None:
            await advertiser.close()
        await server.close()
    return 0


def _write_tokens(server: SimServer, args: argparse.Namespace) -> None:
    for path, user in ((args.token_file, "installer"), (args.owner_token_file, "owner")):
        if path is not None:
            lifetime = args.token_lifetime or LIFETIME_S[user]
            write_secret(path, server.mint_token(user, lifetime))


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), replacing any file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(text)  # no newline: the file holds exactly the token


async def _until_signalled() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
