"""Token renewal margin relative to the token's lifetime, and bodiless requests without a body type."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from providers.tokens import AsyncOAuth2Client, OAuth2ClientCredentials
from providers.transport import UpstreamTransport


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A loopback HTTP server that answers 204 and keeps each request's head."""
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        heads.append(head)
        length = next((int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
                       if line.startswith(b"content-length:")), 0)
        if length:
            await reader.readexactly(length)
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", heads
    finally:
        server.close()
        await server.wait_closed()


def _content_type(head: bytes) -> str | None:
    for line in head.decode().split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-type":
            return value.strip()
    return None


async def test_bodiless_post_and_put_carry_no_content_type(recorder: tuple[str, list[bytes]]) -> None:
    """A POST or PUT without a body goes out with no Content-Type; one with a JSON body keeps its own."""
    url, heads = recorder
    transport = UpstreamTransport(limits=httpx.Limits(max_connections=4))
    try:
        for request in (
            httpx.Request("POST", url + "/users/u1/enrollment", headers={"Accept": "application/json"}),
            httpx.Request("PUT", url + "/webhooks/w1/enabled?enabled=true"),
            httpx.Request("POST", url + "/users", content=b'{"userId":"u1"}',
                          headers={"Content-Type": "application/json"}),
        ):
            response = await transport.handle_async_request(request)
            await response.aread()
            assert response.status_code == 204
    finally:
        await transport.aclose()
    assert [_content_type(head) for head in heads] == [None, None, "application/json"]


def _credentials(leeway: float) -> OAuth2ClientCredentials:
    client = AsyncOAuth2Client(client_id="c", client_secret="s", token_endpoint="http://127.0.0.1:9/token",
                               grant_type="client_credentials", leeway=leeway)
    return OAuth2ClientCredentials(client=client)


@pytest.mark.parametrize(("leeway", "expires_in", "margin"), [
    (60.0, 3600, 60.0),
    (60.0, 30, 15.0),
    (60.0, 1, 0.5),
    (3.0, 6, 3.0),
    (60.0, None, 60.0),
    (60.0, 0, 60.0),
])
def test_renewal_margin_is_at_most_half_the_lifetime(leeway: float, expires_in: int | None,
                                                     margin: float) -> None:
    """The renewal margin is the configured leeway, capped at half the token's lifetime."""
    assert _credentials(leeway).margin(expires_in) == margin


async def test_short_lived_token_is_reused_not_fetched_per_call() -> None:
    """A Volue token living 4 s, under the default 60 s margin, serves several calls: one fetch."""
    from providers.emulation import serve_in_thread
    from providers.factory import VolueConfig, build_volue
    from providers.volue.emulator import app as volue_emulator

    app = volue_emulator.create_app(token_ttl_s=4.0)
    with serve_in_thread(app) as url:
        adapter = build_volue(VolueConfig(
            base_url=url + "/energy-coordination/v1", token_url=url + volue_emulator.TOKEN_PATH,
            client_id="volue-emulator", client_secret="volue-emulator-secret"))
        try:
            for _ in range(3):
                await adapter.list_webhooks()  # type: ignore[attr-defined]
        finally:
            await adapter.aclose()
        assert app.state.emulation.stats.token_fetches == 1


@pytest.mark.parametrize(("page", "last", "following"), [
    ({"totalRecords": 2500, "pageSize": 1000, "currentPage": 1}, 3, 2),
    ({"totalRecords": 2500, "pageSize": 1000, "currentPage": 3}, 3, None),
    ({"totalRecords": 0, "pageSize": 1000, "currentPage": 1}, 1, None),
    ({"totalRecords": 2000, "pageSize": 1000, "currentPage": 2}, 2, None),
    ({"totalRecords": 9, "pageSize": 1, "currentPage": 1, "totalPages": 2}, 2, 2),
    ({"totalRecords": 9, "pageSize": 1, "currentPage": 1, "totalPages": 9, "nextPage": None}, 9, 2),
    ({"totalRecords": 9, "pageSize": 1, "currentPage": 4, "nextPage": 7}, 9, 7),
])
def test_pages_follow_from_the_required_members(page: dict[str, int | None], last: int,
                                                following: int | None) -> None:
    """Without totalPages/nextPage, Volue's pages are counted from totalRecords, pageSize and currentPage."""
    import msgspec

    from providers.volue.schemas import ApiPagination

    decoded = msgspec.json.decode(msgspec.json.encode(page), type=ApiPagination)
    assert (decoded.last_page, decoded.following_page) == (last, following)


@pytest.mark.parametrize(("status", "body", "described"), [
    (201, b'{"webhookId": "w1", "webhookUrl": "https://x.example/h"}', True),
    (200, b'{"webhookId": "w1", "webhookUrl": "https://x.example/h"}', True),
    (200, b"", False),
    (200, b"{}", False),
    (200, b'"created"', False),
])
async def test_post_webhooks_answers_the_document_allows(status: int, body: bytes, described: bool) -> None:
    """POST /webhooks: a 201 (or a 200 that happens to describe it) gives the webhook; any other 200 None."""
    from providers.http import ProviderHttp
    from providers.volue.events_client import VolueEventsClient
    from providers.volue.schemas import PostWebhookRequest

    class Tokens:
        async def bearer(self) -> str:
            return "t"

        async def invalidate(self, stale: str) -> None:
            return None

    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    client = httpx.AsyncClient(base_url="http://127.0.0.1/api", transport=transport)
    events = VolueEventsClient(http=ProviderHttp(client=client, transport=transport, tokens=Tokens()))
    try:
        created = await events.create_webhook(PostWebhookRequest(webhook_url="https://x.example/h"))
    finally:
        await client.aclose()
    assert (created is not None and created.webhook_id == "w1") is described
    assert described or created is None
