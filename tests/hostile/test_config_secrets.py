"""Item 10: secrets come from the environment only; the TOML settings file is refused when it
holds one, with a message that names the variable to use instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from consult.config import Settings
from consult.errors import ConfigError


@pytest.mark.parametrize(("toml", "names"), [
    ('secret_key = "s3cr3t-signing-key-123"', "CONSULT_SECRET_KEY"),
    ('smtp_password = "relay-pass-123"', "CONSULT_SMTP_PASSWORD"),
    ('imap_password = "imap-pass-123"', "CONSULT_IMAP_PASSWORD"),
    ('imap_oauth2_token = "ya29.token"', "CONSULT_IMAP_OAUTH2_TOKEN"),
    ('[[consult.imap_accounts]]\nhost = "imap.example"\npassword = "p4ss-word-1"',
     "password_env"),
    ('database_url = "postgresql+psycopg://consult:hunter22@db.example/consult"',
     "CONSULT_DATABASE_URL"),
])
def test_secrets_in_the_settings_file_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  toml: str, names: str) -> None:
    path = tmp_path / "consult.toml"
    body = toml if toml.startswith("[[") else f"[consult]\n{toml}\n"
    path.write_text(body)
    monkeypatch.setenv("CONSULT_CONFIG_FILE", str(path))
    with pytest.raises(ConfigError, match=names):
        Settings()


def test_the_same_secrets_from_the_environment_and_plain_settings_from_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "consult.toml"
    path.write_text('[consult]\nfrom_address = "coding@clinic.example"\n'
                    'database_url = "postgresql+psycopg://consult@db.example/consult"\n'
                    '[[consult.imap_accounts]]\nhost = "imap.example"\npassword_env = "IMAP_PW"\n')
    monkeypatch.setenv("CONSULT_CONFIG_FILE", str(path))
    monkeypatch.setenv("CONSULT_SECRET_KEY", "s3cr3t-signing-key-123")
    settings = Settings()
    assert settings.secret_key.get_secret_value() == "s3cr3t-signing-key-123"
    assert settings.from_address == "coding@clinic.example"
    assert settings.imap_accounts[0].password_env == "IMAP_PW"
