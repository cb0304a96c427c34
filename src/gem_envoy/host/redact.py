"""Keeping secrets out of responses that carry text we did not write ourselves.

Error messages and command results come from the store, drivers and libraries, and any of
them might quote a device's token (a URL with it in the query, an echoed request). Before
such text is sent, every known secret value in it is replaced by the mask.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from gem_envoy.host.contract import Json
from gem_envoy.host.secrets import MASK, is_secure
from gem_envoy.host.store import Attribute, StoreError

# Shorter values are not searched for: masking every "1" in a result would garble it, and
# a secret that short is no secret.
MIN_SECRET_LEN = 4


def secret_values(values: Mapping[str, object]) -> set[str]:
    """The texts of the secure entries of a name -> value mapping."""
    return {
        text
        for name, value in values.items()
        if is_secure(name) and len(text := str(value)) >= MIN_SECRET_LEN
    }


def stored_secrets(attributes: Mapping[str, Attribute]) -> set[str]:
    """Current and previous values of the secure attributes of one device or zone."""
    found: set[str] = set()
    for attribute in attributes.values():
        if attribute.secure:
            for value in (attribute.value, attribute.previous):
                if value is not None and len(str(value)) >= MIN_SECRET_LEN:
                    found.add(str(value))
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
