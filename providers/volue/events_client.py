"""Volue calls about events, webhooks and reports, over the adapter's ``ProviderHttp``.

The Volue adapter builds one on its own ``ProviderHttp``, so these calls share its
pooled connections, token and error classification.
"""

from __future__ import annotations

from typing import Any

import msgspec

from providers.base import ProviderError
from providers.http import ProviderHttp, decode
from providers.volue.schemas import (
    GetEventsResponse,
    GetReportResponse,
    GetWebhookNotificationLogsResponse,
    GetWebhookResponse,
    GetWebhooksResponse,
    PatchWebhookRequest,
    PostWebhookRequest,
)

EVENTS = "/events"
REPORTS = "/reports"
WEBHOOKS = "/webhooks"
WEBHOOK = "/webhooks/{webhookId}"
WEBHOOK_ENABLED = "/webhooks/{webhookId}/enabled"
WEBHOOK_LOGS = "/webhooks/logs"
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
        """``POST /reports``; the created report when Volue describes it (200 with a body; its
        ``id`` is all the document promises)."""
        response = await self.http.send("POST", REPORTS, body=body)
        if not response.content.strip():
            return None
        return decode(response, GetReportResponse, route=REPORTS)

    async def create_webhook(self, body: PostWebhookRequest) -> GetWebhookResponse | None:
        """``POST /webhooks``: the webhook when Volue describes it (201; its secret is never
        readable), None for the 200 the document also allows, whose body has no schema (none,
        or one that does not describe the webhook)."""
        response = await self.http.send("POST", WEBHOOKS, body=body)
        if response.status_code == 201:
            return decode(response, GetWebhookResponse, route=WEBHOOKS)
        try:
            return decode(response, GetWebhookResponse, route=WEBHOOKS) if response.content.strip() else None
        except ProviderError:
            return None

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

    async def patch_webhook(self, webhook_id: str, body: PatchWebhookRequest) -> GetWebhookResponse | None:
        """``PATCH /webhooks/{webhookId}``; None when Volue has no such webhook."""
        response = await self.http.send(
            "PATCH", WEBHOOK, path={"webhookId": webhook_id}, body=body, tolerate=(404,)
        )
        if response.status_code == 404:
            return None
        return decode(response, GetWebhookResponse, route=WEBHOOK)

    async def set_webhook_enabled(self, webhook_id: str, enabled: bool) -> bool:
        """``PUT /webhooks/{webhookId}/enabled?enabled=``; False when there is no such webhook."""
        response = await self.http.send(
            "PUT", WEBHOOK_ENABLED, path={"webhookId": webhook_id},
            params={"enabled": "true" if enabled else "false"}, tolerate=(404,),
        )
        return response.status_code != 404

    async def webhook_logs(
        self, webhook_id: str | None = None, *, page: int = 1, page_size: int = 50
    ) -> GetWebhookNotificationLogsResponse:
        """One page of ``GET /webhooks/logs`` (of one webhook, or all)."""
        params: dict[str, str | int] = {"page": page, "pageSize": page_size}
        if webhook_id is not None:
            params["webhookId"] = webhook_id
        response = await self.http.send("GET", WEBHOOK_LOGS, params=params)
        return decode(response, GetWebhookNotificationLogsResponse, route=WEBHOOK_LOGS)
