"""Settings: defaults, environment, TOML file, refusal of placeholder secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from consult.config import Settings


def test_defaults_are_the_embedded_service(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in __import__("os").environ if k.startswith("CONSULT_")]:
        monkeypatch.delenv(key)
    s = Settings()
    assert s.resolved_database_url.startswith("sqlite:///") and s.resolved_database_url.endswith(
        "var/consult.db")
    assert s.smtp_listen == ("127.0.0.1", 2525) and s.http_listen == ("127.0.0.1", 8000)
    assert s.imap_ssl == "tls" and s.smtp_starttls is True


def test_environment_and_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = tmp_path / "consult.toml"
    toml.write_text('[consult]\nfrom_address = "coding@clinic.example"\nimap_port = 143\n')
    monkeypatch.setenv("CONSULT_CONFIG_FILE", str(toml))
    monkeypatch.setenv("CONSULT_IMAP_PORT", "1143")
    s = Settings()
    assert s.from_address == "coding@clinic.example"
    assert s.imap_port == 1143  # the environment wins over the file
    assert s.message_domain == "clinic.example"


def test_placeholder_secret_and_bad_values_are_refused() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(imap_password="changeme")
    with pytest.raises(ValidationError, match="'tls', 'starttls' or 'none'"):
        Settings(imap_ssl="maybe")
    assert Settings(imap_ssl="STARTTLS", log_level="debug").imap_ssl == "starttls"
    with pytest.raises(ValidationError, match="host:port"):
        Settings(listen_smtp="2525")


def test_load_settings_names_the_variable_and_a_missing_file(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from consult.config import load_settings
    from consult.errors import ConfigError

    monkeypatch.setenv("CONSULT_IMAP_AUTH", "kerberos")
    with pytest.raises(ConfigError, match="CONSULT_IMAP_AUTH: Input should be 'password' or"):
        load_settings()
    monkeypatch.delenv("CONSULT_IMAP_AUTH")
    monkeypatch.setenv("CONSULT_CONFIG_FILE", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"nope\.toml, which is not a file"):
        load_settings()
