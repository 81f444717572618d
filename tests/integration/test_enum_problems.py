"""A bad enum value in a request body is answered with the values that are accepted."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from gateway.customers import schemas as s
from gateway.http.enum_values import valid_values, with_valid_values

SITE = {"externalRef": "enum-s-1", "name": "Hjem", "kind": "castle",
        "address": {"line1": "Vei 1", "postcode": "0155", "city": "Oslo", "country": "NO"}}


async def test_bad_enum_in_a_body_lists_the_valid_values(client: AsyncTestClient) -> None:
    """A site kind that does not exist: 400 naming the field and every accepted kind."""
    response = await client.post("/v1/customers", json={
        "externalRef": "enum-c-1", "name": "Kari", "email": "kari@example.com", "sites": [SITE]})
    assert response.status_code == 400
    problem = response.json()
    assert problem["field"] == "sites[0].kind"
    assert problem["detail"] == "Invalid enum value 'castle'; one of: residential, commercial, other"


def test_values_are_found_through_lists_optionals_and_nested_objects() -> None:
    """The enum is looked up along the field path; paths that lead to no enum add nothing."""
    media = ["electricity", "gas", "water", "heat"]
    assert valid_values(s.CustomerCreate, "sites[3].devices[0].medium") == media
    assert valid_values(s.CustomerCreate, "providers[0]") == ["volue", "zaehlerfreunde"]
    assert valid_values(s.CustomerCreate, "name") is None
    assert valid_values(s.CustomerCreate, "nothing.here") is None
    assert with_valid_values("Expected `str`", s.CustomerCreate, "sites[0].kind") == "Expected `str`"
