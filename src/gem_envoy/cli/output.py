"""How the verbs print: JSON on stdout, secrets masked."""

from __future__ import annotations

import json
from collections.abc import Mapping

from gem_envoy.host.secrets import is_secure, mask


def print_json(value: object) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, default=str))


def shown(values: Mapping[str, object]) -> dict[str, object]:
    """Attributes as a person may see them: secure values masked."""
    return {k: mask(str(v)) if is_secure(k) else v for k, v in values.items()}
