"""Volue calls about events, webhooks and reports, over the adapter's ``ProviderHttp``.

The Volue adapter builds one on its own ``ProviderHttp``, so these calls share its
pooled connections, token and error classification.
"""

from __future__ import annotations

from typing import Any

import msgspec

from providers.http import ProviderHttp, decode
from providers.volue.schemas import (
    GetEventsResponse,
    GetReportResponse,
    GetWebhookResponse,
    GetWebhooksResponse,
    PostWebhookRequest,
)

EVENTS = "/events"
REPORTS = "/reports"
WEBHOOKS = "/webhooks"
WEBHOOK = "/webhooks/{webhookId}"
MAX_PAGE_SIZE = 1000
"""The spec's maximum ``pageSize`` of ``GET /events``."""


class VolueEventsClient:
    """``GET /events`` pages, ``/webhooks`` CRUD and ``POST /reports`` returning the report."""

    def __init__(self, *, http: ProviderHttp) -> None:
        self.http = http

    async def events_page(self, page: int, *, page_size: int = MAX_PAGE_SIZE) -> GetEventsResponse:
        """One page (1-based) of ``GET /events``."""
        response = await self.http.send("GET", EVENTS, params={"page": page, "pageSize": page_size})
        return decode(response, GetEventsResponse, route=EVENTS)

    async def send_report(self, body: dict[str, Any] | msgspec.Struct) -> GetReportResponse | None:
        """``POST /reports``; the created report when Volue describes it (200 with a body)."""
        response = await self.http.send("POST", REPORTS, body=body)
        if not response.content:
            return None
        return decode(response, GetReportResponse, route=REPORTS)

    async def create_webhook(self, body: PostWebhookRequest) -> GetWebhookResponse:
        """``POST /webhooks``; Volue answers 201 with the webhook (its secret is never readable)."""
        response = await self.http.send("POST", WEBHOOKS, body=body)
        return decode(response, GetWebhookResponse, route=WEBHOOKS)

    async def list_webhooks(self) -> list[GetWebhookResponse]:
        """``GET /webhooks``."""
        response = await self.http.send("GET", WEBHOOKS)
        return decode(response, GetWebhooksResponse, route=WEBHOOKS).webhooks

    async def delete_webhook(self, webhook_id: str) -> bool:
        """``DELETE /webhooks/{webhookId}``; False when Volue has no such webhook."""
        response = await self.http.send(
            "DELETE", WEBHOOK, path={"webhookId": webhook_id}, tolerate=(404,)
        )
        return response.status_code != 404
