"""Resource groups named like the API, for :class:`GatewayClient`. Each method describes one
call and the client runs it; ``iter`` methods are iterators that follow ``nextCursor``.
``_async_groups.py`` is derived from this file by ``generate.py`` (``make client``): the same
groups for :class:`AsyncGatewayClient`, each method a coroutine and each ``iter`` an async
iterator. Edit this file and run ``make client``.

Writes take a model of :mod:`gateway_client.models` or a dict with the API's camelCase names,
and an optional ``idempotency_key`` (one is generated per call otherwise, and every retry of
the call sends it again with the same bytes).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol
from urllib.parse import quote

from ._generated import models as m
from ._transport import Call


class Runner(Protocol):
    def run(self, call: Call) -> Any: ...

    def iterate(self, call: Call, item: Any) -> Any: ...


def _id(value: str) -> str:
    return quote(str(value), safe="")


class Group:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    def _do(self, method: str, path: str, model: Any = None, *, json: Any = None,
            key: str | None = None, **params: Any) -> Any:
        return self._r.run(Call(method, path, params, json, model, key))

    def _pages(self, path: str, item: Any, **params: Any) -> Any:
        return self._r.iterate(Call("GET", path, params), item)


class Customers(Group):
    def create(self, body: m.CustomerCreate | dict[str, Any], *,
               idempotency_key: str | None = None) -> m.CustomerCreated:
        """``POST /v1/customers``; ``sites`` (with ``devices``) and ``vehicles`` may be nested."""
        return self._do("POST", "/v1/customers", m.CustomerCreated, json=body, key=idempotency_key)

    def batch(self, customers: list[m.CustomerCreate | dict[str, Any]], *,
              idempotency_key: str | None = None) -> m.CustomerBatchResult:
        """``POST /v1/customers/batch``: up to 1,000 customers, one result per item."""
        from ._transport import body_of

        body = {"customers": [body_of(c) for c in customers]}
        return self._do("POST", "/v1/customers/batch", m.CustomerBatchResult, json=body,
                        key=idempotency_key)

    def get(self, customer_id: str) -> m.CustomerRead:
        return self._do("GET", f"/v1/customers/{_id(customer_id)}", m.CustomerRead)

    def update(self, customer_id: str, body: m.CustomerUpdate | dict[str, Any], *,
               idempotency_key: str | None = None) -> m.CustomerRead:
        return self._do("PATCH", f"/v1/customers/{_id(customer_id)}", m.CustomerRead, json=body,
                        key=idempotency_key)

    def delete(self, customer_id: str, *, idempotency_key: str | None = None) -> m.CustomerRead:
        return self._do("DELETE", f"/v1/customers/{_id(customer_id)}", m.CustomerRead, key=idempotency_key)

    def iter(self, *, external_ref: str | None = None, eligible: bool | None = None,
             limit: int | None = None) -> Iterator[m.CustomerRead]:
        """Every customer (matching the filters), page after page."""
        return self._pages("/v1/customers", m.CustomerRead, externalRef=external_ref,
                           eligible=eligible, limit=limit)

    def sync_history(self, customer_id: str, *, limit: int | None = None) -> Iterator[m.CallRead]:
        """The upstream calls made for the customer's records, newest first."""
        return self._pages(f"/v1/customers/{_id(customer_id)}/sync-history", m.CallRead, limit=limit)


class Sites(Group):
    def create(self, customer_id: str, body: m.SiteCreate | dict[str, Any], *,
               idempotency_key: str | None = None) -> m.SiteCreated:
        return self._do("POST", f"/v1/customers/{_id(customer_id)}/sites", m.SiteCreated, json=body,
                        key=idempotency_key)

    def get(self, site_id: str) -> m.SiteRead:
        return self._do("GET", f"/v1/sites/{_id(site_id)}", m.SiteRead)

    def update(self, site_id: str, body: m.SiteUpdate | dict[str, Any], *,
               idempotency_key: str | None = None) -> m.SiteRead:
        return self._do("PATCH", f"/v1/sites/{_id(site_id)}", m.SiteRead, json=body, key=idempotency_key)

    def delete(self, site_id: str, *, idempotency_key: str | None = None) -> m.SiteRead:
        return self._do("DELETE", f"/v1/sites/{_id(site_id)}", m.SiteRead, key=idempotency_key)

    def iter(self, customer_id: str, *, limit: int | None = None) -> Iterator[m.SiteRead]:
        return self._pages(f"/v1/customers/{_id(customer_id)}/sites", m.SiteRead, limit=limit)


