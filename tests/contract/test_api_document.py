"""The served OpenAPI document: bodies of every write, one problem schema, README examples valid."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core.settings import load_settings
from tests.conftest import ADMIN_KEY, REPO

WRITES = ("post", "patch", "put")
NO_INPUT = {
    ("post", "/v1/sync/tasks/{task_id}/retry"),
    ("post", "/v1/webhook-subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver"),
}
"""Actions on the record their path names, which take no input."""
PROBLEM_REF = "#/components/schemas/Problem"


@pytest.fixture
async def document(sqlite_url: str) -> AsyncIterator[dict[str, Any]]:
    settings = load_settings({}, database_url=sqlite_url, admin_api_key=ADMIN_KEY)
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        yield (await client.get("/schema/openapi.json")).json()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, operation) for path, item in document["paths"].items()
            for method, operation in item.items() if isinstance(operation, dict)]


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of ``schema`` whose ``#/components/...`` references resolve in ``document``."""
    return Draft202012Validator({**schema, "components": document["components"]})


async def test_every_write_operation_documents_its_request_body(document: dict[str, Any]) -> None:
    """Each POST/PATCH/PUT declares a JSON request body schema (except input-less actions)."""
    missing = [
        f"{method.upper()} {path}" for method, path, operation in operations(document)
        if method in WRITES and (method, path) not in NO_INPUT
        and "schema" not in operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ]
    assert missing == []
    assert len([1 for method, _, _ in operations(document) if method in WRITES]) >= 17


async def test_errors_share_one_problem_schema_and_writes_take_idempotency_keys(
        document: dict[str, Any]) -> None:
    """Every 4xx is application/problem+json with the shared schema; POSTs document Idempotency-Key."""
    for method, path, operation in operations(document):
        errors = {code: answer for code, answer in operation["responses"].items() if code.startswith("4")}
        assert "400" in errors, f"{method} {path}"
        for code, answer in errors.items():
            assert answer["content"] == {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}}, \
                f"{method} {path} {code}"
        if method == "post" and operation.get("security"):
            assert any(p["name"] == "Idempotency-Key" and p["in"] == "header"
                       for p in operation["parameters"]), f"{method} {path}"
            assert {"401", "403", "429"} <= set(errors), f"{method} {path}"
        for requirement in operation.get("security") or []:
            assert len(requirement["apiKey"]) == 1, f"{method} {path} names its scope"


SINGLE_DOCUMENTS = {
    # one object each (a membership, an eligibility answer, a month's compensation), not lists
    "/v1/customers/{customer_id}/programmes/volue",
    "/v1/customers/{customer_id}/programmes/volue/eligibility",
    "/v1/customers/{customer_id}/programmes/volue/compensation",
    "/v1/meter-points/{meter_point_id}/eligibility",
    "/v1/sync/circuits",  # one circuit per configured provider, by provider
}


async def test_collections_answer_one_page_shape(document: dict[str, Any]) -> None:
    """Every GET of a collection answers {items, nextCursor} and takes limit and cursor."""
    listings = [(path, op) for method, path, op in operations(document)
                if method == "get" and path.startswith("/v1/") and not path.endswith("}")
                and path not in SINGLE_DOCUMENTS]
    assert len(listings) >= 11
    for path, operation in listings:
        names = {p["name"] for p in operation.get("parameters", [])}
        assert {"limit", "cursor"} <= names, path
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert set(page["properties"]) == {"items", "nextCursor"}, path


def readme_examples() -> list[tuple[str, str, Any]]:
    """(method, path, body) of every curl call in the README that sends a JSON body."""
    text = (REPO / "README.md").read_text()
    found = []
    for match in re.finditer(r"curl[^\n]*?-X (POST|PATCH|PUT) (\S+)(.*?)-d '(.*?)'", text, re.S):
        method, url, body = match.group(1), match.group(2), match.group(4)
        path = re.sub(r"\$\{?\w+\}?", "x", re.sub(r"^(https?://)?[^/]+(?=/)", "", url))
        found.append((method.lower(), path, json.loads(body)))
    return found


async def test_readme_examples_fit_the_document(document: dict[str, Any]) -> None:
    """Each JSON body the README sends validates against its operation's request body schema."""
    examples = readme_examples()
    assert len(examples) >= 1
    for method, path, body in examples:
        template = next(t for t in document["paths"] if re.fullmatch(
            re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(t)), re.sub(r"<[^>]+>", "x", path)))
        schema = document["paths"][template][method]["requestBody"]["content"]["application/json"]["schema"]
        errors = [e.message for e in validator(document, schema).iter_errors(body)]
        assert errors == [], f"{method.upper()} {path}: {errors}"


def test_readme_examples_are_found() -> None:
    """The README example scan sees the customer create of the first walk."""
    assert ("post", "/v1/customers") in {(m, p) for m, p, _ in readme_examples()}
    assert Path(REPO / "README.md").is_file()
