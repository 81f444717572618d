"""Settings from ``GATEWAY_*`` variables: parsing, errors naming the variable, hidden secrets."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.core.settings import (
    EMULATED,
    SETTING_NAMES,
    Secret,
    Settings,
    SettingsError,
    load_settings,
)
from gateway.core.settings import variable as env_name

PG = "postgresql+asyncpg://gateway:pg-password-1@db.internal:5432/gateway"


def value_of(settings: Settings, name: str) -> Any:
    """The setting of a flat name (``readings_batch_size``) in its group."""
    group, field = SETTING_NAMES[name]
    return getattr(getattr(settings, group), field)


def typed_fields(kind: type) -> list[str]:
    defaults = Settings()
    return [name for name in SETTING_NAMES if type(value_of(defaults, name)) is kind]


def test_defaults_need_no_environment() -> None:
    """With no variables set the gateway runs embedded on SQLite against both emulators."""
    settings = load_settings({})
    assert settings == Settings()
    assert settings.embedded and settings.is_sqlite
    assert settings.volue.emulated and settings.zf.emulated
    assert not settings.http.admin_api_key


def test_documented_variables_are_read() -> None:
    """The common variables land in their fields with their types."""
    settings = load_settings({
        "GATEWAY_DATABASE_URL": PG,
        "GATEWAY_REDIS_URL": "redis://127.0.0.1:6379/0",
        "GATEWAY_ADMIN_API_KEY": "admin-key-123",
        "GATEWAY_PORT": "9000",
        "GATEWAY_HOST": "  0.0.0.0  ",
        "GATEWAY_UPSTREAM_TIMEOUT_S": "2.5",
        "GATEWAY_VOLUE_BASE_URL": "https://api.volue.example/energy-coordination/v1/",
        "GATEWAY_ZF_BASE_URL": "https://partner.zf.example/partner",
        "GATEWAY_IDEMPOTENCY_TTL_S": "60",
        "OTHER_PORT": "1",
    })
    assert settings.store.database_url == PG and not settings.is_sqlite
    assert settings.store.redis_url == "redis://127.0.0.1:6379/0" and not settings.embedded
    assert settings.http.admin_api_key == Secret("admin-key-123")
    assert settings.http.port == 9000
    assert settings.http.host == "0.0.0.0"
    assert settings.upstream.timeout_s == 2.5
    assert settings.http.idempotency_ttl_s == 60
    assert settings.volue.resolved_base_url() == "https://api.volue.example/energy-coordination/v1"
    # Not emulated and no token URL set: the identity endpoint of the quickstart.
    assert settings.volue.resolved_token_url() == "https://auth.identity.volue.com/connect/token"
    assert settings.zf.resolved_base_url() == "https://partner.zf.example/partner"


@pytest.mark.parametrize("name", typed_fields(int))
def test_every_integer_variable_is_read(name: str) -> None:
    """Each integer field is set by its GATEWAY_ variable."""
    value = value_of(Settings(), name) + 1
    assert value_of(load_settings({env_name(name): f" {value} "}), name) == value


@pytest.mark.parametrize("name", typed_fields(float))
def test_every_float_variable_is_read(name: str) -> None:
    """Each float field is set by its GATEWAY_ variable."""
    value = value_of(Settings(), name) + 1.5
    assert value_of(load_settings({env_name(name): str(value)}), name) == value


@pytest.mark.parametrize("name", typed_fields(bool))
def test_every_boolean_variable_is_read(name: str) -> None:
    """Each boolean field takes true/false spellings and refuses anything else by name."""
    for raw, expected in (("true", True), ("1", True), ("YES", True), ("off", False),
                          ("0", False), ("false", False)):
        assert value_of(load_settings({env_name(name): raw}), name) is expected
    with pytest.raises(SettingsError, match=env_name(name)):
        load_settings({env_name(name): "maybe"})


@pytest.mark.parametrize("name", typed_fields(int))
def test_integer_errors_name_the_variable(name: str) -> None:
    """A non-integer or negative value stops start-up with a message naming the variable."""
    for raw in ("abc", "1.5", "-3"):
        with pytest.raises(SettingsError, match=env_name(name)):
            load_settings({env_name(name): raw})


@pytest.mark.parametrize("name", typed_fields(float))
def test_float_errors_name_the_variable(name: str) -> None:
    """A non-numeric, negative or non-finite value stops start-up naming the variable."""
    for raw in ("fast", "-1", "nan", "inf"):
        with pytest.raises(SettingsError, match=env_name(name)):
            load_settings({env_name(name): raw})


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("GATEWAY_DATABASE_URL", "mysql://db/gateway"),
        ("GATEWAY_DATABASE_URL", "sqlite:///gateway.db"),
        ("GATEWAY_REDIS_URL", "127.0.0.1:6379"),
        ("GATEWAY_REDIS_URL", "http://127.0.0.1:6379"),
        ("GATEWAY_VOLUE_BASE_URL", "ftp://volue.example"),
        ("GATEWAY_VOLUE_BASE_URL", "volue.example"),
        ("GATEWAY_VOLUE_TOKEN_URL", "not a url"),
        ("GATEWAY_ZF_BASE_URL", "https://"),
        ("GATEWAY_VOLUE_CLIENT_ID", "   "),
        ("GATEWAY_ZF_CLIENT_ID", "   "),
        ("GATEWAY_MAX_BODY_BYTES", "100"),
        ("GATEWAY_PORT", "70000"),
        ("GATEWAY_PORT", "0"),
        ("GATEWAY_SYNC_MAX_ATTEMPTS", "0"),
        ("GATEWAY_EVENTS_RETENTION_S", "3600"),
        ("GATEWAY_FORWARD_MAX_AGE_S", "2000000"),
    ],
)
def test_bad_values_name_the_variable(variable: str, raw: str) -> None:
    """Malformed URLs, empty ids and out-of-range numbers are refused naming the variable."""
    environ = {variable: raw}
    if variable == "GATEWAY_VOLUE_TOKEN_URL":
        environ["GATEWAY_VOLUE_BASE_URL"] = "https://volue.example/v1"
    with pytest.raises(SettingsError, match=variable):
        load_settings(environ)


def test_empty_variable_means_default() -> None:
    """A variable set to the empty string counts as unset."""
    assert load_settings({"GATEWAY_PORT": "", "GATEWAY_REDIS_URL": ""}) == Settings()


def test_overrides_win_over_the_environment() -> None:
    """Keyword overrides replace environment values and wrap plain strings given for secrets."""
    settings = load_settings({"GATEWAY_PORT": "9000"}, port=9100, admin_api_key="override")
    assert settings.http.port == 9100
    assert settings.http.admin_api_key == Secret("override")
    with pytest.raises(SettingsError, match="GATEWAY_MAX_BODY_BYTES"):
        load_settings({}, max_body_bytes=10)


def test_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an explicit mapping the process environment is read."""
    monkeypatch.setenv("GATEWAY_PORT", "8123")
    assert load_settings().http.port == 8123


