"""``gateway onboard | invite | status`` end to end: the CLI against a gateway served over real HTTP,
its embedded worker syncing to both emulators."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.cli import main
from gateway.core.settings import load_settings
from providers.emulation import FaultPlan, serve_in_thread
from tests.conftest import ADMIN_KEY

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "onboarding.csv"
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def serve_gateway(database_url: str, emulators: dict[str, Any]) -> Iterator[Callable[..., Any]]:
    """Start a gateway (API + embedded worker, talking to the emulators) on a free port."""
    with contextlib.ExitStack() as stack:

        def start(**overrides: Any) -> str:
            options: dict[str, Any] = {
                "database_url": database_url, "admin_api_key": ADMIN_KEY,
                "volue_base_url": emulators["volue_url"] + "/energy-coordination/v1",
                "zf_base_url": emulators["zf_url"] + "/partner", "sync_backoff_base_s": 0.05,
                "sync_backoff_max_s": 2.0, "sync_max_attempts": 20, **overrides,
            }
            return stack.enter_context(serve_in_thread(create_app(load_settings({}, **options))))

        yield start


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """Run ``gateway <args>``; return its exit code, stdout and stderr. The logging set-up that
    ``main`` installs (onto the captured stderr) is undone afterwards."""
    monkeypatch.setenv("COLUMNS", "250")
    for name in ("GATEWAY_URL", "GATEWAY_API_KEY", "GATEWAY_ADMIN_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level

    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    yield invoke
    root.handlers[:] = handlers
    root.setLevel(level)


def _api(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10.0)


def _counts(emulators: dict[str, Any]) -> dict[str, int]:
    volue = emulators["volue"].state.volue.store.entity_counts()
    zf = emulators["zf"].state.zaehlerfreunde.entity_counts()
    return {"users": volue["users"], "locations": volue["locations"], "resources": volue["resources"],
            "spaces": zf["spaces"], "devices": zf["devices"], "invites": zf["invites"]}


def _planned_records(out: str) -> set[str]:
    """The record cells of the dry run's "Planned upstream calls" table."""
    found = set()
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 4 and cells[0].isdigit():
            found.add(cells[2])
    return found


