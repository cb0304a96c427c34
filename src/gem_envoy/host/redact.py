"""Keeping secrets out of text we did not write ourselves.

Error messages, gateway answers and command results come from the store, drivers, devices
and libraries, and any of them might quote a device's token (a URL with it in the query, an
echoed request, a hostile device that answers at the gateway's address). Before such text
is stored, logged or sent, every known secret value in it is replaced by the mask.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from gem_envoy.host.contract import Json
from gem_envoy.host.secrets import MASK, is_secure
from gem_envoy.host.store import Attribute, StoreError

# Shorter values are not searched for: masking every "1" in a result would garble it, and
# a secret that short is no secret.
MIN_SECRET_LEN = 4
# A token's dot-separated parts this long are secrets of their own: text that quotes only
# the signature (or a cut-off token) still gives nothing away.
MIN_PART_LEN = 16


def secret_texts(value: object) -> set[str]:
    """`value` as text, with the long parts of a dotted token (a JWT) beside it."""
    text = str(value).strip()
    if len(text) < MIN_SECRET_LEN:
        return set()
    parts = {part for part in text.split(".") if len(part) >= MIN_PART_LEN}
    return {text, *parts}


def secret_values(values: Mapping[str, object]) -> set[str]:
    """The texts of the secure entries of a name -> value mapping."""
    found: set[str] = set()
    for name, value in values.items():
        if is_secure(name):
            found |= secret_texts(value)
    return found


def stored_secrets(attributes: Mapping[str, Attribute]) -> set[str]:
    """Current and previous values of the secure attributes of one device or zone."""
    found: set[str] = set()
    for attribute in attributes.values():
        if attribute.secure:
            for value in (attribute.value, attribute.previous):
                if value is not None:
                    found |= secret_texts(value)
    return found


def redact_text(text: str, secrets: Iterable[str]) -> str:
    # Longest first, so a secret that contains another is replaced whole.
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def redact(value: Json, secrets: Iterable[str]) -> Json:
    """`value` (JSON-like) with every secret replaced, in keys and strings at any depth."""
    known = sorted(set(secrets), key=len, reverse=True)
    if not known:
        return value
    return _walk(value, known)


def _walk(value: Json, secrets: list[str]) -> Json:
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, Mapping):
        return {redact_text(str(k), secrets): _walk(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(item, secrets) for item in value]
    return value


@contextmanager
def scrubbed_errors(secrets: Iterable[str]) -> Iterator[None]:
    """Store errors raised inside, with any of `secrets` masked out of their message."""
    try:
        yield
    except StoreError as exc:
        message = redact_text(str(exc), secrets)
        if message == str(exc):
            raise
        raise type(exc)(message) from None


class LogScrubber:
    """Masks every known secret in every log record of this process, its traceback included.

    It wraps the log record factory rather than a handler, so records are clean whichever
    handler (a file, the console, a test's capture) receives them. The host adds each
    device's secrets as it starts or reconfigures the device; the command line adds the
    token it was given."""

    def __init__(self) -> None:
        self._secrets: frozenset[str] = frozenset()
        self._lock = threading.Lock()  # records are made on database threads too
        self._installed = False

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            self._secrets = self._secrets | frozenset(secrets)
        self.install()

    def redact(self, text: str) -> str:
        return redact_text(text, self._secrets)

    def install(self) -> None:
        with self._lock:
            if self._installed:
                return
            self._installed = True
            make = logging.getLogRecordFactory()

        def scrubbed(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make(*args, **kwargs)
            self._scrub(record)
            return record

        logging.setLogRecordFactory(scrubbed)

    def _scrub(self, record: logging.LogRecord) -> None:
        secrets = self._secrets
        if not secrets:
            return
        try:
            message = record.getMessage()
        except Exception:  # a malformed call; logging reports it itself later
            return
        cleaned = redact_text(message, secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            trace = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact_text(trace, secrets)


LOG_SCRUBBER = LogScrubber()
"""The process's one scrubber: a secret added anywhere is masked in every log line."""
