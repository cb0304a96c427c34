"""The transport recognises the gateway's certificate in the handshake, before any request."""

from __future__ import annotations

import pytest

from gem_envoy.envoy.certificate import CertificateChanged, fingerprint
from gem_envoy.envoy.certificate_pin import CertificatePin
from gem_envoy.envoy.paths import INFO
from gem_envoy.envoy.transport import HttpsTransport
from gem_envoy.sim import SimOptions, start_simulator


async def test_the_first_certificate_is_pinned_and_an_impostor_gets_no_request() -> None:
    gateway = await start_simulator(SimOptions(inverters=2))
    pin = CertificatePin()  # trust on first use
    transport = HttpsTransport(gateway.host, gateway.port, pin=pin)
    assert (await transport.get(INFO, {})).status == 200
    assert pin.sha256 is not None and pin.certificate is not None
    assert fingerprint(pin.certificate) == pin.sha256
    port = gateway.port
    await gateway.close()

    impostor = await start_simulator(SimOptions(inverters=2, port=port))  # a new certificate
    try:
        with pytest.raises(CertificateChanged) as changed:
            await transport.get(INFO, {"Authorization": "Bearer secret"})
        assert changed.value.expected == pin.sha256 != changed.value.got
        assert "no request was sent" in changed.value.message
        assert impostor.stats.as_json()["requests_total"] == 0
        # Pinned to the impostor's own certificate, the same transport would talk to it.
        trusting = HttpsTransport(impostor.host, port, pin=CertificatePin(changed.value.got))
        assert (await trusting.get(INFO, {})).status == 200
        await trusting.close()
    finally:
        await transport.close()
        await impostor.close()
