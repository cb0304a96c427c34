"""Attribute values as they are stored: a type name and a text that round-trips exactly.

Secure values are encrypted after encoding, so the type column stays readable while the
value column holds only ciphertext.
"""

from __future__ import annotations

from ..secrets import KeyRing, is_secure
from .models import AttributeValue


def type_of(value: AttributeValue) -> str:
    # bool first: it is a subclass of int.
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


def encode(value: AttributeValue) -> tuple[str, str]:
    """(type, text) for a value already checked by `validate.check_value`."""
    kind = type_of(value)
    if kind == "bool":
        return kind, "true" if value else "false"
    if kind == "float":
        # repr is the shortest text that reads back as the same float (also -0.0).
        return kind, repr(value)
    return kind, str(value)


def decode(kind: str, text: str) -> AttributeValue:
    if kind == "bool":
        return text == "true"
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    return text


def seal(keyring: KeyRing, name: str, text: str) -> str:
    """The text to store for attribute `name`: encrypted if the name is secure."""
    return keyring.encrypt(text) if is_secure(name) else text


def unseal(keyring: KeyRing, name: str, text: str) -> str:
    return keyring.decrypt(text) if is_secure(name) else text


def history_point(name: str, value: AttributeValue) -> float | None:
    """The chart value of `value`, or None if it does not belong in history."""
    if isinstance(value, bool) or not isinstance(value, int | float) or is_secure(name):
        return None
    return float(value)
