"""A customer → site → meter walk through the API."""

from litestar.testing import AsyncTestClient

CUSTOMER = {
    "externalRef": "cust-1",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "sites": [
        {
            "externalRef": "site-1",
            "name": "Home",
            "kind": "residential",
            "address": {"line1": "Storgata 1", "postcode": "0155", "city": "Oslo", "country": "NO"},
            "coordinates": {"latitude": 59.91, "longitude": 10.75},
            "devices": [
                {"externalRef": "meter-1", "kind": "meter", "name": "Main meter",
                 "medium": "electricity", "isMain": True, "meterPointId": "707057500012345678"}
            ],
        }
    ],
}


async def test_create_and_read_back_customer_tree(client: AsyncTestClient) -> None:
    """A nested create returns 201 and the tree reads back with pending sync per provider."""
    created = await client.post("/v1/customers", json=CUSTOMER)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["sync"]["volue"]["status"] == "pending"
    sites = (await client.get(f"/v1/customers/{body['id']}/sites")).json()["items"]
    assert [s["externalRef"] for s in sites] == ["site-1"]
    assert set(sites[0]["sync"]) == {"volue", "zaehlerfreunde"}
    devices = (await client.get(f"/v1/sites/{sites[0]['id']}/devices")).json()["items"]
    assert devices[0]["kind"] == "meter" and set(devices[0]["sync"]) == {"zaehlerfreunde"}
