"""Schemathesis over the console's pages and forms, signed in, on SQLite.

The console is not in the served document; :func:`gateway.console.fuzz_document.console_document`
builds one from its controllers, written to a temporary file here. The gateway is served on
loopback (no worker), ``schemathesis_console_hooks.py`` signs in with the admin key and gives
every case the session cookie and a valid CSRF token, and Schemathesis runs its examples,
coverage and fuzzing phases with positive and negative data. The checks turned off for the
console are listed, with their reasons, in ``tests/contract/schemathesis.toml``.

Sized like the API's run by ``GATEWAY_FUZZ_EXAMPLES`` (default 5) and ``GATEWAY_FUZZ_SEED``
(default 1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.console.auth import CSRF_COOKIE, CSRF_FIELD
from gateway.console.fuzz_document import console_document
from gateway.core.settings import Settings, load_settings
from providers.emulation import serve_in_thread
from providers.volue.emulator.app import create_app as volue_app
from providers.zaehlerfreunde.emulator.app import create_app as zf_app
from tests.conftest import REPO
from tests.contract.schemathesis_console_hooks import sign_in
from tests.contract.test_api_fuzz import EXAMPLES, FUZZ_KEY, HERE, SEED, UNLIMITED

STATIC = "/console/static"
BOUNDARY = "console-fuzz-boundary"


def _part(name: str, content_type: str, data: bytes) -> bytes:
    return (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n").encode() + data + b"\r\n"


def test_a_multipart_text_field_that_is_not_text_is_a_400_naming_it(sqlite_url: str) -> None:
    """A multipart text field whose bytes are not UTF-8, or whose charset is unknown, is a 400 naming it."""
    settings = load_settings({}, database_url=sqlite_url, admin_api_key=FUZZ_KEY)
    with serve_in_thread(create_app(settings, embedded_worker=False)) as base_url:
        cookies = sign_in(base_url, FUZZ_KEY)
        with httpx.Client(base_url=base_url, cookies=cookies, timeout=30.0) as client:
            for name, part in (("note", _part("note", "text/plain", b"\xff\xfe")),
                               ("remark", _part("remark", "text/plain; charset=no-such-charset", b"x"))):
                body = (_part(CSRF_FIELD, "text/plain", cookies[CSRF_COOKIE].encode()) + part
                        + f"--{BOUNDARY}--\r\n".encode())
                for method in ("POST", "OPTIONS"):
                    answer = client.request(method, "/console/onboarding/plan", content=body, headers={
                        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
                    assert answer.status_code == 400, (method, name, answer.text)
                    assert answer.headers["content-type"].startswith("application/problem+json")
                    assert answer.json()["field"] == name, answer.json()


def test_the_document_has_every_console_route(sqlite_url: str) -> None:
    """The console document names each method of each console route the app serves, and no other."""
    app = create_app(load_settings({}, database_url=sqlite_url, admin_api_key=FUZZ_KEY),
                     embedded_worker=False)
    console = [route for route in app.routes
               if route.path.startswith("/console") and not route.path.startswith(STATIC)]
    served = {(route.path.replace(":str}", "}").rstrip("/") or "/", method.lower())
              for route in console for method in route.methods if method not in ("HEAD", "OPTIONS")}
    paths = console_document()["paths"]
    documented = {(path.rstrip("/") or "/", method)
                  for path, operations in paths.items() for method in operations}
    assert served == documented
    assert not any(path.startswith("/v1") for path, _ in documented)


def _fuzz(settings: Settings, document: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    with serve_in_thread(create_app(settings, embedded_worker=False)) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        command = [
            str(Path(sys.executable).with_name("schemathesis")), "--no-color",
            "--config-file", str(HERE / "schemathesis.toml"),
            "run", str(document), "--url", base_url,
            "--mode", "all", "--phases", "examples,coverage,fuzzing",
            "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--workers", "1",
            "--report", "junit", "--report-junit-path", str(tmp_path / "junit.xml"),
        ]
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.contract.schemathesis_console_hooks",
               "GATEWAY_FUZZ_API_KEY": FUZZ_KEY, "GATEWAY_FUZZ_CONSOLE_URL": base_url,
               "GATEWAY_FUZZ_STATUS_LOG": str(tmp_path / "statuses.txt"),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=280,
                              check=False)


@pytest.mark.timeout(300)
def test_console_forms_never_fail_on_the_server(sqlite_url: str, tmp_path: Path) -> None:
    """Schemathesis, signed in, finds no 5xx (and no other failed check) in any console page or form."""
    document = tmp_path / "console.json"
    document.write_text(json.dumps(console_document()))
    # the Drift page lists what each provider holds: the emulators, served on loopback
    with serve_in_thread(volue_app()) as volue_url, serve_in_thread(zf_app()) as zf_url:
        settings = load_settings({}, database_url=sqlite_url, admin_api_key=FUZZ_KEY, **UNLIMITED,
                                 volue_base_url=volue_url + "/energy-coordination/v1",
                                 zf_base_url=zf_url + "/partner")
        result = _fuzz(settings, document, tmp_path)
    (tmp_path / "schemathesis.log").write_text(result.stdout + result.stderr)
    summary = result.stdout[result.stdout.find("SUMMARY"):] if "SUMMARY" in result.stdout else ""
    failures = result.stdout[result.stdout.find("FAILURES"):] if "FAILURES" in result.stdout else ""
    assert "Server error" not in result.stdout, failures[:30_000]
    assert result.returncode == 0, (failures[:30_000] or result.stdout[-20_000:]) + result.stderr[-5000:]
    assert "Tested: " in summary and "failures" not in summary.splitlines()[-1], summary
    answers = [line.rsplit(" ", 1) for line in (tmp_path / "statuses.txt").read_text().splitlines()]
    assert not [call for call, status in answers if status.startswith("5")]
    # every form post was taken past the session and CSRF checks at least once (signed in, valid token)
    paths = console_document()["paths"]
    posts = {f"POST {path}" for path, operations in paths.items() if "post" in operations}
    handled = {call for call, status in answers if status not in ("401", "403")}
    assert posts - {"POST /console/sign-in"} <= handled, sorted(posts - handled)
