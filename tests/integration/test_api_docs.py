"""The API docs page works with the network cut: everything it loads comes from the gateway."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient


async def test_docs_page_and_every_asset_it_references_come_from_the_gateway(client: AsyncTestClient) -> None:
    """/schema references no other host, and each script, style and image it names is served here."""
    client.headers.pop("Authorization", None)
    page = await client.get("/schema")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page.text)
    assert references, page.text[:500]
    assert not [ref for ref in references if re.match(r"^(?:[a-z]+:)?//", ref)], references
    for ref in references:
        asset = await client.get(ref)
        assert asset.status_code == 200 and asset.content, ref
    assert "@import" not in (await client.get("/schema/assets/swagger-ui.css")).text


async def test_the_openapi_document_is_still_served_as_json(client: AsyncTestClient) -> None:
    """The machine-readable document stays at /schema/openapi.json."""
    document = await client.get("/schema/openapi.json")
    assert document.status_code == 200 and document.json()["info"]["title"] == "Energy integration gateway"
