"""Child process: pyenphase, used the way its documentation shows.

    envoy = Envoy(host); await envoy.setup(); await envoy.authenticate(token=token)
    await envoy.update()  # every cycle

`host` is "127.0.0.1:PORT": pyenphase builds its URLs as ``https://{host}{endpoint}``. It
makes its own aiohttp session (certificate not verified), as when no client is passed.
"""

from __future__ import annotations

from typing import Any

from pyenphase import Envoy, EnvoyData

from bench.side import run, side_arguments


class PyenphaseSession:
    def __init__(self, host: str, port: int, token: str) -> None:
        self.envoy = Envoy(f"{host}:{port}")
        self.token = token
        self.data: EnvoyData | None = None

    async def connect(self) -> None:
        await self.envoy.setup()
        await self.envoy.authenticate(token=self.token)

    async def cycle(self) -> None:
        self.data = await self.envoy.update()

    async def close(self) -> None:
        await self.envoy.close()

    def sample(self) -> dict[str, Any]:
        data = self.data
        if data is None:
            return {}
        production = data.system_production
        consumption = data.system_consumption
        encharge = data.encharge_aggregate
        return {
            "production_now_w": production.watts_now if production else None,
            "consumption_now_w": consumption.watts_now if consumption else None,
            "battery_soc_percent": encharge.state_of_charge if encharge else None,
            "inverters": len(data.inverters),
        }


def main() -> None:
    args = side_arguments().parse_args()
    token = args.token_file.read_text()
    run(lambda: PyenphaseSession(args.host, args.port, token), args)


if __name__ == "__main__":
    main()
