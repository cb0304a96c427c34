"""gem-envoy's benchmarks (issue 6): `python -m bench`, or `make bench`.

Three sections, each in its own module, each measured in child processes so that CPU time
belongs to one side only:

- `percycle`: one poll cycle of gem-envoy and of pyenphase against the same simulated gateway,
  on three plant shapes (requests, bytes, TLS handshakes, check_jwt calls, CPU per cycle);
- `fleet`: one host process polling many simulated gateways at the 5 s floor (CPU share, RSS
  per device, poll start lag);
- `derive`: parse + attribute derivation alone, cycles per second.

`python -m bench` writes `bench/results/latest.json` and the tables of `docs/performance.md`.
"""
