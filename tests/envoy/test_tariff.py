"""The tariff document and its write: read whole (unknown fields kept), parsed errors that name
the field, and the PUT's own rules (exact bytes, one retry after a lapsed session, the
gateway's words when it refuses)."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from gem_envoy.envoy import parse
from gem_envoy.envoy.client import EnvoyClient, tariff_body
from gem_envoy.envoy.errors import AuthRejected, BadResponse, WriteRefused
from gem_envoy.envoy.transport_protocol import Response
from gem_envoy.sim.capture_transport import CaptureTransport
from tests.captures import capture_transport, captured_body

SPLIT = "8.2.127_with_3cts_and_battery_split"
OLD = "5.0.62"  # a tariff without storage settings


def test_the_tariff_is_kept_whole_and_its_settings_read() -> None:
    body = captured_body(SPLIT, "admin_lib_tariff")
    tariff = parse.parse_tariff(body)
    raw = json.loads(body)
    assert tariff.document == raw["tariff"]
    assert tariff.schedule == raw["schedule"]
    assert tariff.storage is not None
    assert tariff.storage.mode == "self-consumption"
    assert tariff.storage.reserved_soc == 20
    editable = tariff.editable()
    editable["storage_settings"]["mode"] = "backup"  # type: ignore[index]
    assert tariff.document["storage_settings"]["mode"] == "self-consumption"  # type: ignore[index]


def test_a_tariff_without_storage_settings_and_a_null_mode_are_read() -> None:
    body = captured_body(OLD, "admin_lib_tariff")
    assert parse.parse_tariff(body).storage is None
    null_mode = parse.parse_tariff(b'{"tariff": {"storage_settings": {"mode": null}}}')
    assert null_mode.storage is not None and null_mode.storage.mode is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html><body>Envoy</body></html>", "the body is an HTML page"),
        (b'{"schedule": {}}', "tariff is missing"),
        (b'{"tariff": []}', "tariff is a list, expected an object"),
        (b'{"tariff": {"storage_settings": []}}', "tariff.storage_settings is a list"),
        (
            b'{"tariff": {"storage_settings": {"reserved_soc": "20"}}}',
            "tariff.storage_settings.reserved_soc is a string, expected a number",
        ),
        (
            b'{"tariff": {"storage_settings": {"opt_schedules": 1}}}',
            "tariff.storage_settings.opt_schedules is a number, expected a boolean",
        ),
        (b'{"tariff": {}, "schedule": 3}', "schedule is a number, expected an object"),
    ],
)
def test_what_is_not_a_tariff_is_refused_naming_the_field(body: bytes, reason: str) -> None:
    with pytest.raises(BadResponse, match="bad response from /admin/lib/tariff") as refused:
        parse.parse_tariff(body)
    assert reason in refused.value.message


def test_the_body_sent_is_the_tariff_object_under_its_key() -> None:
    tariff = {"currency": {"code": "EUR"}, "storage_settings": {"reserved_soc": 20}}
    assert json.loads(tariff_body(tariff)) == {"tariff": tariff}
    with pytest.raises(ValueError):
        tariff_body({"rate": float("nan")})


class LapsedOnce(CaptureTransport):
    """Answers the first PUT 401, as a gateway whose session lapsed between read and write."""

    lapsed = False

    async def put(self, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        if not self.lapsed:
            self.lapsed = True
            self.stats.request_started(path, "PUT")
            return Response(401, b"", "text/html", ())
        return await super().put(path, headers, body)


async def test_a_write_on_a_lapsed_session_is_sent_once_more_after_a_fresh_check() -> None:
    transport = LapsedOnce(capture_transport(SPLIT).source.folder)
    client = EnvoyClient(transport, transport.mint("owner"))
    document = (await client.tariff()).editable()
    document["storage_settings"]["mode"] = "backup"  # type: ignore[index]
    await client.put_tariff(document)
    assert transport.stats.by_method["PUT"]["/admin/lib/tariff"] == 2  # 401, then taken
    assert transport.stats.check_jwt == 2
    assert (await client.tariff()).storage.mode == "backup"  # type: ignore[union-attr]


async def test_a_refused_write_says_why_in_the_gateways_words() -> None:
    transport = capture_transport(SPLIT)
    client = EnvoyClient(transport, transport.mint("installer"))
    with pytest.raises(WriteRefused, match=r"the write to /admin/lib/tariff \(HTTP 400\): "):
        await client.put_tariff({"storage_settings": {"mode": "turbo"}})
    bad_token = EnvoyClient(transport, transport.mint("installer", aud="999999999999"))
    with pytest.raises(AuthRejected, match=r"auth rejected \(401\)"):
        await bad_token.put_tariff({})