def _row_value(out: str, label: str) -> str:
    """The value cell of the summary table row starting with ``label``."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if cells and cells[0] == label:
            return cells[1]
    raise AssertionError(f"no row {label!r} in:\n{out}")


def test_onboard_waits_for_sync_and_reruns_are_harmless(
    serve_gateway: Callable[..., str], emulators: dict[str, Any], run: Run, tmp_path: Path
) -> None:
    """The sample file syncs everywhere; the same file again replays, and an extended file only adds."""
    url = serve_gateway()
    connect = ("--url", url, "--api-key", ADMIN_KEY, "--interval", "0.1", "--timeout", "60")
    code, out, err = run("onboard", str(SAMPLE), "--wait", *connect)
    assert code == 0, out + err
    assert _row_value(out, "created") == "7" and _row_value(out, "failed") == "0"
    assert _row_value(out, "volue") == "23" and _row_value(out, "zaehlerfreunde") == "24"
    assert "Not synced" not in out and ADMIN_KEY not in out + err
    counts = _counts(emulators)
    assert counts == {"users": 6, "locations": 9, "resources": 8, "spaces": 9, "devices": 15, "invites": 0}
    with _api(url) as api:
        assert len(api.get("/v1/customers", params={"limit": 500}).json()["items"]) == 7

    code, out, err = run("onboard", str(SAMPLE), "--wait", *connect)
    assert code == 0, out + err
    assert _row_value(out, "already there") == "7" and _row_value(out, "created") == "0"
    assert _row_value(out, "records added to existing customers") == "0"
    assert _counts(emulators) == counts

    extended = tmp_path / "more.csv"
    extended.write_text(SAMPLE.read_text() + "\n".join([
        "crm-10002,,,,crm-10002-cabin,Sjøbu,other,,Kaien 1,,5003,Bergen,NO,,,crm-10002-m2,Boathouse meter,"
        "electricity,707057500098765449,,yes,,,,,,,,",
        "crm-10006,,,,crm-10006-home,,,,,,,,,,,,,,,,,crm-10006-hp,hvac,Heat pump,Nibe,F2120,2022,,",
        "crm-10006,,,,,,,,,,,,,,,,,,,,,crm-10006-car,vehicle,Car,Tesla,Model Y,2023,5YJYGDEE1MF123456,75",
        "crm-10008,Nils Lie,nils@example.no,volue,,,,,,,,,,,,,,,,,,,,,,,,,",
    ]) + "\n")
    code, out, err = run("onboard", str(extended), "--dry-run", *connect)
    assert code == 0, out + err
    assert _planned_records(out) == {
        "site crm-10002-cabin", "meter crm-10002-m2", "meter crm-10002-m2 (707057500098765449)",
        "hvac crm-10006-hp", "vehicle crm-10006-car", "customer crm-10008"}
    assert "exist at the gateway already and are left out of the plan" in out
    assert _counts(emulators) == counts
    code, out, err = run("onboard", str(extended), "--wait", *connect)
    assert code == 0, out + err
    assert _row_value(out, "created") == "1" and _row_value(out, "already there") == "7"
    assert _row_value(out, "records added to existing customers") == "4"
    after = _counts(emulators)
    assert after["users"] == 7 and after["locations"] == 10 and after["spaces"] == 10
    assert after["resources"] == 10 and after["devices"] == 17
    with _api(url) as api:
        nils = api.get("/v1/customers", params={"externalRef": "crm-10008"}).json()["items"]
        assert [c["providers"] for c in nils] == [["volue"]]


def test_dry_run_and_invalid_files_write_nothing(
    serve_gateway: Callable[..., str], emulators: dict[str, Any], run: Run, tmp_path: Path
) -> None:
    """--dry-run lists the planned calls; a file with bad rows names them and sends nothing."""
    url = serve_gateway()
    code, out, _ = run("onboard", str(SAMPLE), "--dry-run", "--url", url, "--api-key", ADMIN_KEY)
    assert code == 0
    assert "Planned upstream calls" in out and "dry run: nothing was written" in out
    assert "user: POST /users" in out and "space: POST /spaces" in out
    assert _row_value(out, "zaehlerfreunde") == "device: POST /spaces/{s}/devices"
    assert "0 of the file's" in out
    code, offline, _ = run("onboard", str(SAMPLE), "--dry-run")
    assert code == 0 and "Without an API key the gateway was not asked" in offline
    assert _planned_records(offline) == _planned_records(out)

    bad = tmp_path / "bad.csv"
    lines = SAMPLE.read_text().splitlines()
    lines[2] = lines[2].replace("YSMED1234PE123456", "NOT-A-VIN")
    lines[5] = lines[5].replace("anna.schmidt@example.de", "anna.schmidt")
    bad.write_text("\n".join(lines) + "\n")
    code, out, err = run("onboard", str(bad), "--url", url, "--api-key", ADMIN_KEY)
    assert code == 1
    assert _row_value(out, "3") == "vin" and _row_value(out, "6") == "customer_email"
    assert "2 row(s) need fixing; nothing was sent" in err

    with _api(url) as api:
        assert api.get("/v1/customers").json()["items"] == []
    assert set(_counts(emulators).values()) == {0}


def test_invite_and_status_show_links_and_sync(
    serve_gateway: Callable[..., str], emulators: dict[str, Any], run: Run
) -> None:
    """invite --wait prints the link once (re-invites reuse it); status draws the customer's tree."""
    url = serve_gateway()
    connect = ("--url", url, "--api-key", ADMIN_KEY, "--interval", "0.1")
    assert run("onboard", str(SAMPLE), "--wait", *connect)[0] == 0
    with _api(url) as api:
        kari = api.get("/v1/customers", params={"externalRef": "crm-10001"}).json()["items"][0]
        home = api.get(f"/v1/customers/{kari['id']}/sites").json()["items"][0]

    code, out, err = run("invite", "--site", home["id"], "--wait", *connect)
    assert code == 0, out + err
    link = out.strip().splitlines()[-1]
    assert link.startswith("https://") and "kari.nordmann@example.no" in out and "sent" in out
    code, out, _ = run("invite", "--site", home["id"], *connect)
    assert code == 0 and "already invited" in out and out.strip().splitlines()[-1] == link
    code, out, _ = run("invite", "--site", home["id"], "--email", "ola@example.no", "--no-send-email",
                       "--wait", *connect)
    assert code == 0 and out.strip().splitlines()[-1] != link
    invites = emulators["zf"].state.zaehlerfreunde.invites.values()
    assert sorted((i.user_email, i.send_email) for i in invites) == [
        ("kari.nordmann@example.no", True), ("ola@example.no", False)]

    for who in (kari["id"], "crm-10001"):
        code, out, _ = run("status", "--customer", who, *connect)
        assert code == 0
        assert f"customer Kari Nordmann (crm-10001, id {kari['id']}" in out
        assert "site Storgata 12 (crm-10001-home" in out and "site Hytta (crm-10001-cabin" in out
        assert "meter Main meter (crm-10001-m1" in out and "hot_water_tank Hot-water tank" in out
        assert "vehicle Family car (crm-10001-car" in out
        assert "volue: synced" in out and "zaehlerfreunde: synced" in out
        assert "pending" not in out and "failed" not in out