class Devices(Group):
    def create(self, site_id: str, body: m.DeviceCreate | dict[str, Any], *,
               idempotency_key: str | None = None) -> m.DeviceRead:
        return self._do("POST", f"/v1/sites/{_id(site_id)}/devices", m.DeviceRead, json=body,
                        key=idempotency_key)

    def create_vehicle(self, customer_id: str, body: m.VehicleCreate | dict[str, Any], *,
                       idempotency_key: str | None = None) -> m.DeviceRead:
        return self._do("POST", f"/v1/customers/{_id(customer_id)}/vehicles", m.DeviceRead, json=body,
                        key=idempotency_key)

    def get(self, device_id: str) -> m.DeviceRead:
        return self._do("GET", f"/v1/devices/{_id(device_id)}", m.DeviceRead)

    def update(self, device_id: str, body: m.DeviceUpdate | dict[str, Any], *,
               idempotency_key: str | None = None) -> m.DeviceRead:
        return self._do("PATCH", f"/v1/devices/{_id(device_id)}", m.DeviceRead, json=body,
                        key=idempotency_key)

    def delete(self, device_id: str, *, idempotency_key: str | None = None) -> m.DeviceRead:
        return self._do("DELETE", f"/v1/devices/{_id(device_id)}", m.DeviceRead, key=idempotency_key)

    def iter(self, site_id: str, *, limit: int | None = None) -> Iterator[m.DeviceRead]:
        return self._pages(f"/v1/sites/{_id(site_id)}/devices", m.DeviceRead, limit=limit)

    def iter_vehicles(self, customer_id: str, *, limit: int | None = None) -> Iterator[m.DeviceRead]:
        return self._pages(f"/v1/customers/{_id(customer_id)}/vehicles", m.DeviceRead, limit=limit)


class Readings(Group):
    def send(self, readings: list[dict[str, Any]] | m.ReadingsBody | dict[str, Any], *,
             idempotency_key: str | None = None) -> m.IngestResult:
        """``POST /v1/readings``: a list of readings ({obisCode, timestamp, value, deviceId or
        deviceExternalRef}) or the whole body."""
        body = {"readings": readings} if isinstance(readings, list) else readings
        return self._do("POST", "/v1/readings", m.IngestResult, json=body, key=idempotency_key)

    def iter(self, device_id: str, *, from_: str | None = None, to: str | None = None,
             obis_code: str | None = None, limit: int | None = None) -> Iterator[m.ReadingRead]:
        return self._pages(f"/v1/devices/{_id(device_id)}/readings", m.ReadingRead,
                           **{"from": from_, "to": to, "obisCode": obis_code, "limit": limit})


class Invites(Group):
    def create(self, site_id: str, body: m.InviteCreate | dict[str, Any] | None = None, *,
               idempotency_key: str | None = None) -> m.InviteRead:
        return self._do("POST", f"/v1/sites/{_id(site_id)}/invites", m.InviteRead,
                        json=body if body is not None else {}, key=idempotency_key)

    def get(self, invite_id: str) -> m.InviteRead:
        return self._do("GET", f"/v1/invites/{_id(invite_id)}", m.InviteRead)

    def iter(self, site_id: str, *, limit: int | None = None) -> Iterator[m.InviteRead]:
        return self._pages(f"/v1/sites/{_id(site_id)}/invites", m.InviteRead, limit=limit)


class Reports(Group):
    def get(self, report_id: str) -> m.ReportRead:
        return self._do("GET", f"/v1/reports/{_id(report_id)}", m.ReportRead)

    def iter(self, *, customer_id: str | None = None, site_id: str | None = None,
             device_id: str | None = None, kind: str | None = None,
             limit: int | None = None) -> Iterator[m.ReportRead]:
        return self._pages("/v1/reports", m.ReportRead, customerId=customer_id, siteId=site_id,
                           deviceId=device_id, kind=kind, limit=limit)

    def site_energy_usage(self, site_id: str, body: m.EnergyUsageCreate | dict[str, Any], *,
                          idempotency_key: str | None = None) -> m.ReportRead:
        return self._do("POST", f"/v1/sites/{_id(site_id)}/energy-usage", m.ReportRead, json=body,
                        key=idempotency_key)

    def device_energy_usage(self, device_id: str, body: m.DeviceEnergyUsageCreate | dict[str, Any], *,
                            idempotency_key: str | None = None) -> m.ReportRead:
        return self._do("POST", f"/v1/devices/{_id(device_id)}/energy-usage", m.ReportRead,
                        json=body, key=idempotency_key)