SECRETS = {
    "GATEWAY_ADMIN_API_KEY": "admin-7f3a9c",
    "GATEWAY_VOLUE_CLIENT_SECRET": "volue-secret-b81e",
    "GATEWAY_ZF_CLIENT_SECRET": "zf-secret-55d0",
    "GATEWAY_VOLUE_WEBHOOK_SECRET": "whsec-c0ffee",
    "GATEWAY_DATABASE_URL": PG,
    "GATEWAY_REDIS_URL": "redis://:redis-password-2@cache.internal:6379/0",
}
SECRET_VALUES = ["admin-7f3a9c", "volue-secret-b81e", "zf-secret-55d0", "whsec-c0ffee",
                 "pg-password-1", "redis-password-2"]


def test_secrets_never_appear_in_repr() -> None:
    """repr() and str() of the settings show neither secrets nor passwords inside URLs."""
    settings = load_settings(SECRETS)
    assert settings.volue.client_secret.value == "volue-secret-b81e"
    assert settings.store.database_url == PG
    for text in (repr(settings), str(settings), f"{settings}", repr(settings.http.admin_api_key)):
        for secret in SECRET_VALUES:
            assert secret not in text, (secret, text)
    assert "db.internal" in repr(settings)
    assert "Secret('**********')" in repr(settings)
    assert repr(Secret("")) == "Secret('')"
    assert not Secret("") and Secret("x")


