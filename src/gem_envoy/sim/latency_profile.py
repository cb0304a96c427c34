"""How long a real IQ Gateway takes to answer each endpoint: the `field` latency profile.

Every number the profile uses is here, named. Public field reports give ranges, not
distributions (docs/performance.md, "The field latency profile", lists them with their
sources): the native endpoints answer in 0.17-0.5 s; `/production.json`, a CGI script, in
0.5-20 s, slowest under load and with `?details=1`. The shapes inside those ranges (a
log-normal with the medians and spreads below, clipped to the reported range) are our
estimates, chosen so that one `/production.json` costs the gateway about ten native reads,
as the issue puts it.

A draw is the gateway's service time for one request: the simulator sleeps it (scaled, see
`SimOptions.latency_scale`) while holding the gateway-wide lock, since the box serves one
request at a time, and adds it to its busy time (`SimStats`). The draws come from one
seeded generator per simulator, so a run that sends the same requests in the same order
draws the same times.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

PROFILES = ("none", "field")

# Reported: native endpoints (Enphase's own services) answer in 0.17-0.5 s.
NATIVE_MIN_S = 0.17
NATIVE_MAX_S = 0.5
# Estimate: most native answers come near the fast end; a log-normal of this median and
# spread puts 90 % of them under 0.35 s.
NATIVE_MEDIAN_S = 0.25
NATIVE_SIGMA = 0.25

# Reported: /production.json (a CGI script) answers in 0.5-20 s.
CGI_MIN_S = 0.5
CGI_MAX_S = 20.0
# Estimate: a median of 1.5 s with a long tail (sigma 1.0: mean about 2.4 s, 1 % over 15 s),
# so that one read costs about ten native ones.
CGI_MEDIAN_S = 1.5
CGI_SIGMA = 1.0
# Estimate: `?details=1` (per-phase lines) makes the script do more; reported as worse, not
# by how much. We take half as long again.
CGI_DETAILS_FACTOR = 1.5

# The paths served by the CGI script; every other gateway path is native.
CGI_PATHS = frozenset({"/production.json"})


@dataclass(frozen=True, slots=True)
class Spread:
    """A log-normal service time, clipped to the reported range."""

    median_s: float
    sigma: float
    min_s: float
    max_s: float

    def draw(self, rng: random.Random) -> float:
        value = self.median_s * math.exp(rng.gauss(0.0, self.sigma))
        return min(self.max_s, max(self.min_s, value))

    def mean_s(self) -> float:
        """The expected draw (the clipped log-normal's mean, in closed form): what a
        request costs the gateway on average, free of any one seed's luck."""
        mu, sigma = math.log(self.median_s), self.sigma

        def below(x: float, shift: float = 0.0) -> float:  # P(ln X - shift < ln x)
            return 0.5 * (1.0 + math.erf((math.log(x) - mu - shift) / (sigma * math.sqrt(2))))

        inside = math.exp(mu + sigma**2 / 2) * (
            below(self.max_s, sigma**2) - below(self.min_s, sigma**2)
        )
        return self.min_s * below(self.min_s) + self.max_s * (1 - below(self.max_s)) + inside


NATIVE = Spread(NATIVE_MEDIAN_S, NATIVE_SIGMA, NATIVE_MIN_S, NATIVE_MAX_S)
CGI = Spread(CGI_MEDIAN_S, CGI_SIGMA, CGI_MIN_S, CGI_MAX_S)
CGI_DETAILS = Spread(CGI_MEDIAN_S * CGI_DETAILS_FACTOR, CGI_SIGMA, CGI_MIN_S, CGI_MAX_S)


def spread_for(path: str, query: str) -> Spread:
    """The distribution a request for `path` (with `query`, without the `?`) is drawn from."""
    if path in CGI_PATHS:
        return CGI_DETAILS if "details=1" in query else CGI
    return NATIVE


class FieldLatency:
    """Service times drawn for one simulated gateway."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)

    def service_s(self, path: str, query: str = "") -> float:
        return spread_for(path, query).draw(self._rng)