class Programmes(Group):
    def get(self, customer_id: str) -> m.MembershipRead:
        return self._do("GET", f"/v1/customers/{_id(customer_id)}/programmes/volue", m.MembershipRead)

    def enroll(self, customer_id: str, body: m.EnrollRequest | dict[str, Any] | None = None, *,
               idempotency_key: str | None = None) -> m.MembershipRead:
        return self._do("PUT", f"/v1/customers/{_id(customer_id)}/programmes/volue", m.MembershipRead,
                        json=body if body is not None else {}, key=idempotency_key)

    def leave(self, customer_id: str, *, idempotency_key: str | None = None) -> m.MembershipRead:
        return self._do("DELETE", f"/v1/customers/{_id(customer_id)}/programmes/volue",
                        m.MembershipRead, key=idempotency_key)

    def eligibility(self, customer_id: str, *, refresh: bool | None = None) -> m.EligibilityRead:
        return self._do("GET", f"/v1/customers/{_id(customer_id)}/programmes/volue/eligibility",
                        m.EligibilityRead, refresh=refresh)

    def compensation(self, customer_id: str) -> m.CompensationRead:
        return self._do("GET", f"/v1/customers/{_id(customer_id)}/programmes/volue/compensation",
                        m.CompensationRead)


class Sync(Group):
    def iter_tasks(self, *, status: str | None = None, provider: str | None = None,
                   entity_id: str | None = None, limit: int | None = None) -> Iterator[m.TaskRead]:
        return self._pages("/v1/sync/tasks", m.TaskRead, status=status, provider=provider,
                           entityId=entity_id, limit=limit)

    def retry(self, task_id: str, *, idempotency_key: str | None = None) -> m.TaskRead:
        return self._do("POST", f"/v1/sync/tasks/{_id(task_id)}/retry", m.TaskRead, key=idempotency_key)

    def retry_many(self, body: m.BulkRetryRequest | dict[str, Any] | None = None, *,
                   idempotency_key: str | None = None) -> m.BulkRetryResult:
        return self._do("POST", "/v1/sync/tasks/retry", m.BulkRetryResult,
                        json=body if body is not None else {}, key=idempotency_key)

    def resync(self, body: m.ResyncRequest | dict[str, Any], *,
               idempotency_key: str | None = None) -> dict[str, Any]:
        return self._do("POST", "/v1/sync/resync", json=body, key=idempotency_key)


class Events(Group):
    def get(self, event_id: str) -> m.EventRead:
        return self._do("GET", f"/v1/events/{_id(event_id)}", m.EventRead)

    def iter(self, *, type: str | None = None, customer_id: str | None = None,
             site_id: str | None = None, since: str | None = None,
             limit: int | None = None) -> Iterator[m.EventRead]:
        return self._pages("/v1/events", m.EventRead, type=type, customerId=customer_id,
                           siteId=site_id, since=since, limit=limit)


class Subscriptions(Group):
    def create(self, body: m.SubscriptionCreate | dict[str, Any], *,
               idempotency_key: str | None = None) -> m.SubscriptionCreated:
        return self._do("POST", "/v1/webhook-subscriptions", m.SubscriptionCreated, json=body,
                        key=idempotency_key)

    def get(self, subscription_id: str) -> m.SubscriptionRead:
        return self._do("GET", f"/v1/webhook-subscriptions/{_id(subscription_id)}", m.SubscriptionRead)

    def delete(self, subscription_id: str, *, idempotency_key: str | None = None) -> None:
        """``DELETE /v1/webhook-subscriptions/{id}`` (204)."""
        return self._do("DELETE", f"/v1/webhook-subscriptions/{_id(subscription_id)}",
                        key=idempotency_key)

    def iter(self, *, limit: int | None = None) -> Iterator[m.SubscriptionRead]:
        return self._pages("/v1/webhook-subscriptions", m.SubscriptionRead, limit=limit)

    def iter_deliveries(self, subscription_id: str, *, status: str | None = None,
                        limit: int | None = None) -> Iterator[m.DeliveryRead]:
        return self._pages(f"/v1/webhook-subscriptions/{_id(subscription_id)}/deliveries",
                           m.DeliveryRead, status=status, limit=limit)
