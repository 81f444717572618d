"""The onboarding CSV validator: the sample parses, rows group by customer, every bad row is named."""

from __future__ import annotations

from pathlib import Path

from gateway.core.domain import DeviceKind, Provider
from gateway.ops.onboarding import COLUMNS, locate, parse_csv
from gateway.ops.onboarding_plan import batch_key, batches, planned_calls

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "examples" / "onboarding.csv"
HEADER = ",".join(COLUMNS)


def row(**cells: str) -> str:
    """One CSV line with the given cells and every other column blank."""
    unknown = set(cells) - set(COLUMNS)
    assert not unknown, unknown
    return ",".join(cells.get(column, "") for column in COLUMNS)


def customer(ref: str = "c-1", **cells: str) -> dict[str, str]:
    return {"customer_ref": ref, "customer_name": "Kari", "customer_email": f"{ref}@example.com", **cells}


def site(ref: str = "s-1", **cells: str) -> dict[str, str]:
    return {"site_ref": ref, "site_name": "Home", "site_kind": "residential", "address_line1": "Storgata 1",
            "postcode": "0155", "city": "Oslo", "country": "NO", **cells}


def meter(ref: str = "m-1", **cells: str) -> dict[str, str]:
    return {"meter_ref": ref, "meter_name": "Meter", "medium": "electricity",
            "meter_point_id": "707057500012345678", **cells}


