"""The drivers this build of the host can run, by the name a device's `driver` column uses."""

from gem_envoy.drivers.enphase_envoy.driver import EnphaseEnvoyDriver
from gem_envoy.host.contract import Driver

DRIVERS: dict[str, type[Driver]] = {EnphaseEnvoyDriver.name: EnphaseEnvoyDriver}
