"""The aiohttp transport under the provider clients: failures keep their meaning, clients stay httpx."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from providers.base import TransientError
from providers.emulation import FaultPlan, serve_in_thread
from providers.http import ProviderHttp, client_options, may_repeat
from providers.transport import UpstreamTransport
from providers.zaehlerfreunde.emulator.app import create_app
from providers.zaehlerfreunde.tokens import JsonTokenProvider

SPACE = {"name": "Home", "addressLineOne": "Storgata 1", "postcode": "0155", "city": "Oslo",
         "category": "HOUSEHOLD"}


def _http(url: str, *, timeout_s: float = 10.0) -> ProviderHttp:
    options = client_options(timeout_s=timeout_s)
    client = httpx.AsyncClient(base_url=url + "/partner", **options)
    tokens = JsonTokenProvider(client=client, client_id="zf-emulator", client_secret="zf-emulator-secret")
    return ProviderHttp(client=client, transport=options["transport"], tokens=tokens)


@pytest.fixture
def emulator() -> Any:
    app = create_app()
    with serve_in_thread(app) as url:
        app.state.url = url
        yield app


@pytest.fixture
async def http(emulator: Any) -> AsyncIterator[ProviderHttp]:
    http = _http(emulator.state.url)
    try:
        yield http
    finally:
        await http.aclose()


async def test_provider_clients_run_on_the_aiohttp_transport(http: ProviderHttp, emulator: Any) -> None:
    """client_options builds an UpstreamTransport by default, and a create goes through it over HTTP."""
    assert isinstance(http.transport, UpstreamTransport)
    response = await http.send("POST", "/spaces", body=SPACE)
    assert response.status_code in (200, 201) and response.json()["spaceId"]
    assert len(emulator.state.zaehlerfreunde.spaces) == 1


async def test_a_dropped_connection_may_have_been_carried_out(http: ProviderHttp, emulator: Any) -> None:
    """A connection the server closes after taking the request is transient and maybe sent."""
    await http.tokens.bearer()
    emulator.state.emulation.set_faults(FaultPlan(drop_rate=1.0, seed=1))
    with pytest.raises(TransientError) as caught:
        await http.send("POST", "/spaces", body=SPACE)
    assert caught.value.maybe_sent is True
    assert "RemoteProtocolError" in caught.value.message


async def test_a_read_timeout_may_have_been_carried_out(emulator: Any) -> None:
    """An answer later than the read timeout is a ReadTimeout: transient and maybe sent."""
    http = _http(emulator.state.url, timeout_s=0.3)
    try:
        await http.tokens.bearer()
        emulator.state.emulation.set_faults(FaultPlan(slow_rate=1.0, slow_ms=1500, seed=1))
        with pytest.raises(TransientError) as caught:
            await http.send("POST", "/spaces", body=SPACE)
    finally:
        await http.aclose()
    assert caught.value.maybe_sent is True
    assert "ReadTimeout" in caught.value.message


async def test_a_quick_503_was_not_carried_out_and_a_slow_one_may_have_been(emulator: Any) -> None:
    """A 503 answered at once (the server refused the request) is known not sent; one answered
    after half the read timeout (as a proxy that gave up waiting would) may have been."""
    http = _http(emulator.state.url, timeout_s=1.0)
    try:
        await http.tokens.bearer()
        emulator.state.emulation.set_faults(FaultPlan(error_rate=1.0, error_statuses=[503], seed=1))
        with pytest.raises(TransientError) as quick:
            await http.send("POST", "/spaces", body=SPACE)
        emulator.state.emulation.set_faults(FaultPlan(slow_rate=1.0, slow_ms=700, slow_processed=False,
                                                      seed=1))
        with pytest.raises(TransientError) as slow:
            await http.send("POST", "/spaces", body=SPACE)
    finally:
        await http.aclose()
    assert (quick.value.status, quick.value.maybe_sent) == (503, False)
    assert (slow.value.status, slow.value.maybe_sent) == (503, True)
    assert len(emulator.state.zaehlerfreunde.spaces) == 0


@pytest.mark.parametrize(("status", "method", "sent"), [
    (502, "GET", 2), (500, "DELETE", 2), (502, "POST", 1), (503, "GET", 2), (503, "POST", 2),
    (429, "GET", 1), (429, "POST", 1)])
async def test_a_request_is_repeated_once_where_that_is_safe(
        http: ProviderHttp, emulator: Any, status: int, method: str, sent: int) -> None:
    """A GET, PUT or DELETE answered 500, 502 or 504 is sent once more at once (harmless to
    repeat), and so is any request answered 503 at once (not taken on); a POST that may have been
    carried out is not, nor anything answered 429 (the provider sets the pace)."""
    await http.tokens.bearer()
    emulator.state.emulation.set_faults(FaultPlan(error_rate=1.0 if status != 429 else 0.0,
                                                  error_statuses=[status] if status != 429 else [],
                                                  rate_limit_rate=1.0 if status == 429 else 0.0,
                                                  seed=1))
    route = "/spaces" if method != "DELETE" else "/spaces/{spaceId}"
    token = may_repeat.set(lambda: True)  # as the sync engine allows while the provider is up
    try:
        with pytest.raises(TransientError) as caught:
            await http.send(method, route, path={"spaceId": "s-1"} if method == "DELETE" else None,
                            body=SPACE if method == "POST" else None)
    finally:
        may_repeat.reset(token)
    assert caught.value.status == status
    counted = emulator.state.emulation.stats.requests
    assert sum(n for by_status in counted.values() for code, n in by_status.items() if code == status) == sent


@pytest.mark.parametrize("allow", [None, lambda: False])
async def test_no_repeat_unless_the_caller_allows_it(http: ProviderHttp, emulator: Any,
                                                    allow: Callable[[], bool] | None) -> None:
    """Without ``may_repeat`` (a caller outside the sync engine) or with it answering no (a probe
    of a provider whose circuit is open, a spent repeat budget) a GET answered 502 is one request."""
    await http.tokens.bearer()
    emulator.state.emulation.set_faults(FaultPlan(error_rate=1.0, error_statuses=[502], seed=1))
    token = may_repeat.set(allow)
    try:
        with pytest.raises(TransientError):
            await http.send("GET", "/spaces")
    finally:
        may_repeat.reset(token)
    assert emulator.state.emulation.stats.requests["GET /partner/spaces"][502] == 1


async def test_a_refused_connection_was_not_sent() -> None:
    """Nothing listening on the port: a ConnectError, transient and known not to be sent."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    http = _http(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(TransientError) as caught:
            await http.send("POST", "/spaces", body=SPACE)
    finally:
        await http.aclose()
    assert caught.value.maybe_sent is False
    assert "ConnectError" in caught.value.message


async def test_an_injected_transport_is_used_as_given() -> None:
    """A transport given to client_options (the emulator through httpx's ASGI transport) is the one used."""
    app = create_app()
    options = client_options(transport=httpx.ASGITransport(app=app))
    client = httpx.AsyncClient(base_url="http://127.0.0.1/partner", **options)
    http = ProviderHttp(client=client, transport=options["transport"], tokens=JsonTokenProvider(
        client=client, client_id="zf-emulator", client_secret="zf-emulator-secret"))
    try:
        assert isinstance(http.transport, httpx.ASGITransport)
        response = await http.send("POST", "/spaces", body=SPACE)
    finally:
        await http.aclose()
    assert response.status_code in (200, 201)
    assert len(app.state.zaehlerfreunde.spaces) == 1