def test_wait_reports_failures_with_their_last_error(
    serve_gateway: Callable[..., str], emulators: dict[str, Any], run: Run
) -> None:
    """With Zählerfreunde down and no retry budget, --wait exits 1 and shows each failure's error."""
    url = serve_gateway(sync_retry_budget_s=0)
    emulators["zf"].state.emulation.set_faults(FaultPlan(error_rate=1.0, seed=3))
    code, out, _ = run("onboard", str(SAMPLE), "--wait", "--url", url, "--api-key", ADMIN_KEY,
                       "--interval", "0.1", "--timeout", "60")
    assert code == 1
    assert "Not synced" in out
    rows = [line for line in out.splitlines() if "│ zaehlerfreunde │" in line]
    failed = [line for line in rows if "│ failed" in line]
    blocked = [line for line in rows if "│ blocked" in line]
    assert len(failed) == 9 and all("site crm-" in line for line in failed)
    assert all("Injected upstream failure" in line for line in failed), out
    assert len(blocked) == 15
    assert any("meter crm-10001-m1" in line and "waits for site crm-10001-home, which failed at "
               "zaehlerfreunde" in line for line in blocked)
    assert _row_value(out, "volue") == "23"


def test_unreachable_gateway_and_refused_keys_are_explained(
    serve_gateway: Callable[..., str], run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connection errors name the URL, a bad key is refused without being shown, unknown ids say so."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    secret = "gw_not-a-real-key-1234567890"
    code, out, err = run("status", "--customer", "x", "--url", closed, "--api-key", secret)
    assert code == 2 and f"could not reach the gateway at {closed}" in err
    assert secret not in out + err

    url = serve_gateway()
    code, out, err = run("status", "--customer", "x", "--url", url, "--api-key", secret)
    assert code == 2 and "401" in err and "unknown or revoked" in err and secret not in out + err
    monkeypatch.setenv("GATEWAY_URL", url)
    monkeypatch.setenv("GATEWAY_API_KEY", ADMIN_KEY)
    code, out, err = run("status", "--customer", "no-such-customer")
    assert code == 1 and "404" in err and "not found" in err
    code, _, err = run("invite", "--site", "no-such-site")
    assert code == 1 and "site no-such-site not found" in err
    monkeypatch.delenv("GATEWAY_API_KEY")
    code, _, err = run("status", "--customer", "x")
    assert code == 2 and "no API key" in err
