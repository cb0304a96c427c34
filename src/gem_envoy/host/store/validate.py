"""Input checks, run before anything reaches the writer so bad input changes nothing."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence

from ..api_keys import KEY_ROLES
from ..users import ROLES
from .models import TARGET_TYPES, AttributeValue, TargetType, ValidationError

MAX_NAME = 100
MAX_TEXT = 64 * 1024
MAX_PASSWORD = 1024
# Long enough that guessing, slowed as sign-ins are, gets nowhere; short enough to type.
MIN_PASSWORD = 12
_DIGEST = re.compile(r"[0-9a-f]{64}")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_DIGITS = re.compile(r"[0-9]+")
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def check_name(what: str, name: object) -> str:
    """A device, zone, user, driver or command name: 1-100 printable chars, not padded."""
    if not isinstance(name, str):
        raise ValidationError(f"{what} must be a string, not {type(name).__name__}")
    if not name:
        raise ValidationError(f"{what} must not be empty")
    if len(name) > MAX_NAME:
        raise ValidationError(f"{what} is longer than {MAX_NAME} characters")
    if name != name.strip():
        raise ValidationError(f"{what} {name!r} must not start or end with spaces")
    _check_printable(what, name)
    return name


def check_device_name(name: object) -> str:
    checked = check_name("device name", name)
    # get_device("12") means the device with id 12, so "12" could never be found by name.
    if _DIGITS.fullmatch(checked):
        raise ValidationError(f"device name {checked!r} must not be only digits")
    return checked


def check_text(what: str, text: object, limit: int = MAX_NAME) -> str:
    """A free text that may be empty (labels, addresses, notes)."""
    if not isinstance(text, str):
        raise ValidationError(f"{what} must be a string, not {type(text).__name__}")
    if len(text) > limit:
        raise ValidationError(f"{what} is longer than {limit} characters")
    _check_printable(what, text)
    return text


def check_id(what: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{what} must be an integer id, not {value!r}")
    if not _INT_MIN <= value <= _INT_MAX:
        raise ValidationError(f"{what} {value} is out of range")
    return value


def check_flag(what: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{what} must be true or false, not {value!r}")
    return value


def check_target_type(value: object) -> TargetType:
    for target in TARGET_TYPES:
        if value == target:
            return target
    raise ValidationError(f"target type must be 'device' or 'zone', not {value!r}")


def check_attribute_name(name: object) -> str:
    if not isinstance(name, str) or not _ATTRIBUTE_NAME.fullmatch(name):
        raise ValidationError(
            f"attribute name {name!r} must be a letter or _ followed by up to 63 letters, "
            f"digits or _"
        )
    return name


def check_value(name: str, value: object) -> AttributeValue:
    if isinstance(value, bool | str):
        if isinstance(value, str):
            _check_storable(f"attribute {name!r}", value, MAX_TEXT)
        return value
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise ValidationError(f"attribute {name!r}: {value} does not fit in 64 bits")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"attribute {name!r}: {value} is not a finite number")
        return value
    raise ValidationError(
        f"attribute {name!r}: a value must be a bool, int, float or str, not {type(value).__name__}"
    )


def check_values(values: object, *, allow_none: bool) -> dict[str, AttributeValue | None]:
    if not isinstance(values, Mapping):
        raise ValidationError("attributes must be a mapping of name to value")
    checked: dict[str, AttributeValue | None] = {}
    for name, value in values.items():
        key = check_attribute_name(name)
        if value is None and allow_none:
            checked[key] = None
        else:
            checked[key] = check_value(key, value)
    return checked


def check_setting_value(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"setting {key!r} must be a string, not {type(value).__name__}")
    _check_storable(f"setting {key!r}", value, MAX_TEXT)
    return value


def check_role(role: object) -> str:
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    assert isinstance(role, str)
    return role


def check_key_role(role: object) -> str:
    if role not in KEY_ROLES:
        raise ValidationError(f"an API key's role is one of {', '.join(KEY_ROLES)}, not {role!r}")
    assert isinstance(role, str)
    return role


def check_digest(digest: object) -> str:
    """A SHA-256 digest in lowercase hex, as keys are stored."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise ValidationError("a key digest must be 64 lowercase hex digits")
    return digest


def check_password(password: object) -> str:
    if not isinstance(password, str):
        raise ValidationError("password must be a string")
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"password must be at least {MIN_PASSWORD} characters long")
    _check_storable("password", password, MAX_PASSWORD)
    return password


def check_commands(
    commands: object,
) -> list[tuple[str, list[str], str]]:
    if not isinstance(commands, Sequence) or isinstance(commands, str):
        raise ValidationError("commands must be a list of (name, args, notes)")
    checked: list[tuple[str, list[str], str]] = []
    for entry in commands:
        if not isinstance(entry, Sequence) or isinstance(entry, str) or len(entry) != 3:
            raise ValidationError(f"command {entry!r} must be (name, args, notes)")
        name, args, notes = entry
        if not isinstance(args, Sequence) or isinstance(args, str):
            raise ValidationError(f"command {name!r}: args must be a list of strings")
        arg_names = [check_name(f"argument of command {name!r}", arg) for arg in args]
        checked.append(
            (check_name("command name", name), arg_names, check_text("notes", notes, MAX_TEXT))
        )
    names = [name for name, _, _ in checked]
    if len(set(names)) != len(names):
        raise ValidationError("command names must be unique")
    return checked


def _check_printable(what: str, text: str) -> None:
    for char in text:
        # Cc: control characters; Cs: lone surrogates, which UTF-8 cannot store.
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise ValidationError(f"{what} must not contain control characters ({char!r})")


def _check_storable(what: str, text: str, limit: int) -> None:
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValidationError(f"{what} is not valid Unicode text") from None
    if size > limit:
        raise ValidationError(f"{what} is longer than {limit} bytes")


def check_time(what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{what} must be a timestamp in seconds, not {value!r}")
    if not math.isfinite(value):
        raise ValidationError(f"{what} must be a finite timestamp")
    return float(value)
