"""What every verb of `gem-envoy` parses: secrets from files, NAME=VALUE pairs, HOST:PORT.

Errors are `UsageError`, whose message says what to type instead; `main` prints it as one
line and exits with status 2.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from gem_envoy.host.contract import DriverRegistry
from gem_envoy.host.redact import LOG_SCRUBBER, secret_texts
from gem_envoy.host.types import AttributeValue

TOKEN_ENV = "GEM_ENVOY_TOKEN"


class UsageError(Exception):
    """A command line that cannot be acted on; the message says why."""


def read_secret_file(path: str, what: str) -> str:
    """The stripped text of a file holding a secret (never taken from argv)."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not readable text"
        raise UsageError(f"cannot read {what} from {path}: {reason}") from None
    if not text:
        raise UsageError(f"{what} file {path} is empty")
    return text


def read_token(token_file: str | None) -> str:
    """The gateway token from `--token-file`, else from $GEM_ENVOY_TOKEN. From here on it
    is masked in every log line and error this process prints."""
    if token_file:
        token = read_secret_file(token_file, "token")
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(f"no token: give --token-file FILE or set {TOKEN_ENV}")
    LOG_SCRUBBER.add(secret_texts(token))
    return token


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"--listen must be HOST:PORT, e.g. 127.0.0.1:8080, not {text!r}")
    return host.strip("[]"), int(port)


Typed = Callable[[str, str], AttributeValue]  # (name, text) -> value


def parse_pairs(pairs: Sequence[str], typed: Typed | None = None) -> dict[str, AttributeValue]:
    """NAME=VALUE pairs (NAME=@FILE reads a secret from a file, keeping it out of argv and
    shell history). `typed` turns a text into the value its name wants; else it stays text."""
    values: dict[str, AttributeValue] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"arguments are NAME=VALUE (or NAME=@FILE), not {pair!r}")
        if text.startswith("@"):
            values[name] = read_secret_file(text[1:], name)
        else:
            values[name] = typed(name, text) if typed else text
    return values


def typed_by_driver(drivers: DriverRegistry, driver: str) -> Typed:
    """Typing by the driver's attribute table: an int attribute wants a whole number."""
    driver_class = drivers.get(driver)
    kinds: Mapping[str, str] = {}
    if driver_class is not None:
        meta = driver_class.metadata()
        kinds = {s.name: s.type for s in (*meta.required, *meta.optional)}

    def typed(name: str, text: str) -> AttributeValue:
        kind = kinds.get(name, "str")
        try:
            if kind == "int":
                return int(text)
            if kind == "float":
                return float(text)
        except ValueError:
            wanted = "a whole number" if kind == "int" else "a number"
            raise UsageError(f"{name} must be {wanted}, not {text!r}") from None
        return text

    return typed
