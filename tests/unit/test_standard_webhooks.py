"""Standard Webhooks signing as the ``standardwebhooks`` library verifies it; the secrets box."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from gateway.core.secrets_box import KEY_FILE_NAME, SecretsBox, key_file
from gateway.core.settings import SettingsError, load_settings
from gateway.events.forwarding import SECRET_PREFIX, new_secret, sign


def _headers(msg_id: str, stamp: int, signature: str) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp), "webhook-signature": signature}


@settings(max_examples=50, deadline=None)
@given(body=st.dictionaries(st.text(max_size=10), st.text(max_size=40), max_size=5).map(msgspec.json.encode),
       msg_id=st.text("abcdef0123456789-", min_size=1, max_size=40))
def test_library_verifies_our_signature(body: bytes, msg_id: str) -> None:
    """Whatever the body and id, standardwebhooks accepts the signature we compute."""
    secret = new_secret()
    stamp = int(datetime.now(UTC).timestamp())
    Webhook(secret).verify(body, _headers(msg_id, stamp, sign(secret, msg_id, stamp, body)))


def test_signature_matches_the_library_byte_for_byte() -> None:
    """Our ``v1,...`` value equals the library's own signing of the same message."""
    secret = new_secret()
    at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    ours = sign(secret, "msg_1", int(at.timestamp()), b'{"a":1}')
    assert ours == Webhook(secret).sign("msg_1", at, '{"a":1}')


def test_tampering_is_detected() -> None:
    """A changed body, id or another secret makes the library refuse the signature."""
    secret = new_secret()
    stamp = int(datetime.now(UTC).timestamp())
    signature = sign(secret, "m1", stamp, b"{}")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b"{ }", _headers("m1", stamp, signature))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b"{}", _headers("m2", stamp, signature))
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(b"{}", _headers("m1", stamp, signature))


def test_new_secrets_follow_the_whsec_convention() -> None:
    """Secrets are ``whsec_`` plus base64 of 32 random bytes, never repeated."""
    first, second = new_secret(), new_secret()
    assert first.startswith(SECRET_PREFIX) and first != second
    assert len(base64.b64decode(first.removeprefix(SECRET_PREFIX))) == 32


def test_box_round_trip_and_rotation() -> None:
    """A sealed secret opens with its key, also after a new key is put in front; not with another."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SecretsBox(keys=old).seal("whsec_abc")
    assert "whsec_abc" not in sealed
    assert SecretsBox(keys=f"{new},{old}").open(sealed) == "whsec_abc"
    with pytest.raises(SettingsError):
        SecretsBox(keys=new).open(sealed)


def test_malformed_key_is_refused_at_load() -> None:
    """GATEWAY_SECRETS_KEY that is not a Fernet key stops start-up, naming the variable."""
    with pytest.raises(SettingsError, match="GATEWAY_SECRETS_KEY"):
        load_settings({"GATEWAY_SECRETS_KEY": "not-a-key"})


def test_embedded_sqlite_key_lives_beside_the_database(tmp_path: Path) -> None:
    """Without a key, embedded SQLite gets a 0600 key file next to the database, reused after."""
    settings = load_settings({}, database_url=f"sqlite+aiosqlite:///{tmp_path / 'g.db'}")
    assert key_file(settings) == tmp_path.resolve() / KEY_FILE_NAME
    sealed = SecretsBox.from_settings(settings).seal("s")
    assert (tmp_path / KEY_FILE_NAME).stat().st_mode & 0o777 == 0o600
    assert SecretsBox.from_settings(settings).open(sealed) == "s"


def test_postgres_without_key_fails_clearly() -> None:
    """PostgreSQL (or scale-out) without a configured key gets a message naming the setting."""
    settings = load_settings({}, database_url="postgresql+asyncpg://u@127.0.0.1/db")
    with pytest.raises(SettingsError, match="GATEWAY_SECRETS_KEY"):
        SecretsBox.from_settings(settings)
