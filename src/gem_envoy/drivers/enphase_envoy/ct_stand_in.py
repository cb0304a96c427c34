"""Where the CTs' readings stand in for `/production.json` on a metered plant (see
poller.py for the paces): what the current cycle read, whether the readings can give the
power this cycle, and the anchors of the counters they move on (counter_advance.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from gem_envoy.drivers.enphase_envoy.counter_advance import CounterAdvance
from gem_envoy.drivers.enphase_envoy.ct_readings import (
    CtReadings,
    covers,
    energy_counters,
    power_attributes,
)
from gem_envoy.drivers.enphase_envoy.derive import Readings, device_attributes
from gem_envoy.drivers.enphase_envoy.values import Attributes
from gem_envoy.envoy.models import ProductionReport


@dataclass(slots=True)
class CtStandIn:
    """Where the CTs' readings stand in for `/production.json`: what this cycle read, the
    readings that give the power (`serving`, None where they cannot) and that power, and
    the counters' anchors."""

    advance: CounterAdvance = field(default_factory=CounterAdvance)
    serving: CtReadings | None = None
    power: Attributes = field(default_factory=dict)  # power_attributes(serving)
    report_day: date | None = None  # the gateway's local day the last report was read on
    fresh_report: bool = False  # this cycle read /production.json
    fresh_readings: bool = False  # this cycle read /ivp/meters/readings
    skipped: bool = False  # this cycle left /production.json to the readings
    readings_failed: bool = False  # the last read of the readings gave none
    # The readings lack a power attribute the report gives: they cannot stand in (looked
    # at again when the poller reconnects, hourly).
    uncovered: bool = False
    _report: ProductionReport | None = None
    _report_attributes: Attributes | None = None  # derived when first needed

    @property
    def may_stand_in(self) -> bool:
        """Whether the readings are worth reading every cycle to stand in for the report."""
        return not self.readings_failed and not self.uncovered

    def read_report(self, report: ProductionReport, day: date) -> None:
        self._report, self._report_attributes = report, None
        self.report_day, self.fresh_report = day, True

    @property
    def report(self) -> Attributes:
        """The last report's attributes (derived once a report, and only on a plant whose
        readings could stand in for it)."""
        if self._report_attributes is None:
            self._report_attributes = device_attributes(Readings(production=self._report))
        return self._report_attributes

    def decide(self, ct: CtReadings | None, live: bool) -> None:
        current = self.fresh_readings or live  # a live feed has the power meanwhile
        self.power = power_attributes(ct) if ct is not None and current else {}
        # An active AC battery's figures are only in the report: it stays every cycle there.
        usable = ct is not None and current and covers(self.power, self.report)
        usable = usable and "battery_now_w" not in self.report
        if ct is not None and current and not usable:
            self.uncovered = True
        self.serving = ct if usable and not self.uncovered else None
        if self.fresh_report:  # the anchors: the report and the readings right after it
            if self.serving is not None and self.fresh_readings and self.report_day:
                self.advance.anchor(self.report, energy_counters(self.serving), self.report_day)
            else:
                self.advance.forget()
