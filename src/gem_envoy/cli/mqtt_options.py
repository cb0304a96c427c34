"""The MQTT options of `gem-envoy run` and `demo`: the broker, its credentials, the topics.

The broker's password comes from `--mqtt-password-file` or $GEM_ENVOY_MQTT_PASSWORD; one in
the `--mqtt` URL is accepted too (as brokers' own tools do) but warned about: other users of
the machine can read a command line.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from gem_envoy.cli.parsing import UsageError, read_secret_file
from gem_envoy.host.bridges.mqtt_options import (
    COMMAND_LEVELS,
    DEFAULT_DISCOVERY_PREFIX,
    DEFAULT_PREFIX,
    BrokerUrlError,
    MqttOptions,
    check_prefix,
    parse_broker_url,
)
from gem_envoy.host.redact import LOG_SCRUBBER

log = logging.getLogger(__name__)

PASSWORD_ENV = "GEM_ENVOY_MQTT_PASSWORD"


def add_mqtt_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("MQTT (Home Assistant, GEM, any MQTT client)")
    group.add_argument(
        "--mqtt",
        metavar="URL",
        help="publish to this broker: mqtt://[user@]host[:1883] or mqtts://...[:8883]",
    )
    group.add_argument(
        "--mqtt-password-file",
        metavar="FILE",
        help=f"the broker password, from a file (or set ${PASSWORD_ENV})",
    )
    group.add_argument(
        "--mqtt-ca-file", metavar="FILE", help="CA certificates for mqtts:// (default: system)"
    )
    group.add_argument(
        "--mqtt-prefix",
        default=DEFAULT_PREFIX,
        metavar="PREFIX",
        help=f"the first topic level(s) (default {DEFAULT_PREFIX})",
    )
    group.add_argument(
        "--mqtt-commands",
        choices=COMMAND_LEVELS,
        default="off",
        help="commands from <prefix>/<device>/command: off (default), read (commands that "
        "change nothing), all (also those that do: the broker's ACL is then the only guard)",
    )
    group.add_argument(
        "--mqtt-live",
        action="store_true",
        help="publish live power all the time (the bridge counts as a watcher of every "
        "device, as an open page does); by default it flows only while someone has the page "
        "open, and the poll's values are published otherwise",
    )
    group.add_argument(
        "--ha-discovery-prefix",
        default=DEFAULT_DISCOVERY_PREFIX,
        metavar="PREFIX",
        help=f"Home Assistant's discovery prefix (default {DEFAULT_DISCOVERY_PREFIX})",
    )
    group.add_argument(
        "--no-ha-discovery",
        action="store_true",
        help="publish no Home Assistant discovery documents",
    )


def mqtt_options(args: argparse.Namespace) -> MqttOptions | None:
    if not args.mqtt:
        if args.mqtt_password_file:
            raise UsageError("--mqtt-password-file needs --mqtt URL")
        if args.mqtt_live:
            raise UsageError("--mqtt-live needs --mqtt URL")
        return None
    try:
        url = parse_broker_url(args.mqtt)
        prefix = check_prefix("--mqtt-prefix", args.mqtt_prefix)
        discovery = (
            None
            if args.no_ha_discovery
            else check_prefix("--ha-discovery-prefix", args.ha_discovery_prefix)
        )
    except (BrokerUrlError, ValueError) as exc:
        raise UsageError(f"--mqtt: {exc}") from None
    password = url.password
    if password is not None:
        LOG_SCRUBBER.add({password})
        log.warning(
            "the MQTT password on the command line can be read by other users of this "
            "machine; prefer --mqtt-password-file or $%s",
            PASSWORD_ENV,
        )
    if args.mqtt_password_file:
        password = read_secret_file(args.mqtt_password_file, "the MQTT password")
    elif os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV]
    if password is not None and url.username is None:
        raise UsageError("--mqtt: a broker password needs a user name: mqtt://USER@host")
    ca_file = Path(args.mqtt_ca_file) if args.mqtt_ca_file else None
    if ca_file is not None and not url.tls:
        raise UsageError("--mqtt-ca-file is for mqtts:// brokers")
    return MqttOptions(
        host=url.host,
        port=url.port,
        tls=url.tls,
        username=url.username,
        password=password,
        ca_file=ca_file,
        prefix=prefix,
        commands=args.mqtt_commands,
        discovery_prefix=discovery,
        live=args.mqtt_live,
    )
