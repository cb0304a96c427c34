"""What the simulator counts: ``GET /__sim/stats`` serves it, ``POST /__sim/stats/reset`` zeroes it.

The JSON document::

    {
      "requests": {"/production.json": 3, "/production.json?details=1": 1, ...},
      "requests_total": 4,
      "by_method": {"GET": {"/production.json": 3, ...}, "PUT": {"/admin/lib/tariff": 1}},
      "tls_handshakes": 1,
      "check_jwt": 1,
      "bytes_sent": 5120,
      "max_in_flight": 1,
      "in_flight": 0,
      "connections_open": 1,
      "faults_applied": 0,
      "paths": {"/production.json": {"requests": 4, "bytes": 5120, "busy_s": 9.3}, ...},
      "busy_s": 9.3,
      "streams_open": 0,
      "max_streams_open": 0
    }

- ``requests`` counts gateway requests by request target (path plus ``?query`` when there is
  one), whatever their answer (401, 403 and 404 included); ``requests_total`` is their sum.
  ``by_method`` counts the same requests by method first, so that a test tells a write (PUT)
  from the reads of the same path.
- ``tls_handshakes`` counts completed TLS handshakes, one per connection. A connection opened
  only to talk to ``/__sim/*`` counts too: ask for stats over a connection that is already open
  (or subtract one) when a test counts handshakes.
- ``check_jwt`` counts every ``GET /auth/check_jwt``, valid token or not: each costs the gateway.
- ``bytes_sent`` counts body bytes of gateway answers (headers and TLS overhead excluded),
  as they are written: a ``/stream/meter`` stream adds its bytes while it lasts.
- ``paths`` counts the same requests and bytes by path (the query left out), every method
  together: ``{"/stream/meter": {"requests": 1, "bytes": 48213}, ...}``.
- ``busy_s`` is the gateway's busy time: the sum of the service times of its requests under
  the field latency profile (`latency_profile`; 0 without it), per path in ``paths`` and in
  total, in the profile's seconds (not scaled by ``latency_scale``). A ``/stream/meter``
  stream counts only its opening: on the real box another process pushes it, and it does
  not hold the gateway's one-request-at-a-time lock while it lasts.
- ``streams_open`` is the number of ``/stream/meter`` streams being sent now (from their
  headers until the client hangs up or the stream breaks); ``max_streams_open`` the largest
  it has been, so that a test shows a client never holds two at once.
- ``max_in_flight`` is the largest number of gateway requests being handled at the same moment,
  across all connections (from the moment a request is read in full until its answer is
  written); ``in_flight`` is that number now.
- ``connections_open`` is the number of TCP connections open now.
- ``faults_applied`` counts the requests a fault hit (see `faults`): the connections, for
  ``tls``; each outage once, for ``refused`` and ``reboot``. Requests answered by a fault
  count in ``requests`` like any other gateway request.

``cloud`` is the simulated cloud's URL, present only when the simulator serves one (its own
counters are at ``GET /__sim/cloud``).

``/__sim/*`` requests are never counted in ``requests``, ``requests_total``, ``bytes_sent`` or
the in-flight figures. A reset zeroes the counters and ``max_in_flight`` (which restarts from the
requests in flight at that moment, as ``max_streams_open`` from the streams open); the gauges
``in_flight``, ``connections_open`` and ``streams_open`` keep their values.
"""

from __future__ import annotations

from collections import Counter
from typing import Any


class SimStats:
    """Counters of one simulator instance."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.by_method: dict[str, Counter[str]] = {}
        self.tls_handshakes = 0
        self.check_jwt = 0
        self.bytes_sent = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.connections_open = 0
        self.faults_applied = 0
        self.path_requests: Counter[str] = Counter()
        self.path_bytes: Counter[str] = Counter()
        self.path_busy_s: dict[str, float] = {}
        self.streams_open = 0
        self.max_streams_open = 0
        self.cloud: str | None = None

    def request_started(self, target: str, method: str = "GET") -> None:
        self.requests[target] += 1
        self.by_method.setdefault(method, Counter())[target] += 1
        self.path_requests[target.partition("?")[0]] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def request_finished(self) -> None:
        self.in_flight -= 1

    def body_sent(self, path: str, size: int) -> None:
        """``size`` bytes of the answer to a request for ``path`` were written."""
        self.bytes_sent += size
        self.path_bytes[path] += size

    def busy(self, path: str, service_s: float) -> None:
        """The gateway spent ``service_s`` (profile seconds) answering a request for ``path``."""
        self.path_busy_s[path] = self.path_busy_s.get(path, 0.0) + service_s

    def stream_opened(self) -> None:
        self.streams_open += 1
        self.max_streams_open = max(self.max_streams_open, self.streams_open)

    def stream_closed(self) -> None:
        self.streams_open -= 1

    def reset(self) -> None:
        self.requests.clear()
        self.by_method.clear()
        self.tls_handshakes = 0
        self.check_jwt = 0
        self.bytes_sent = 0
        self.faults_applied = 0
        self.path_requests.clear()
        self.path_bytes.clear()
        self.path_busy_s.clear()
        self.max_in_flight = self.in_flight
        self.max_streams_open = self.streams_open

    def as_json(self) -> dict[str, Any]:
        cloud = {} if self.cloud is None else {"cloud": self.cloud}
        return cloud | {
            "requests": dict(self.requests),
            "requests_total": sum(self.requests.values()),
            "by_method": {method: dict(counts) for method, counts in self.by_method.items()},
            "tls_handshakes": self.tls_handshakes,
            "check_jwt": self.check_jwt,
            "bytes_sent": self.bytes_sent,
            "max_in_flight": self.max_in_flight,
            "in_flight": self.in_flight,
            "connections_open": self.connections_open,
            "faults_applied": self.faults_applied,
            "paths": {
                path: {
                    "requests": self.path_requests[path],
                    "bytes": self.path_bytes[path],
                    "busy_s": round(self.path_busy_s.get(path, 0.0), 6),
                }
                for path in sorted(self.path_requests.keys() | self.path_bytes.keys())
            },
            "busy_s": round(sum(self.path_busy_s.values()), 6),
            "streams_open": self.streams_open,
            "max_streams_open": self.max_streams_open,
        }
