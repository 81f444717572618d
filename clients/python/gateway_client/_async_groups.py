"""The resource groups of :class:`AsyncGatewayClient`, derived from ``_groups.py`` by
``generate.py`` (``make client``); do not edit."""
# ruff: noqa: E501

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ._generated import models as m
from ._groups import Group, _id


class AsyncCustomers(Group):
    async def create(self, body: m.CustomerCreate | dict[str, Any], *,
                     idempotency_key: str | None = None) -> m.CustomerCreated:
        """``POST /v1/customers``; ``sites`` (with ``devices``) and ``vehicles`` may be nested."""
        return await self._do("POST", "/v1/customers", m.CustomerCreated, json=body, key=idempotency_key)

    async def batch(self, customers: list[m.CustomerCreate | dict[str, Any]], *,
                    idempotency_key: str | None = None) -> m.CustomerBatchResult:
        """``POST /v1/customers/batch``: up to 1,000 customers, one result per item."""
        from ._transport import body_of

        body = {"customers": [body_of(c) for c in customers]}
        return await self._do("POST", "/v1/customers/batch", m.CustomerBatchResult, json=body,
                              key=idempotency_key)

    async def get(self, customer_id: str) -> m.CustomerRead:
        return await self._do("GET", f"/v1/customers/{_id(customer_id)}", m.CustomerRead)

    async def update(self, customer_id: str, body: m.CustomerUpdate | dict[str, Any], *,
                     idempotency_key: str | None = None) -> m.CustomerRead:
        return await self._do("PATCH", f"/v1/customers/{_id(customer_id)}", m.CustomerRead, json=body,
                              key=idempotency_key)

    async def delete(self, customer_id: str, *, idempotency_key: str | None = None) -> m.CustomerRead:
        return await self._do("DELETE", f"/v1/customers/{_id(customer_id)}", m.CustomerRead, key=idempotency_key)

    def iter(self, *, external_ref: str | None = None, eligible: bool | None = None,
             limit: int | None = None) -> AsyncIterator[m.CustomerRead]:
        """Every customer (matching the filters), page after page."""
        return self._pages("/v1/customers", m.CustomerRead, externalRef=external_ref,
                           eligible=eligible, limit=limit)

    def sync_history(self, customer_id: str, *, limit: int | None = None) -> AsyncIterator[m.CallRead]:
        """The upstream calls made for the customer's records, newest first."""
        return self._pages(f"/v1/customers/{_id(customer_id)}/sync-history", m.CallRead, limit=limit)


class AsyncSites(Group):
    async def create(self, customer_id: str, body: m.SiteCreate | dict[str, Any], *,
                     idempotency_key: str | None = None) -> m.SiteCreated:
        return await self._do("POST", f"/v1/customers/{_id(customer_id)}/sites", m.SiteCreated, json=body,
                              key=idempotency_key)

    async def get(self, site_id: str) -> m.SiteRead:
        return await self._do("GET", f"/v1/sites/{_id(site_id)}", m.SiteRead)

    async def update(self, site_id: str, body: m.SiteUpdate | dict[str, Any], *,
                     idempotency_key: str | None = None) -> m.SiteRead:
        return await self._do("PATCH", f"/v1/sites/{_id(site_id)}", m.SiteRead, json=body, key=idempotency_key)

    async def delete(self, site_id: str, *, idempotency_key: str | None = None) -> m.SiteRead:
        return await self._do("DELETE", f"/v1/sites/{_id(site_id)}", m.SiteRead, key=idempotency_key)

    def iter(self, customer_id: str, *, limit: int | None = None) -> AsyncIterator[m.SiteRead]:
        return self._pages(f"/v1/customers/{_id(customer_id)}/sites", m.SiteRead, limit=limit)