def csv_of(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def test_sample_file_parses_into_grouped_customers() -> None:
    """The repository's sample file is valid and its rows group into customers, sites and devices."""
    parsed = parse_csv(SAMPLE.read_bytes())
    assert parsed.problems == []
    refs = [c.body.external_ref for c in parsed.customers]
    assert refs == [f"crm-1000{i}" for i in range(1, 8)]
    kari = parsed.customers[0]
    assert [s.external_ref for s in kari.body.sites] == ["crm-10001-home", "crm-10001-cabin"]
    assert [d.external_ref for d in kari.body.sites[0].devices] == ["crm-10001-m1", "crm-10001-hw"]
    assert [v.external_ref for v in kari.body.vehicles] == ["crm-10001-car"]
    assert kari.body.vehicles[0].year == 2023 and kari.body.vehicles[0].capacity == 78.0
    assert kari.body.sites[0].devices[0].is_main is True
    assert kari.body.sites[0].coordinates is not None
    assert kari.records == {"": (2, "customer"), "sites[0]": (2, "site"), "sites[0].devices[0]": (2, "meter"),
                            "sites[0].devices[1]": (2, "device"), "sites[1]": (4, "site"),
                            "sites[1].devices[0]": (4, "meter"), "vehicles[0]": (3, "device")}
    kinds = {d.kind for c in parsed.customers for s in c.body.sites for d in s.devices}
    assert {DeviceKind.METER, DeviceKind.HOT_WATER_TANK, DeviceKind.CHARGER} <= kinds
    assert parsed.customers[2].body.providers == [Provider.ZAEHLERFREUNDE]
    assert parsed.customers[1].body.providers == [Provider.VOLUE, Provider.ZAEHLERFREUNDE]
    assert len(parsed.digest) == 64


def test_rows_of_one_customer_and_site_merge_and_blank_cells_inherit() -> None:
    """Later rows of a customer and site may leave cells blank or repeat them; they add devices."""
    data = csv_of(
        row(**customer(), **site(), **meter()),
        row(customer_ref="c-1", site_ref="s-1", **meter("m-2", medium="gas", meter_point_id="")),
        row(**customer(), **site(), device_ref="t-1", device_kind="hot_water_tank", device_name="Tank"),
        row(customer_ref="c-2", customer_name="Ola", customer_email="ola@example.com"),
    )
    parsed = parse_csv(data)
    assert parsed.problems == []
    first, second = parsed.customers
    assert [d.external_ref for d in first.body.sites[0].devices] == ["m-1", "m-2", "t-1"]
    assert first.body.sites[0].devices[1].meter_point_id is None
    assert second.body.sites == [] and second.line == 5


def test_every_bad_row_is_named_with_its_line_and_field() -> None:
    """Each broken cell is reported on its own line and column, all at once, and nothing is returned."""
    data = csv_of(
        row(**customer("c-1", customer_email="not-an-email"), **site()),                       # 2
        row(**customer("c-2"), **site("s-2", site_kind="castle"), **meter("m-2")),             # 3
        row(**customer("c-3"), **site("s-3", latitude="91", longitude="10")),                 # 4
        row(**customer("c-4"), **site("s-4"), **meter("m-4", meter_point_id="12345")),        # 5
        row(**customer("c-5"), **site("s-5"), **meter("m-5", medium="")),                     # 6
        row(**customer("c-6"), device_ref="v-6", device_kind="vehicle", device_name="Car",   # 7
            brand="Polestar", model="2", year="twenty", vin="YSMED1234PE123456"),
        row(**customer("c-7"), device_ref="v-7", device_kind="vehicle", device_name="Car",   # 8
            brand="Polestar", model="2", year="2023", vin="IOQ"),
        row(**customer("c-8"), **meter("m-8")),                                               # 9
        row(**customer("c-9"), **site("s-9"), device_ref="d-9", device_kind="meter",          # 10
            device_name="Meter"),
        row(**customer("c-2", customer_name="Someone else")),                                 # 11
        row(**customer("c-10"), **site("s-2")),                                               # 12
        row(**customer("c-11"), **site("s-11"), **meter("m-2")),                              # 13
        row(customer_name="Nobody", customer_email="nobody@example.com"),                    # 14
        row(**customer("c-12"), **site("s-12"), **meter("m-12", is_main="maybe")),            # 15
        row(**customer("c-13"), **site("s-13", postcode="")),                                 # 16
        row(**customer("c-14", providers="volue;elsewhere")),                                 # 17
    )
    parsed = parse_csv(data)
    assert parsed.customers == []
    named = {(p.line, p.field) for p in parsed.problems}
    assert named == {
        (2, "customer_email"), (3, "site_kind"), (4, "latitude"), (5, "meter_point_id"), (6, "medium"),
        (7, "year"), (8, "vin"), (9, "site_ref"), (10, "device_kind"), (11, "customer_name"),
        (12, "site_ref"), (13, "meter_ref"), (14, "customer_ref"), (15, "is_main"), (16, "postcode"),
        (17, "providers"),
    }
    by_line = {p.line: p.detail for p in parsed.problems}
    assert "'castle' is not one of: residential, commercial, other" in by_line[3]
    assert "differs from 'Kari' on line 3" in by_line[11]
    assert "already belongs to customer 'c-2'" in by_line[12]
    assert "'12345' is not an 18-digit GSRN/EAN" in by_line[5]
    assert by_line[6] == "a meter needs a medium"
    assert by_line[16] == "postcode is required"
    assert [p.detail for p in parsed.problems if p.line == 7] == ["'twenty' is not a whole number"]


def test_header_problems_are_reported_on_line_one() -> None:
    """Unknown, missing and repeated columns are named on line 1 before any row is read."""
    parsed = parse_csv(b"customer_ref,customer_name,colour,colour\nc-1,Kari,blue,red\n")
    assert {(p.line, p.field) for p in parsed.problems} == {(1, "colour"), (1, "customer_email")}
    assert any("unknown column" in p.detail for p in parsed.problems)
    assert parse_csv(b"").problems[0].line == 1
    assert parse_csv(b"\xff\xfe\x00").problems[0].detail == "the file is not UTF-8 text"


def test_semicolons_bom_quoted_newlines_and_blank_rows() -> None:
    """Excel-style files (BOM, semicolons, comma decimals) parse; line numbers follow physical lines."""
    header = ";".join(COLUMNS)
    cells = {**customer(), **site(latitude="59,91", longitude="10,75"),
             **meter(meter_name='"Main\nmeter"')}
    first = ";".join(cells.get(c, "") for c in COLUMNS)
    bad = ";".join({**customer("c-2"), **site("s-2", country="Norway")}.get(c, "") for c in COLUMNS)
    data = ("\ufeff" + "\n".join([header, first, ";" * (len(COLUMNS) - 1), bad]) + "\n").encode()
    parsed = parse_csv(data)
    assert [(p.line, p.field) for p in parsed.problems] == [(5, "country")]
    good = parse_csv(("\ufeff" + header + "\n" + first + "\n").encode())
    assert good.problems == []
    body = good.customers[0].body
    assert body.sites[0].coordinates is not None and body.sites[0].coordinates.latitude == 59.91
    assert body.sites[0].devices[0].name == "Main\nmeter"


def test_too_many_cells_and_too_many_sites_are_named() -> None:
    """A row wider than the header is refused; the API's list limits point at the customer's line."""
    wide = parse_csv(csv_of(row(**customer()) + ",extra"))
    assert [(p.line, p.field) for p in wide.problems] == [(2, "")]
    many = csv_of(*(row(**customer(), **site(f"s-{i}")) for i in range(51)))
    parsed = parse_csv(many)
    assert [(p.line, p.field) for p in parsed.problems] == [(2, "site_ref")]
    assert "50" in parsed.problems[0].detail


def test_api_error_paths_map_back_to_lines_and_columns() -> None:
    """A batch item error's field path names the CSV line and column it came from."""
    parsed = parse_csv(SAMPLE.read_bytes())
    kari = parsed.customers[0]
    assert locate(kari.records, "externalRef") == (2, "customer_ref")
    assert locate(kari.records, "email") == (2, "customer_email")
    assert locate(kari.records, "sites[1].externalRef") == (4, "site_ref")
    assert locate(kari.records, "sites[1].address.postcode") == (4, "postcode")
    assert locate(kari.records, "sites[0].devices[1].externalRef") == (2, "device_ref")
    assert locate(kari.records, "sites[1].devices[0].meterPointId") == (4, "meter_point_id")
    assert locate(kari.records, "vehicles[0].vin") == (3, "vin")
    assert locate(kari.records, "sites") == (2, "site_ref")


def test_planned_calls_follow_provider_capabilities() -> None:
    """Dry-run calls name which provider gets which object, as the API's outbox planning does."""
    data = csv_of(
        row(**customer("c-1"), **site(), **meter(), device_ref="t-1", device_kind="hot_water_tank",
            device_name="Tank"),
        row(**customer("c-2", providers="zaehlerfreunde"), **site("s-2"), **meter("m-2")),
        row(customer_ref="c-1", device_ref="v-1", device_kind="vehicle", device_name="Car", brand="VW",
            model="ID.4", year="2021", vin="WVGZZZE2ZMP012345"),
    )
    parsed = parse_csv(data)
    assert parsed.problems == []
    calls = {(c.provider.value, c.record, c.call.split(":")[0]) for c in planned_calls(parsed.customers)}
    assert calls == {
        ("volue", "customer c-1", "user"), ("volue", "site s-1", "location"),
        ("zaehlerfreunde", "site s-1", "space"), ("zaehlerfreunde", "meter m-1", "device"),
        ("volue", "meter m-1 (707057500012345678)", "meterPointIds on the location"),
        ("volue", "hot_water_tank t-1", "resource"), ("volue", "vehicle v-1", "vehicle"),
        ("zaehlerfreunde", "site s-2", "space"), ("zaehlerfreunde", "meter m-2", "device"),
    }


def test_planned_calls_leave_out_what_the_gateway_has() -> None:
    """With ``missing`` given, only the missing records of existing customers are planned; new
    customers are planned whole."""
    data = csv_of(
        row(**customer("c-1"), **site(), **meter(), device_ref="t-1", device_kind="hot_water_tank",
            device_name="Tank"),
        row(**customer("c-2", providers="zaehlerfreunde"), **site("s-2"), **meter("m-2")),
    )
    parsed = parse_csv(data)
    assert parsed.problems == []
    calls = planned_calls(parsed.customers, missing={"c-1": {"sites[0].devices[1]"}, "c-2": None})
    assert {(c.provider.value, c.record) for c in calls} == {
        ("volue", "hot_water_tank t-1"), ("zaehlerfreunde", "site s-2"), ("zaehlerfreunde", "meter m-2")}
    assert planned_calls(parsed.customers, missing={"c-1": set(), "c-2": set()}) == []


def test_batches_respect_count_and_size_and_keys_are_stable() -> None:
    """Batches hold at most ``size`` customers and about ``max_bytes``; keys depend on file and batch."""
    data = csv_of(*(row(**customer(f"c-{i}")) for i in range(25)))
    parsed = parse_csv(data)
    assert [len(b) for b in batches(parsed.customers, size=10)] == [10, 10, 5]
    small = batches(parsed.customers, size=1000, max_bytes=500)
    assert all(1 <= len(b) <= 5 for b in small) and sum(len(b) for b in small) == 25
    assert [c.body.external_ref for b in small for c in b] == [f"c-{i}" for i in range(25)]
    assert batch_key(parsed.digest, 10, 0) == batch_key(parse_csv(data).digest, 10, 0)
    assert len({batch_key(parsed.digest, 10, n) for n in range(3)} | {batch_key(parsed.digest, 5, 0)}) == 4
    assert batch_key(parse_csv(data + b"\n").digest, 10, 0) != batch_key(parsed.digest, 10, 0)
