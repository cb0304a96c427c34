"""The enphase_envoy driver: an IQ Gateway as a GEM device, one zone per microinverter."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from gem_envoy.drivers.enphase_envoy import commands as table
from gem_envoy.drivers.enphase_envoy import storage
from gem_envoy.drivers.enphase_envoy.attributes import RUNTIME, TELEMETRY, ZONE
from gem_envoy.drivers.enphase_envoy.counter_advance import zone_day, zone_day_of
from gem_envoy.drivers.enphase_envoy.counters import CounterGuard
from gem_envoy.drivers.enphase_envoy.derive import Attributes, not_listed, token_attributes
from gem_envoy.drivers.enphase_envoy.identity import IdentityGuard, IdentityRefused
from gem_envoy.drivers.enphase_envoy.lan import AddressFollower, candidates
from gem_envoy.drivers.enphase_envoy.live_choice import GatewayTraits
from gem_envoy.drivers.enphase_envoy.live_feed import LiveFeed, SinkReporter
from gem_envoy.drivers.enphase_envoy.poller import CycleResult, GatewayPoller
from gem_envoy.drivers.enphase_envoy.renewal import shown
from gem_envoy.drivers.enphase_envoy.settings import (
    OPTIONAL,
    REQUIRED,
    EnvoySettings,
    SettingsError,
    check_user_attributes,
)
from gem_envoy.drivers.enphase_envoy.tokens import TokenKeeper
from gem_envoy.envoy.certificate import CertificateChanged
from gem_envoy.envoy.certificate import shown as shown_fingerprint
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.errors import AuthRejected, EnvoyError, NotPermitted, UnsupportedFirmware
from gem_envoy.envoy.token import InvalidToken, read_claims
from gem_envoy.host.contract import (
    AttributeValue,
    CommandRefused,
    CommandSpec,
    DeviceConfig,
    DeviceError,
    Discovered,
    Driver,
    DriverMetadata,
    DriverPage,
    DriverWeb,
    Json,
    Sink,
    ZoneConfig,
)

log = logging.getLogger(__name__)

# Failures that only a person can fix (a new token, a firmware upgrade, a setting).
PERMANENT_FAILURES = (AuthRejected, NotPermitted, UnsupportedFirmware, InvalidToken)


@contextmanager
def device_errors() -> Iterator[None]:
    """The gateway client's errors, as the host contract's DeviceError (same wording)."""
    try:
        yield
    except CertificateChanged:
        raise  # not a failure to report yet: the driver first checks who answers (identity.py)
    except EnvoyError as exc:
        raise DeviceError(exc.message, permanent=isinstance(exc, PERMANENT_FAILURES)) from exc
    except SettingsError as exc:  # a setting only a person can fix
        raise DeviceError(str(exc), permanent=True) from exc


class EnphaseEnvoyDriver(Driver):
    name = "enphase_envoy"

    def __init__(self, config: DeviceConfig, sink: Sink) -> None:
        super().__init__(config, sink)
        with device_errors():
            self.settings = EnvoySettings.from_attributes(config.attributes)
        self._client: EnvoyClient | None = None
        self._poller: GatewayPoller | None = None
        self._tokens = TokenKeeper(self.settings.token or None, self.settings.credentials)
        self._guard = IdentityGuard(self.settings, config.name)
        # Battery settings: their writes, one at a time, and the watch after a write.
        self._storage = storage.StorageControl(config.name)
        self._follower = AddressFollower()  # a gateway that stops answering, found by serial
        self._pinning = False  # whether the client checks the certificate (not on captures)
        # Whether who answers was checked and /info read since the client was made; not
        # while a changed certificate waits for accept_certificate.
        self._gateway_open = False
        # The token whose type and expiry were last reported: they describe the token that
        # is set, reported before the gateway is asked anything (it may refuse the token).
        self._token_reported: str | None = None
        self._warning_reported: str | None = None
        self._renewal_logged: str | None = None
        # Telemetry the last cycle reported (device, then per zone): what a later cycle no
        # longer has is reported absent, not left showing a stale value.
        self._shown = frozenset(n for n in TELEMETRY if n in config.attributes)
        self._zones_shown: dict[int, frozenset[str]] = {}
        self._counters = CounterGuard(day_of=zone_day_of(self._time_zone()))
        self._counters.seed(config.attributes)
        # The power flow between polls (live_feed.py); made with the client, started after
        # the first poll tells what the gateway offers, when the `live` setting allows, and
        # running while someone watches the device (`set_watched`) or `live_when` is always.
        self._live: LiveFeed | None = None
        self._watched = False

    @classmethod
    def metadata(cls) -> DriverMetadata:
        return DriverMetadata(
            device_type="solar_gateway",
            required=REQUIRED,
            optional=OPTIONAL,
            runtime=RUNTIME,
            zone=ZONE,
            sample_config={"ip": "192.168.1.50", "token": "<JWT from Entrez>"},
        )

    @classmethod
    def commands(cls) -> tuple[CommandSpec, ...]:
        return table.COMMANDS

    @classmethod
    def zone_address_warning(
        cls, address: str, device_attributes: Mapping[str, AttributeValue]
    ) -> str | None:
        listed = device_attributes.get("inverter_serials")
        if not isinstance(listed, str) or address in listed.split(","):
            return None  # no list known yet: the next list tells (the zone's last_error)
        return not_listed(address)

    @classmethod
    def web(cls) -> DriverWeb | None:
        # The solar pages, as ES modules in web/; they import the host page's generic
        # helpers (/js/dom.js, /js/state.js...) and bring their own stylesheet.
        pages = (
            DriverPage("overview", "Overview", "overview.js"),
            DriverPage("inverters", "Inverters", "inverters.js"),
            DriverPage("charts", "Charts", "history.js"),
            DriverPage("energy", "Energy", "energy.js"),
        )
        return DriverWeb(Path(__file__).parent / "web", pages)

    @classmethod
    def check_attributes(cls, values: Mapping[str, AttributeValue]) -> None:
        check_user_attributes(values)
        if isinstance(values.get("token"), str):
            try:  # a paste error is caught before it is stored
                read_claims(str(values["token"]))
            except InvalidToken as exc:
                raise SettingsError(exc.message) from None

    def poll_interval_s(self) -> float:
        return self.settings.polling_interval_ms / 1000.0

    # -- lifecycle --------------------------------------------------------------------------

    @classmethod
    async def discover(cls, timeout_s: float) -> tuple[Discovered, ...]:
        return await candidates(timeout_s)

    async def connect(self) -> None:
        try:
            await self._connect_here()
        except DeviceError as failed:
            if not await self._follow_move(failed):
                raise

    async def _connect_here(self) -> None:
        if self._poller is None:  # a retried connect reuses its client and connection
            self._client = self._open_client()
            self._poller = GatewayPoller(
                self._client,
                zones=self._zone_addresses(),
                storage=self._storage,
                today=self._gateway_day(),
            )
            self._live = LiveFeed(
                self._client,
                SinkReporter(self.sink, self.poll_interval_s, self._counters.apply),
                name=self.config.name,
                interval_s=self.settings.live_interval_ms / 1000.0,
                wanted=self._live_wanted(),
            )
        self._gateway_open = False
        try:
            await self._open_gateway()
        except IdentityRefused:
            # Connected all the same, so that accept_certificate can reach the driver; each
            # poll checks again and reports the refusal.
            pass
        except CertificateChanged as changed:  # changed again between two connections
            raise DeviceError(changed.message) from None

    async def _open_gateway(self) -> None:
        """Check who answers (before any token goes out), then mint or renew the token,
        and read who the gateway is."""
        assert self._poller is not None
        if self._pinning:
            await self._check_identity()
        await self._renew_if_due()
        await self._report_token()
        with device_errors():
            info = await self._poller.connect()
        if self.settings.serial_number != info.serial:
            await self.sink.device_attributes({"serial_number": info.serial})
        self._warn_if_token_for_another_gateway(info.serial)
        self._gateway_open = True

    async def _check_identity(self) -> None:
        assert self._client is not None
        try:
            with device_errors():
                recorded = await self._guard.check(self._client, self._tokens.now())
        except IdentityRefused as refused:
            pending = refused.presented.sha256
            await self.sink.device_attributes({"certificate_pending_sha256": pending})
            raise
        if recorded:
            await self.sink.device_attributes({**recorded, "certificate_pending_sha256": None})

    async def _report_token(self) -> None:
        token = self.settings.token
        if token and token != self._token_reported:
            with device_errors():
                await self.sink.device_attributes(token_attributes(read_claims(token)))
            self._token_reported = token

    async def _report_warning(self) -> None:
        """`token_warning` (and a log line) when it changes; from the first poll on."""
        warning = self._tokens.warning()
        if warning != self._warning_reported:
            if warning is not None:
                log.warning("device %s: %s", self.config.name, warning)
            await self.sink.device_attributes({"token_warning": warning})
            self._warning_reported = warning

    def _open_client(self) -> EnvoyClient:
        """The gateway client, its certificate pinned; tests replace this to serve captures
        from memory (without a certificate to check)."""
        s = self.settings
        timeout_s = s.request_timeout_ms / 1000.0
        from gem_envoy.envoy.transport import HttpsTransport  # httptools: only once connecting

        transport = HttpsTransport(s.ip, s.port, timeout_s=timeout_s, pin=self._guard.pin)
        self._pinning = True
        return EnvoyClient(transport, s.token)

    # -- the token ----------------------------------------------------------------------------

    async def _renew_if_due(self) -> None:
        """Mint a token when there is none, or renew one that expires soon. A failed renewal
        of a token that still works is only warned about (token_warning, the log)."""
        if not self._tokens.needs_token():
            return
        try:
            await self._renew()
        except DeviceError as failed:
            claims = self._tokens.claims()
            if claims is None or claims.expired(self._tokens.now()):
                raise
            if failed.message != self._renewal_logged:  # once per cause, not once per poll
                log.warning("device %s: token renewal failed: %s", self.config.name, failed.message)
                self._renewal_logged = failed.message

    async def _renew(self) -> None:
        """A new token from the cloud, used and stored (encrypted, as `token`) at once."""
        assert self._client is not None and self._poller is not None
        renewing = bool(self.settings.token)
        minted = await self._tokens.mint(await self._serial())
        self.settings = dataclasses.replace(self.settings, token=minted.token)
        self._client.set_token(minted.token)
        self._poller.forget_capabilities()
        if self._live is not None:
            self._live.forget()
        stored = {"token": minted.token, **token_attributes(minted.claims)}
        await self.sink.device_attributes(stored)
        self._token_reported = minted.token
        expires = minted.claims.expires_at
        log.info(
            "device %s: token %s, valid until %s",
            self.config.name,
            "renewed" if renewing else "minted",
            shown(expires) if expires else "(no expiry)",
        )

    async def _serial(self) -> str:
        """The gateway serial to mint for: learnt at connect, else asked of `/info`."""
        assert self._client is not None and self._poller is not None
        if self._poller.info is not None:
            return self._poller.info.serial
        if self.settings.serial_number:
            return self.settings.serial_number
        with device_errors():
            return (await self._client.info()).serial

    async def _cycle(self, poller: GatewayPoller) -> CycleResult:
        """One poll cycle. A token the gateway refuses (401 on a fresh session) is renewed
        once, if the credentials allow and it is not one just minted, and the cycle retried."""
        with device_errors():
            try:
                result = await poller.cycle()
            except AuthRejected as rejected:
                if not self._tokens.may_answer_rejection():
                    raise
                try:
                    await self._renew()
                except DeviceError as failed:
                    raise DeviceError(
                        f"{rejected.message}; minting a new token failed: {failed.message}",
                        permanent=failed.permanent,
                    ) from None
                await self._report_warning()
                result = await poller.cycle()
        self._tokens.proven()
        return result

    # -- polling ------------------------------------------------------------------------------

    async def poll(self) -> None:
        try:
            await self._poll_here()
        except DeviceError as failed:
            if not await self._follow_move(failed):
                raise
            await self._poll_here()

    async def _follow_move(self, failed: DeviceError) -> bool:
        """When the gateway stops answering at its address and announces itself (by its
        serial) at another, connect there and report the new `ip`, which the host stores:
        a later reload then finds the address the driver already uses. False otherwise."""
        serial = self._guard.known.serial or self.settings.serial_number
        if self._poller is not None and self._poller.info is not None:
            serial = self._poller.info.serial
        old = self.settings.ip
        new = await self._follower.new_address(failed, old, serial)
        if new is None:
            return False
        log.warning(
            "device %s: gateway %s stopped answering at %s and announces itself at %s; "
            "using that address (ip updated)",
            self.config.name,
            serial,
            old,
            new,
        )
        await self.disconnect()
        self.settings = dataclasses.replace(self.settings, ip=new)
        self._guard.moved_to(new)
        await self.sink.device_attributes({"ip": new})
        await self._connect_here()
        return True

    async def _poll_here(self) -> None:
        poller = self._require_poller()
        try:
            await self._poll(poller)
        except CertificateChanged:
            # A new connection met another certificate (nothing was sent on it): check who
            # answers now, as at connect, and poll again if it is the gateway.
            self._gateway_open = False
            try:
                await self._poll(poller)
            except CertificateChanged as changed:
                raise DeviceError(changed.message) from None

    async def _poll(self, poller: GatewayPoller) -> None:
        if not self._gateway_open:
            await self._open_gateway()
        await self._renew_if_due()
        await self._report_token()
        await self._report_warning()
        live = self._live.supplies() if self._live is not None else frozenset()
        poller.live = live
        result = await self._cycle(poller)
        # Impossible values are dropped here, not merely overwritten: they are never shown.
        device: dict[str, AttributeValue | None] = dict(self._counters.apply(result.device))
        device.update(dict.fromkeys(self._shown - result.device.keys() - live))  # absent now
        self._shown = frozenset(result.device) | live  # for when the feed stops
        await self.sink.device_attributes(device)
        if result.zones is not None:
            await self._report_zones(result.zones)
        await self._follow_live(poller)

    async def _follow_live(self, poller: GatewayPoller) -> None:
        """Tell the live feed what the poll learned, and run it if the `live` setting
        allows; without it, the poll is the source."""
        if self._live is None or poller.info is None:
            return
        if not self.settings.live:
            await self._live.switch_off()
            return
        claims = self._client.claims if self._client is not None else None
        self._live.observe(
            GatewayTraits(
                metered=poller.metered,
                installer=claims is not None and claims.user_type == "installer",
                has_battery=poller.has_battery,
                firmware=poller.info.firmware,
            )
        )
        self._live.start()

    def set_watched(self, watched: bool) -> None:
        self._watched = watched
        if self._live is not None:
            self._live.want(self._live_wanted())

    def _live_wanted(self) -> bool:
        """Whether the live feed should run: someone watches, or `live_when` is always."""
        return self._watched or self.settings.live_always

    async def disconnect(self) -> None:
        if self._live is not None:
            await self._live.stop()
        if self._client is not None:
            await self._client.close()
        self._client = self._poller = self._live = None

    def reconfigure(self, config: DeviceConfig) -> bool:
        new = EnvoySettings.from_attributes(config.attributes)
        old = self.settings
        reachable_same = (new.ip, new.port, new.request_timeout_ms) == (
            old.ip,
            old.port,
            old.request_timeout_ms,
        )
        if not reachable_same or self._poller is None or self._client is None:
            return False  # a new address or timeout: the host restarts the driver
        if new.certificate_sha256 != self._guard.known.sha256:
            return False  # a person set or cleared the trusted certificate: start afresh
        self.config, self.settings = config, new
        self._tokens.credentials = new.credentials
        if new.credentials != old.credentials:
            self._tokens.failure = None  # new credentials: what failed may work now
        if new.token != old.token and new.token:
            self._tokens.token = new.token
            self._tokens.proven()  # a person chose it: a 401 for it earns one renewal
            self._client.set_token(new.token)
            self._poller.forget_capabilities()
            if self._live is not None:
                self._live.forget()
        if self._live is not None:
            self._live.interval_s = new.live_interval_ms / 1000.0
            self._live.want(self._live_wanted())
        self._poller.set_zones(self._zone_addresses())
        self._poller.today = self._gateway_day()
        self._counters.day_of = zone_day_of(self._time_zone())
        return True

    def _gateway_day(self) -> Callable[[], date]:
        """The day in the plant's `time_zone` (the host's without one): where the gateway's
        today counters start again."""
        return zone_day(self._time_zone())

    def _time_zone(self) -> str | None:
        zone = self.config.attributes.get("time_zone")
        return zone if isinstance(zone, str) else None

    # -- commands -------------------------------------------------------------------------

    async def command(self, action: str, args: Mapping[str, Json], zone: ZoneConfig | None) -> Json:
        text_args = {name: str(value) for name, value in args.items()}
        table.check_arguments(self.command_spec(action), text_args)
        self._require_poller()
        assert self._client is not None  # connected together with the poller
        if action == "accept_certificate":
            return await self._accept_certificate()
        try:
            if not self._gateway_open:
                await self._open_gateway()  # a refused identity is the answer
            with device_errors():
                outcome = await table.run_command(self._client, action, text_args, self._storage)
        except CertificateChanged as changed:
            self._gateway_open = False
            raise DeviceError(changed.message) from None
        if outcome.attributes:
            await self.sink.device_attributes(self._counters.apply(outcome.attributes))
        return outcome.result

    async def _accept_certificate(self) -> Json:
        """An admin trusts the gateway that now answers (its certificate, and its serial)."""
        accepted = self._guard.accept()
        attributes = {**accepted.attributes(), "certificate_pending_sha256": None}
        await self.sink.device_attributes(attributes)
        sha256 = accepted.sha256 or ""
        log.warning(
            "device %s: certificate %s of gateway %s accepted by an admin",
            self.config.name,
            shown_fingerprint(sha256),
            accepted.serial,
        )
        self._gateway_open = False
        answer: dict[str, Json] = {"accepted": shown_fingerprint(sha256), "serial": accepted.serial}
        try:
            await self._open_gateway()
        except (DeviceError, CertificateChanged) as failed:
            return answer | {"connected": False, "error": str(failed)}
        return answer | {"connected": True}

    # -- helpers ------------------------------------------------------------------------------

    def _require_poller(self) -> GatewayPoller:
        if self._poller is None:
            raise CommandRefused("the device is not connected yet; try again after its next poll")
        return self._poller

    def _zone_addresses(self) -> list[str]:
        return [z.address.strip() for z in self.config.zones if z.address.strip()]

    async def _report_zones(self, zones: dict[str, Attributes]) -> None:
        unknown = set(self._poller.unknown_zone_addresses() if self._poller else ())
        for zone in self.config.zones:
            values: dict[str, AttributeValue | None] = dict(zones.get(zone.address.strip(), {}))
            if zone.address.strip() in unknown:
                values["last_error"] = not_listed(zone.address.strip())
            shown = self._zones_shown.get(zone.id, frozenset())
            values.update(dict.fromkeys(shown - values.keys()))  # absent now
            self._zones_shown[zone.id] = frozenset(k for k, v in values.items() if v is not None)
            if values:
                await self.sink.zone_attributes(zone.id, values)

    def _warn_if_token_for_another_gateway(self, serial: str) -> None:
        if not self.settings.token:
            return
        with device_errors():
            audience = read_claims(self.settings.token).audience
        if audience and audience != serial:
            log.warning(
                "device %s: the token was minted for gateway %s, but this gateway is %s; "
                "expect auth rejected (401)",
                self.config.name,
                audience,
                serial,
            )
