"""Sending one logical call: the Idempotency-Key, the retries and the answer's decoding."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .errors import parse_retry_after, problem_from

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
IN_PROGRESS = "/idempotency-in-progress"
MAX_WAIT_S = 60.0
"""The longest single wait between attempts, whatever ``Retry-After`` asks."""


def body_of(value: Any) -> Any:
    """A request body as plain JSON data: a generated model (its ``to_dict``), a dict or list
    as given, or None."""
    if value is None or isinstance(value, dict | list):
        return value
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"a request body must be a model of gateway_client.models or a dict, not {value!r}")


@dataclass(frozen=True)
class Call:
    """One request as the caller meant it; every attempt sends exactly these bytes."""

    method: str
    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None
    model: Any = None
    """A generated model class whose ``from_dict`` reads the answer; None: the JSON as it is."""
    idempotency_key: str | None = None

    def request(self) -> tuple[dict[str, str], bytes | None, dict[str, Any]]:
        """Headers, body bytes and query of every attempt. The body is canonical JSON (sorted
        keys), so a model and the equal dict send the same bytes under one key."""
        headers: dict[str, str] = {}
        content: bytes | None = None
        if self.method in WRITES:
            headers["Idempotency-Key"] = self.idempotency_key or str(uuid.uuid4())
        if self.json is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body_of(self.json), separators=(",", ":"), sort_keys=True,
                                 ensure_ascii=False).encode()
        params = {k: _param(v) for k, v in self.params.items() if v is not None}
        return headers, content, params


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def decode(call: Call, response: httpx.Response) -> Any:
    """The answer of a successful ``response``, or raise its problem."""
    if response.status_code >= 400:
        raise problem_from(response)
    if response.status_code == 204 or not response.content:
        return None
    data = response.json()
    if call.model is not None and isinstance(data, dict):
        return call.model.from_dict(data)
    return data


def retry_wait(response: httpx.Response | None, attempt: int) -> float | None:
    """How long to wait before sending again, or None when this answer is final."""
    if response is not None:
        status = response.status_code
        retryable = status in (429, 503) or (status == 409 and _in_progress(response))
        if not retryable:
            return None
        asked = parse_retry_after(response.headers.get("Retry-After"))
        if asked is not None:
            return min(asked, MAX_WAIT_S)
    # Exponential back-off with jitter when the gateway said nothing (or never answered).
    return min(MAX_WAIT_S, 0.1 * 2**attempt) * (0.5 + random.random() / 2)


def _in_progress(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and str(body.get("type", "")).endswith(IN_PROGRESS)


class SyncTransport:
    """Runs calls on an ``httpx.Client`` with at most ``max_retries`` retries each."""

    def __init__(self, http: httpx.Client, max_retries: int) -> None:
        self.http = http
        self.max_retries = max_retries

    def run(self, call: Call) -> Any:
        headers, content, params = call.request()
        attempt = 0
        while True:
            try:
                response = self.http.request(call.method, call.path, params=params, headers=headers,
                                             content=content)
            except httpx.TransportError:
                if attempt >= self.max_retries:
                    raise
                wait = retry_wait(None, attempt)
            else:
                wait = retry_wait(response, attempt) if attempt < self.max_retries else None
                if wait is None:
                    return decode(call, response)
            attempt += 1
            time.sleep(wait or 0.0)


class AsyncTransport:
    """Runs calls on an ``httpx.AsyncClient`` with at most ``max_retries`` retries each."""

    def __init__(self, http: httpx.AsyncClient, max_retries: int) -> None:
        self.http = http
        self.max_retries = max_retries

    async def run(self, call: Call) -> Any:
        headers, content, params = call.request()
        attempt = 0
        while True:
            try:
                response = await self.http.request(call.method, call.path, params=params,
                                                   headers=headers, content=content)
            except httpx.TransportError:
                if attempt >= self.max_retries:
                    raise
                wait = retry_wait(None, attempt)
            else:
                wait = retry_wait(response, attempt) if attempt < self.max_retries else None
                if wait is None:
                    return decode(call, response)
            attempt += 1
            await asyncio.sleep(wait or 0.0)
