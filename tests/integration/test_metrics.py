"""``GET /metrics`` after an end-to-end sync: the counters operators rely on, with plausible values."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from gateway.observability.metrics import count_readings, count_webhook_delivery
from providers.emulation import FaultPlan
from tests.integration.conftest import TREE, wait_synced

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: AsyncTestClient) -> Samples:
    """Every sample of ``/metrics``, keyed by name and labels."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples named ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def _synced_tree(client: AsyncTestClient) -> dict[str, Any]:
    created = await client.post("/v1/customers", json=TREE)
    assert created.status_code == 201, created.text
    customer = created.json()
    site = (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    devices = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
    paths = [f"/v1/customers/{customer['id']}", f"/v1/sites/{site['id']}"]
    paths += [f"/v1/devices/{d['id']}" for d in devices]
    await wait_synced(client, paths)
    return customer


async def test_metrics_after_an_end_to_end_sync(live_client: AsyncTestClient,
                                                emulators: dict[str, Any]) -> None:
    """After syncing a customer tree, /metrics counts its requests, upstream calls, tokens and tasks."""
    before = await scrape(live_client)
    customer = await _synced_tree(live_client)
    done_tasks = (await live_client.get("/v1/sync/tasks", params={"status": "done"})).json()["items"]
    per_provider = Counter(task["provider"] for task in done_tasks)
    assert per_provider["volue"] >= 3 and per_provider["zaehlerfreunde"] >= 2, per_provider
    after = await scrape(live_client)

    # HTTP: by route template, never by raw path
    assert delta(before, after, "gateway_http_requests_total", method="POST", route="/v1/customers",
                 status="201") == 1
    assert delta(before, after, "gateway_http_request_duration_seconds_count", method="POST",
                 route="/v1/customers") == 1
    assert delta(before, after, "gateway_http_request_duration_seconds_sum", method="POST",
                 route="/v1/customers") > 0
    assert value(after, "gateway_http_requests_total", route="/v1/customers/{customer_id}") > 0
    assert not any(customer["id"] in str(labels) for (_, labels) in after)

    # upstream calls and their latency, by provider and route template
    for provider in ("volue", "zaehlerfreunde"):
        calls = delta(before, after, "gateway_upstream_calls_total", provider=provider)
        assert calls >= per_provider[provider], (provider, calls)
        timed = delta(before, after, "gateway_upstream_call_duration_seconds_count", provider=provider)
        assert timed == calls
        assert delta(before, after, "gateway_upstream_call_duration_seconds_sum", provider=provider) > 0
        assert delta(before, after, "gateway_task_attempts_total", provider=provider,
                     outcome="done") == per_provider[provider]
        assert delta(before, after, "gateway_task_dead_letters_total", provider=provider) == 0
        assert delta(before, after, "gateway_task_retries_total", provider=provider) == 0
    assert delta(before, after, "gateway_upstream_calls_total", provider="volue", method="POST",
                 route="/users", status="201") == 1
    assert delta(before, after, "gateway_upstream_calls_total", provider="zaehlerfreunde",
                 method="POST", route="/spaces") == 1

    # one token per provider and process, fetched once
    volue_stats = emulators["volue"].state.emulation.stats
    zf_stats = emulators["zf"].state.emulation.stats
    assert delta(before, after, "gateway_token_fetches_total", provider="volue", outcome="ok") == \
        volue_stats.token_fetches == 1
    assert delta(before, after, "gateway_token_fetches_total", provider="zaehlerfreunde", outcome="ok") \
        == zf_stats.token_fetches == 1

    # the outbox is drained: depth 0 and no open task ageing
    for provider in ("volue", "zaehlerfreunde"):
        assert value(after, "gateway_outbox_tasks", provider=provider, status="pending") == 0
        assert value(after, "gateway_outbox_tasks", provider=provider, status="dead") == 0
        assert value(after, "gateway_outbox_oldest_pending_age_seconds", provider=provider) == 0
    for outcome in ("accepted", "rejected", "delivered"):
        assert ("gateway_readings_total", frozenset({("outcome", outcome)})) in after
    assert ("gateway_webhook_deliveries_total",
            frozenset({("provider", "volue"), ("outcome", "accepted")})) in after


async def test_outbox_depth_and_age_while_upstream_is_down(live_client: AsyncTestClient,
                                                           emulators: dict[str, Any]) -> None:
    """With Volue answering 5xx, its task shows as open with an age, and retries are counted."""
    emulation = emulators["volue"].state.emulation
    emulation.set_faults(FaultPlan(error_rate=1.0, seed=1))
    before = await scrape(live_client)
    created = await live_client.post("/v1/customers", json={**TREE, "externalRef": "c-m", "sites": [],
                                                            "vehicles": []})
    assert created.status_code == 201, created.text
    for _ in range(200):
        now = await scrape(live_client)
        if delta(before, now, "gateway_task_retries_total", provider="volue", kind="customer") >= 1:
            break
        await asyncio.sleep(0.05)
    assert delta(before, now, "gateway_task_retries_total", provider="volue", kind="customer") >= 1
    assert delta(before, now, "gateway_task_attempts_total", provider="volue", kind="customer",
                 outcome="retry") >= 1
    failed_calls = sum(delta(before, now, "gateway_upstream_calls_total", provider="volue", status=str(code))
                       for code in (500, 502, 503))
    assert failed_calls >= 1
    open_tasks = (value(now, "gateway_outbox_tasks", provider="volue", kind="customer", status="pending")
                  + value(now, "gateway_outbox_tasks", provider="volue", kind="customer", status="running"))
    assert open_tasks == 1
    assert value(now, "gateway_outbox_oldest_pending_age_seconds", provider="volue", kind="customer") > 0
    emulation.set_faults(FaultPlan())
    # On a slow machine enough failed tries can pass before the scrape above to open Volue's
    # circuit, which then holds the queue for circuit_open_s (30 s) before its probe.
    await wait_synced(live_client, [f"/v1/customers/{created.json()['id']}"], timeout=45.0)
    drained = await scrape(live_client)
    assert value(drained, "gateway_outbox_tasks", provider="volue", kind="customer", status="pending") == 0


async def test_reading_and_webhook_counters_count(client: AsyncTestClient) -> None:
    """count_readings and count_webhook_delivery show up in /metrics; an unknown outcome is refused."""
    before = await scrape(client)
    count_readings("accepted", 10)
    count_readings("rejected", 2)
    count_readings("delivered", 7)
    count_webhook_delivery("volue", "accepted")
    after = await scrape(client)
    assert delta(before, after, "gateway_readings_total", outcome="accepted") == 10
    assert delta(before, after, "gateway_readings_total", outcome="rejected") == 2
    assert delta(before, after, "gateway_readings_total", outcome="delivered") == 7
    assert delta(before, after, "gateway_webhook_deliveries_total", provider="volue", outcome="accepted") == 1
    try:
        count_readings("lost", 1)
    except ValueError as exc:
        assert "lost" in str(exc)
    else:
        raise AssertionError("an unknown readings outcome was accepted")


async def test_readings_api_counts_accepted_and_rejected(client: AsyncTestClient) -> None:
    """POST /v1/readings moves the accepted and rejected counters by what it answered; a replay does not."""
    created = (await client.post("/v1/customers", json=TREE)).json()
    site = (await client.get(f"/v1/customers/{created['id']}/sites")).json()["items"][0]
    meter = next(d for d in (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
                 if d["kind"] == "meter")
    good = [{"deviceId": meter["id"], "obisCode": "1.8.0", "timestamp": 1714635961 + i, "value": 1.5 + i}
            for i in range(3)]
    bad = {"deviceId": meter["id"], "obisCode": "1.8.0", "timestamp": 1714635961, "value": "NaN"}
    payload = {"readings": [*good, bad]}
    before = await scrape(client)
    headers = {"Idempotency-Key": "metrics-readings"}
    answer = await client.post("/v1/readings", json=payload, headers=headers)
    assert answer.status_code == 202, answer.text
    assert (await client.post("/v1/readings", json=payload, headers=headers)).status_code == 202
    after = await scrape(client)
    assert delta(before, after, "gateway_readings_total", outcome="accepted") == 3
    assert delta(before, after, "gateway_readings_total", outcome="rejected") == 1
