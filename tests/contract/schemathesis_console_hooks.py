"""Schemathesis hooks for the console's fuzz run (loaded through ``SCHEMATHESIS_HOOKS``).

Every console route but sign-in needs a session, and every form post a CSRF token that
matches its cookie; neither can be generated. Before each call the hooks sign in to the
console (once, then again after a generated sign-out ended the session), with the admin
key from ``GATEWAY_FUZZ_API_KEY`` at ``GATEWAY_FUZZ_CONSOLE_URL`` (loopback), and give the
case the session and CSRF cookies. A form body that is an object gets the valid token in
its ``_csrf_token`` field (as the console's own forms do); any other body (a negative case
Schemathesis could not send as form fields) carries it in Litestar's CSRF header instead.
Each answer's status is noted for the test to show that the calls got past the session and
CSRF checks.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import schemathesis

from gateway.console.auth import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, SIGN_IN_PATH

CSRF_HEADER = "x-csrftoken"
"""The header Litestar's CSRF middleware reads before the form field."""
_signed_in: dict[str, str] = {}
"""The cookies of the current console session (empty: sign in before the next call)."""


def sign_in(base_url: str, api_key: str) -> dict[str, str]:
    """The session and CSRF cookies of a new console session opened with ``api_key``."""
    assert base_url.startswith("http://127.0.0.1:"), base_url  # loopback only
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        client.get(SIGN_IN_PATH).raise_for_status()
        token = client.cookies[CSRF_COOKIE]
        answer = client.post(SIGN_IN_PATH, data={CSRF_FIELD: token, "apiKey": api_key})
        assert answer.status_code == 303, (answer.status_code, answer.text[:500])
        return {SESSION_COOKIE: client.cookies[SESSION_COOKIE], CSRF_COOKIE: token}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Every call carries a live session and the CSRF token of its cookie."""
    if not _signed_in:
        _signed_in.update(sign_in(os.environ["GATEWAY_FUZZ_CONSOLE_URL"], os.environ["GATEWAY_FUZZ_API_KEY"]))
    case.cookies = {**(case.cookies or {}), **_signed_in}
    if case.method.upper() != "POST":
        return
    if isinstance(case.body, dict):
        case.body[CSRF_FIELD] = _signed_in[CSRF_COOKIE]
    else:
        case.headers = {**(case.headers or {}), CSRF_HEADER: _signed_in[CSRF_COOKIE]}


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """A sign-out that went through ended the session: the next call signs in again. Each answer's
    status is noted, one line per call, in ``GATEWAY_FUZZ_STATUS_LOG`` when it is set."""
    if case.path == "/console/sign-out" and response.status_code == 303:
        _signed_in.clear()
    if log := os.environ.get("GATEWAY_FUZZ_STATUS_LOG"):
        with open(log, "a", encoding="utf-8") as notes:
            notes.write(f"{case.method.upper()} {case.path} {response.status_code}\n")