def test_errors_do_not_repeat_passwords() -> None:
    """A refused URL is quoted in the error without the password it carries."""
    for variable, raw in (("GATEWAY_REDIS_URL", "http://:redis-password-2@cache.internal"),
                          ("GATEWAY_VOLUE_BASE_URL", "ftp://user:pg-password-1@volue.example")):
        with pytest.raises(SettingsError, match=variable) as caught:
            load_settings({variable: raw})
        assert "password" not in str(caught.value), str(caught.value)
        assert "cache.internal" in str(caught.value) or "volue.example" in str(caught.value)


def test_volue_token_url_set_wins_over_the_identity_default() -> None:
    """A configured GATEWAY_VOLUE_TOKEN_URL is used as given for a real Volue."""
    settings = load_settings({"GATEWAY_VOLUE_BASE_URL": "https://api.volue.example/energy-coordination/v1",
                              "GATEWAY_VOLUE_TOKEN_URL": "https://id.volue.example/connect/token"})
    assert settings.volue.resolved_token_url() == "https://id.volue.example/connect/token"


def test_volue_on_loopback_takes_its_token_from_the_same_host() -> None:
    """An emulator started apart on a loopback address serves its own /connect/token."""
    settings = load_settings({"GATEWAY_VOLUE_BASE_URL": "http://127.0.0.1:9301/energy-coordination/v1"})
    assert settings.volue.resolved_token_url() == "http://127.0.0.1:9301/connect/token"


def test_emulated_base_urls_point_at_local_emulators() -> None:
    """The ``emulated`` base URL resolves to the built-in emulators on 127.0.0.1."""
    settings = load_settings({"GATEWAY_VOLUE_EMULATOR_PORT": "9101",
                              "GATEWAY_ZF_EMULATOR_PORT": "9102"})
    assert settings.volue.base_url == EMULATED
    assert settings.volue.resolved_base_url() == "http://127.0.0.1:9101/energy-coordination/v1"
    assert settings.volue.resolved_token_url() == "http://127.0.0.1:9101/connect/token"
    assert settings.zf.resolved_base_url() == "http://127.0.0.1:9102/partner"


def test_settings_are_grouped_by_concern() -> None:
    """Each variable lands in its group's field, and overrides take the same flat names."""
    settings = load_settings({"GATEWAY_READINGS_BATCH_SIZE": "250", "GATEWAY_FORWARD_MAX_AGE_S": "3600",
                              "GATEWAY_HISTORY_RETENTION_S": "60"}, zf_client_id="zf-2")
    assert settings.readings.batch_size == 250
    assert settings.forwarding.max_age_s == 3600
    assert settings.sync.history_retention_s == 60.0
    assert settings.zf.client_id == "zf-2"
    assert SETTING_NAMES["volue_auto_ack_lpc"] == ("volue", "auto_ack_lpc")
    with pytest.raises(TypeError, match="batch_size"):
        load_settings({}, batch_size=250)


def test_readme_configuration_table_lists_every_setting_with_its_default() -> None:
    """README's configuration table has one row per GATEWAY_* setting, none more, with the real default."""
    import re
    from pathlib import Path

    from gateway.core.settings import SETTING_NAMES, Secret, variable

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme[readme.index("| variable | default | meaning |"):]
    table = table[: table.index("\n\n")]
    row = re.compile(r"^\| `(GATEWAY_\w+)` \|([^|]*)\|", re.M)
    rows = {m.group(1): m.group(2).strip() for m in row.finditer(table)}
    assert set(rows) == {variable(name) for name in SETTING_NAMES}
    defaults = load_settings({})
    for name, (group, field) in SETTING_NAMES.items():
        value = getattr(getattr(defaults, group), field)
        if isinstance(value, Secret | bool):
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        shown = f"`{value}`" if isinstance(value, str) and value else ("empty" if value == "" else str(value))
        assert rows[variable(name)] == shown, name
