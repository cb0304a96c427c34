"""The simulator's cloud (Enlighten and Entrez) for tests: in-process, or beside a
`gem-envoy simulate` process, and the environment that points the client at it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gem_envoy.drivers.enphase_envoy.signin import ACCOUNTS
from gem_envoy.envoy.cloud_endpoints import CLOUD_CA_ENV, ENLIGHTEN_URL_ENV, ENTREZ_URL_ENV
from gem_envoy.sim import SimOptions, SimServer, TokenIssuer, start_simulator
from gem_envoy.sim.cloud import CloudAccount, CloudBehaviour, CloudOptions
from tests.simulator import SimProcess, simulator

EMAIL = "homeowner@example.com"
PASSWORD = "correct horse battery staple"
CLOUD_LINE = re.compile(r"cloud on (https://[\d.]+:\d+)")


def cloud_env(url: str, ca_file: Path) -> dict[str, str]:
    """What points gem-envoy at a simulated cloud instead of Enphase's."""
    return {ENLIGHTEN_URL_ENV: url, ENTREZ_URL_ENV: url, CLOUD_CA_ENV: str(ca_file)}


@dataclass
class InProcessCloud:
    server: SimServer
    ca_file: Path

    @property
    def url(self) -> str:
        assert self.server.cloud is not None
        return self.server.cloud.url

    @property
    def env(self) -> dict[str, str]:
        return cloud_env(self.url, self.ca_file)

    @property
    def state(self) -> dict[str, Any]:
        assert self.server.cloud is not None
        return self.server.cloud.cloud.state()

    def behave(self, **behaviour: object) -> None:
        assert self.server.cloud is not None
        self.server.cloud.cloud.apply(behaviour)


@asynccontextmanager
async def cloud_gateway(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    account: str = f"{EMAIL}:{PASSWORD}",
    issuer: TokenIssuer | None = None,
    **behaviour: Any,
) -> AsyncIterator[InProcessCloud]:
    """A simulated gateway with its cloud, in this process; the environment points at it."""
    options = CloudOptions((CloudAccount.parse(account),), behaviour=CloudBehaviour(**behaviour))
    ACCOUNTS.clear()  # a cloud of an earlier test may have had this address
    server = await start_simulator(SimOptions(inverters=4, cloud=options, issuer=issuer))
    assert server.cloud is not None
    ca_file = tmp_path / f"cloud-ca-{server.cloud.port}.pem"
    ca_file.write_bytes(server.cloud.ca_pem)
    sim = InProcessCloud(server, ca_file)
    for name, value in sim.env.items():
        monkeypatch.setenv(name, value)
    try:
        yield sim
    finally:
        await server.close()


@dataclass
class CloudProcess:
    sim: SimProcess
    url: str
    ca_file: Path

    @property
    def env(self) -> dict[str, str]:
        return cloud_env(self.url, self.ca_file)

    def cloud(self, **behaviour: object) -> dict[str, Any]:
        """`POST /__sim/cloud` with `behaviour` (GET without)."""
        method = "POST" if behaviour else "GET"
        reply = self.sim.control.request(method, self.sim.url + "/__sim/cloud", json=behaviour)
        reply.raise_for_status()
        state = reply.json()
        assert isinstance(state, dict)
        return state


@contextmanager
def cloud_simulator(
    tmp: Path, args: Sequence[str] = (), account: str = f"{EMAIL}:{PASSWORD}"
) -> Iterator[CloudProcess]:
    """`gem-envoy simulate` serving its cloud too, with one account."""
    ca_file = tmp / "cloud-ca.pem"
    extra = ["--cloud-account", account, "--cloud-ca-file", str(ca_file), *args]
    ACCOUNTS.clear()  # a cloud of an earlier test may have had this address
    with simulator(tmp, extra) as sim:
        assert sim.process.stdout is not None
        found = CLOUD_LINE.search(sim.process.stdout.readline())
        assert found, "the simulator did not say where its cloud is"
        yield CloudProcess(sim, found.group(1), ca_file)