class AsyncDevices(Group):
    async def create(self, site_id: str, body: m.DeviceCreate | dict[str, Any], *,
                     idempotency_key: str | None = None) -> m.DeviceRead:
        return await self._do("POST", f"/v1/sites/{_id(site_id)}/devices", m.DeviceRead, json=body,
                              key=idempotency_key)

    async def create_vehicle(self, customer_id: str, body: m.VehicleCreate | dict[str, Any], *,
                             idempotency_key: str | None = None) -> m.DeviceRead:
        return await self._do("POST", f"/v1/customers/{_id(customer_id)}/vehicles", m.DeviceRead, json=body,
                              key=idempotency_key)

    async def get(self, device_id: str) -> m.DeviceRead:
        return await self._do("GET", f"/v1/devices/{_id(device_id)}", m.DeviceRead)

    async def update(self, device_id: str, body: m.DeviceUpdate | dict[str, Any], *,
                     idempotency_key: str | None = None) -> m.DeviceRead:
        return await self._do("PATCH", f"/v1/devices/{_id(device_id)}", m.DeviceRead, json=body,
                              key=idempotency_key)

    async def delete(self, device_id: str, *, idempotency_key: str | None = None) -> m.DeviceRead:
        return await self._do("DELETE", f"/v1/devices/{_id(device_id)}", m.DeviceRead, key=idempotency_key)

    def iter(self, site_id: str, *, limit: int | None = None) -> AsyncIterator[m.DeviceRead]:
        return self._pages(f"/v1/sites/{_id(site_id)}/devices", m.DeviceRead, limit=limit)

    def iter_vehicles(self, customer_id: str, *, limit: int | None = None) -> AsyncIterator[m.DeviceRead]:
        return self._pages(f"/v1/customers/{_id(customer_id)}/vehicles", m.DeviceRead, limit=limit)


class AsyncReadings(Group):
    async def send(self, readings: list[dict[str, Any]] | m.ReadingsBody | dict[str, Any], *,
                   idempotency_key: str | None = None) -> m.IngestResult:
        """``POST /v1/readings``: a list of readings ({obisCode, timestamp, value, deviceId or
        deviceExternalRef}) or the whole body."""
        body = {"readings": readings} if isinstance(readings, list) else readings
        return await self._do("POST", "/v1/readings", m.IngestResult, json=body, key=idempotency_key)

    def iter(self, device_id: str, *, from_: str | None = None, to: str | None = None,
             obis_code: str | None = None, limit: int | None = None) -> AsyncIterator[m.ReadingRead]:
        return self._pages(f"/v1/devices/{_id(device_id)}/readings", m.ReadingRead,
                           **{"from": from_, "to": to, "obisCode": obis_code, "limit": limit})


class AsyncInvites(Group):
    async def create(self, site_id: str, body: m.InviteCreate | dict[str, Any] | None = None, *,
                     idempotency_key: str | None = None) -> m.InviteRead:
        return await self._do("POST", f"/v1/sites/{_id(site_id)}/invites", m.InviteRead,
                              json=body if body is not None else {}, key=idempotency_key)

    async def get(self, invite_id: str) -> m.InviteRead:
        return await self._do("GET", f"/v1/invites/{_id(invite_id)}", m.InviteRead)

    def iter(self, site_id: str, *, limit: int | None = None) -> AsyncIterator[m.InviteRead]:
        return self._pages(f"/v1/sites/{_id(site_id)}/invites", m.InviteRead, limit=limit)


class AsyncReports(Group):
    async def get(self, report_id: str) -> m.ReportRead:
        return await self._do("GET", f"/v1/reports/{_id(report_id)}", m.ReportRead)

    def iter(self, *, customer_id: str | None = None, site_id: str | None = None,
             device_id: str | None = None, kind: str | None = None,
             limit: int | None = None) -> AsyncIterator[m.ReportRead]:
        return self._pages("/v1/reports", m.ReportRead, customerId=customer_id, siteId=site_id,
                           deviceId=device_id, kind=kind, limit=limit)

    async def site_energy_usage(self, site_id: str, body: m.EnergyUsageCreate | dict[str, Any], *,
                                idempotency_key: str | None = None) -> m.ReportRead:
        return await self._do("POST", f"/v1/sites/{_id(site_id)}/energy-usage", m.ReportRead, json=body,
                              key=idempotency_key)

    async def device_energy_usage(self, device_id: str, body: m.DeviceEnergyUsageCreate | dict[str, Any], *,
                                  idempotency_key: str | None = None) -> m.ReportRead:
        return await self._do("POST", f"/v1/devices/{_id(device_id)}/energy-usage", m.ReportRead,
                              json=body, key=idempotency_key)


