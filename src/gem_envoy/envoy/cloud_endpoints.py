"""Where Enphase's cloud is, and how its certificates are checked: the one place that knows.

The real services are Enlighten (sign-in, and the session's token route) and Entrez (the
token service). Tests point both at the simulator's cloud with `GEM_ENVOY_ENLIGHTEN_URL` and
`GEM_ENVOY_ENTREZ_URL`, and trust its certificate with `GEM_ENVOY_CLOUD_CA` (a PEM bundle).
Every cloud call verifies TLS, against the system's CAs or that bundle: unlike the gateway,
the cloud is sent the account's password.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from gem_envoy.envoy.cloud_errors import CloudRefused

ENLIGHTEN_URL_ENV = "GEM_ENVOY_ENLIGHTEN_URL"
ENTREZ_URL_ENV = "GEM_ENVOY_ENTREZ_URL"
CLOUD_CA_ENV = "GEM_ENVOY_CLOUD_CA"

ENLIGHTEN_URL = "https://enlighten.enphaseenergy.com"
ENTREZ_URL = "https://entrez.enphaseenergy.com"

# The paths of section 4 of the wire formats: flow A (sign-in, then Entrez /tokens) and
# flow B (the signed-in session's own token route on Enlighten).
LOGIN_PATH = "/login/login.json"
TOKENS_PATH = "/tokens"
SESSION_TOKEN_PATH = "/entrez-auth-token"

TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class CloudEndpoints:
    enlighten: str = ENLIGHTEN_URL
    entrez: str = ENTREZ_URL
    ca_file: str | None = None  # None: the system's CAs

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CloudEndpoints:
        """The real cloud, unless the environment points elsewhere (tests do)."""
        env = os.environ if env is None else env
        return cls(
            enlighten=_https(env.get(ENLIGHTEN_URL_ENV) or ENLIGHTEN_URL, ENLIGHTEN_URL_ENV),
            entrez=_https(env.get(ENTREZ_URL_ENV) or ENTREZ_URL, ENTREZ_URL_ENV),
            ca_file=env.get(CLOUD_CA_ENV) or None,
        )

    def tls(self) -> ssl.SSLContext:
        return verified_tls(self.ca_file)


def _https(url: str, name: str) -> str:
    url = url.strip().rstrip("/")
    if urlsplit(url).scheme != "https":
        # The password travels to this address: never in clear.
        raise CloudRefused(f"{name} must be an https:// address, not {url!r}")
    return url


@functools.cache
def verified_tls(ca_file: str | None) -> ssl.SSLContext:
    """A verifying context (hostname included), one per CA bundle."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise CloudRefused(
            f"cannot use the CA bundle {ca_file} ({CLOUD_CA_ENV}): {exc.strerror or exc}"
        ) from None