class AsyncProgrammes(Group):
    async def get(self, customer_id: str) -> m.MembershipRead:
        return await self._do("GET", f"/v1/customers/{_id(customer_id)}/programmes/volue", m.MembershipRead)

    async def enroll(self, customer_id: str, body: m.EnrollRequest | dict[str, Any] | None = None, *,
                     idempotency_key: str | None = None) -> m.MembershipRead:
        return await self._do("PUT", f"/v1/customers/{_id(customer_id)}/programmes/volue", m.MembershipRead,
                              json=body if body is not None else {}, key=idempotency_key)

    async def leave(self, customer_id: str, *, idempotency_key: str | None = None) -> m.MembershipRead:
        return await self._do("DELETE", f"/v1/customers/{_id(customer_id)}/programmes/volue",
                              m.MembershipRead, key=idempotency_key)

    async def eligibility(self, customer_id: str, *, refresh: bool | None = None) -> m.EligibilityRead:
        return await self._do("GET", f"/v1/customers/{_id(customer_id)}/programmes/volue/eligibility",
                              m.EligibilityRead, refresh=refresh)

    async def compensation(self, customer_id: str) -> m.CompensationRead:
        return await self._do("GET", f"/v1/customers/{_id(customer_id)}/programmes/volue/compensation",
                              m.CompensationRead)


class AsyncSync(Group):
    def iter_tasks(self, *, status: str | None = None, provider: str | None = None,
                   entity_id: str | None = None, limit: int | None = None) -> AsyncIterator[m.TaskRead]:
        return self._pages("/v1/sync/tasks", m.TaskRead, status=status, provider=provider,
                           entityId=entity_id, limit=limit)

    async def retry(self, task_id: str, *, idempotency_key: str | None = None) -> m.TaskRead:
        return await self._do("POST", f"/v1/sync/tasks/{_id(task_id)}/retry", m.TaskRead, key=idempotency_key)

    async def retry_many(self, body: m.BulkRetryRequest | dict[str, Any] | None = None, *,
                         idempotency_key: str | None = None) -> m.BulkRetryResult:
        return await self._do("POST", "/v1/sync/tasks/retry", m.BulkRetryResult,
                              json=body if body is not None else {}, key=idempotency_key)

    async def resync(self, body: m.ResyncRequest | dict[str, Any], *,
                     idempotency_key: str | None = None) -> dict[str, Any]:
        return await self._do("POST", "/v1/sync/resync", json=body, key=idempotency_key)


class AsyncEvents(Group):
    async def get(self, event_id: str) -> m.EventRead:
        return await self._do("GET", f"/v1/events/{_id(event_id)}", m.EventRead)

    def iter(self, *, type: str | None = None, customer_id: str | None = None,
             site_id: str | None = None, since: str | None = None,
             limit: int | None = None) -> AsyncIterator[m.EventRead]:
        return self._pages("/v1/events", m.EventRead, type=type, customerId=customer_id,
                           siteId=site_id, since=since, limit=limit)


class AsyncSubscriptions(Group):
    async def create(self, body: m.SubscriptionCreate | dict[str, Any], *,
                     idempotency_key: str | None = None) -> m.SubscriptionCreated:
        return await self._do("POST", "/v1/webhook-subscriptions", m.SubscriptionCreated, json=body,
                              key=idempotency_key)

    async def get(self, subscription_id: str) -> m.SubscriptionRead:
        return await self._do("GET", f"/v1/webhook-subscriptions/{_id(subscription_id)}", m.SubscriptionRead)

    async def delete(self, subscription_id: str, *, idempotency_key: str | None = None) -> None:
        """``DELETE /v1/webhook-subscriptions/{id}`` (204)."""
        return await self._do("DELETE", f"/v1/webhook-subscriptions/{_id(subscription_id)}",
                              key=idempotency_key)

    def iter(self, *, limit: int | None = None) -> AsyncIterator[m.SubscriptionRead]:
        return self._pages("/v1/webhook-subscriptions", m.SubscriptionRead, limit=limit)

    def iter_deliveries(self, subscription_id: str, *, status: str | None = None,
                        limit: int | None = None) -> AsyncIterator[m.DeliveryRead]:
        return self._pages(f"/v1/webhook-subscriptions/{_id(subscription_id)}/deliveries",
                           m.DeliveryRead, status=status, limit=limit)
