"""Typed settings from the environment (``CONSULT_*``) and an optional TOML file.

Build a ``Settings`` once in ``main()`` / ``create_app()`` and pass it down; nothing reads the
environment at import time. Secrets come only from the environment, never from the repository.
The sources, strongest first: keyword arguments, the environment, the TOML file named by
``config_file`` / ``CONSULT_CONFIG_FILE`` (pydantic-settings' ``TomlConfigSettingsSource``).
Choices are ``Literal`` types (case-insensitive); each validator checks one rule.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from consult.errors import ConfigError

PLACEHOLDER_SECRETS = {"changeme", "change-me", "password", "secret", "xxx", "todo", "example"}
#: Settings that are secrets: the environment only, never the TOML file (it is not a vault).
SECRET_SETTINGS = ("secret_key", "smtp_password", "imap_password", "imap_oauth2_token",
                   "metrics_token")
#: Secret keys of an ``imap_accounts`` entry (``password_env`` names a variable instead).
SECRET_ACCOUNT_KEYS = ("password", "oauth2_token")


def _refuse_secrets(table: dict[str, Any], path: str) -> None:
    """Raise when the TOML file holds a secret; the message names the variable to use."""
    for key in SECRET_SETTINGS:
        if table.get(key):
            raise ConfigError(f"{key} is a secret and is not read from the settings file {path}: "
                             f"remove it there and set CONSULT_{key.upper()} in the environment")
    for number, account in enumerate(table.get("imap_accounts") or [], 1):
        for key in SECRET_ACCOUNT_KEYS:
            if isinstance(account, dict) and account.get(key):
                raise ConfigError(f"imap_accounts entry {number} has a {key} in the settings "
                                 f"file {path}: use password_env (the name of an environment "
                                 "variable holding it) instead")
    url = str(table.get("database_url") or "")
    if "://" in url and ":" in url.split("://", 1)[1].split("@", 1)[0] and "@" in url:
        raise ConfigError(f"database_url in the settings file {path} holds a password: set "
                         "CONSULT_DATABASE_URL in the environment instead")


class _TomlFile(TomlConfigSettingsSource):
    """The TOML settings file: keys without the prefix, optionally under a ``[consult]`` table;
    a file holding a secret is refused (``_refuse_secrets``)."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        data = super()._read_file(file_path)
        table = data.get("consult", data)
        _refuse_secrets(table, str(file_path))
        return table  # type: ignore[no-any-return]


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


ImapSsl = Annotated[Literal["tls", "starttls", "none"], BeforeValidator(_lower)]
ImapAuth = Annotated[Literal["password", "xoauth2"], BeforeValidator(_lower)]
LogLevel = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                     BeforeValidator(_upper)]


def _hostport(value: str, what: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{what} must be host:port, got {value!r}")
    return host or "127.0.0.1", int(port)


class ImapAccount(BaseModel):
    """One IMAP account and the folders taken in from it (the main CONSULT_IMAP_* account and
    each entry of ``imap_accounts``). Secrets: ``password_env`` names an environment variable, so
    a TOML file never has to hold the password itself."""

    host: str
    port: int = 993
    user: str = ""
    password: SecretStr = SecretStr("")
    password_env: str = ""
    folders: list[str] = Field(default_factory=lambda: ["INBOX"])
    processed_folder: str = ""
    ssl: ImapSsl = "tls"
    auth: ImapAuth = "password"
    oauth2_token: SecretStr = SecretStr("")
    oauth2_token_command: str = ""
    ca_file: Path | None = None

    def secret_password(self) -> str:
        """The password, from ``password_env`` when set (read when connecting, not at import)."""
        if self.password_env:
            return os.environ.get(self.password_env, "")
        return self.password.get_secret_value()

    @property
    def label(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    def mailbox_key(self, folder: str) -> str:
        """The key of a folder's MailboxState row (stable: changing it restarts from UID 1)."""
        return f"{self.label}/{folder}"


class Settings(BaseSettings):
    """Every setting of the service. The README's settings table lists them all."""

    model_config = SettingsConfigDict(env_prefix="CONSULT_", extra="ignore")

    home: Path = Field(default=Path("var"), description="Data folder: DB, KB, outbound Maildir")
    database_url: str = Field(default="", description="SQLAlchemy URL; default SQLite in home")
    kb_path: Path | None = Field(default=None, description="KB file; default home/kb.sqlite")
    kb_base_url: str = Field(
        default="https://www.cms.gov/files/zip/",
        description="Where `consult kb update` downloads the CMS files from",
    )
    config_file: Path | None = Field(default=None, description="Optional TOML settings file")

    from_address: str = Field(default="consult@localhost", description="Our sender address")
    domain: str = Field(default="", description="Domain of our Message-IDs (default: from From)")

    listen_smtp: str = Field(default="127.0.0.1:2525", description="Inbound SMTP listener")
    listen_http: str = Field(default="127.0.0.1:8000", description="Review web UI")
    accept_recipients: str = Field(
        default="", description="Comma-separated addresses the listener accepts (default: any)"
    )

    smtp_host: str = Field(default="", description="Outbound relay; empty: local Maildir")
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = True
    smtp_ssl: bool = False

    imap_host: str = Field(default="", description="IMAP server; empty: no poller")
    imap_port: int = 993
    imap_user: str = ""
    imap_password: SecretStr = SecretStr("")
    imap_folder: str = "INBOX"
    imap_processed_folder: str = Field(default="", description="Move processed mail here")
    imap_ssl: ImapSsl = Field(default="tls", description="tls | starttls | none (loopback tests)")
    imap_poll_seconds: int = 30
    imap_folders: str = Field(
        default="", description="Comma-separated folders of the account (default: imap_folder)")
    imap_accounts: list[ImapAccount] = Field(
        default_factory=list,
        description="More IMAP accounts: a JSON list in the env, [[consult.imap_accounts]] in TOML")
    imap_auth: ImapAuth = Field(default="password", description="password | xoauth2")
    imap_oauth2_token: SecretStr = Field(default=SecretStr(""), description="XOAUTH2 token")
    imap_oauth2_token_command: str = Field(
        default="", description="Command printing a fresh XOAUTH2 access token on stdout")
    imap_ca_file: Path | None = Field(default=None, description="Trust this CA (PEM) for IMAP TLS")
    imap_idle: bool = Field(default=True, description="Use IDLE when the server offers it")
    imap_idle_seconds: int = Field(default=600, description="Renew IDLE this often (< 29 min)")
    imap_backoff_max_seconds: float = Field(default=300.0, description="Reconnect backoff cap")
    imap_fetch_chunk: int = Field(default=200, description="Mails fetched and committed together")
    lease_seconds: float = Field(
        default=20.0, gt=1, description="A worker's hold on a mailbox lasts this long unrenewed "
        "(a dead worker's mailbox is taken over within about 1.25x this)")
    max_reopens: int = Field(default=5, description="Inbound mail may reopen a case this often")
    reply_token_addresses: bool = Field(
        default=True, description="Reply-To consult+c<N>-<hmac>@domain (needs secret_key)")

    max_message_bytes: int = Field(default=25 * 1024 * 1024, description="Bigger mail: quarantine")
    analysis_cpu_seconds: float = Field(
        default=2.0, description="CPU time one mail's parse and analysis may take")
    analysis_wall_seconds: float = Field(
        default=3.0, description="Wall-clock time one mail's parse and analysis may take")
    analysis_memory_mb: int = Field(
        default=256, description="Memory an analysis worker may grow by for one mail")
    analysis_workers: int = Field(default=2, description="Analysis worker processes")
    sender_quota_mb: float = Field(
        default=200.0, description="Mail stored per sender address per 24 hours (0: no quota)")
    trusted_authserv_ids: str = Field(
        default="", description="Authentication-Results authserv-ids of our receiving servers")
    max_request_bytes: int = Field(
        default=2 * 1024 * 1024, description="Largest web request body accepted")
    forwarded_allow_ips: str = Field(
        default="", description="Proxies whose X-Forwarded-For/-Proto are trusted (none)")
    sender_retry_hours: float = Field(default=48.0, description="Give up delivery after this")
    smtp_timeout_seconds: float = Field(
        default=20.0, description="Relay socket timeout for one delivery")
    secret_key: SecretStr = Field(default=SecretStr(""), description="Web session signing key")
    sla_hours: float = Field(default=24.0, description="A case is due this long after it arrived")
    session_hours: float = Field(default=12.0, description="A web login lasts this long")
    login_max_failures: int = Field(default=5, description="Failed logins per address per window")
    login_window_minutes: float = Field(default=15.0, description="Login rate-limit window")
    login_max_delay_seconds: float = Field(
        default=300.0, description="Longest wait imposed on an account after failed logins")
    metrics_token: SecretStr = Field(
        default=SecretStr(""), description="Bearer token /metrics asks for (none: open)")
    log_level: LogLevel = "INFO"

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then the environment, then the TOML file (if one is named)."""
        named = (init_settings.init_kwargs.get("config_file")
                 if isinstance(init_settings, InitSettingsSource) else None)
        path = named or os.environ.get("CONSULT_CONFIG_FILE")
        if not path:
            return init_settings, env_settings
        if not Path(path).is_file():
            raise ConfigError(f"CONSULT_CONFIG_FILE names {path}, which is not a file: create "
                              "it or unset the variable.")
        return init_settings, env_settings, _TomlFile(settings_cls, toml_file=Path(path))

    @field_validator("smtp_password", "imap_password", "imap_oauth2_token", "secret_key",
                     "metrics_token")
    @classmethod
    def _no_placeholder(cls, v: SecretStr) -> SecretStr:
        if v.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("a placeholder secret was given; set the real value in the env")
        return v

    @field_validator("listen_smtp", "listen_http")
    @classmethod
    def _listen(cls, v: str) -> str:
        _hostport(v, "a listen address")
        return v

    # -- derived --------------------------------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'consult.db').resolve()}"

    @property
    def resolved_kb_path(self) -> Path:
        return self.kb_path or self.home / "kb.sqlite"

    @property
    def outbox_maildir(self) -> Path:
        return self.home / "outbox-maildir"

    @property
    def message_domain(self) -> str:
        return self.domain or self.from_address.rpartition("@")[2] or "localhost"

    @property
    def smtp_listen(self) -> tuple[str, int]:
        return _hostport(self.listen_smtp, "CONSULT_LISTEN_SMTP")

    @property
    def http_listen(self) -> tuple[str, int]:
        return _hostport(self.listen_http, "CONSULT_LISTEN_HTTP")

    @property
    def imap_all_accounts(self) -> list[ImapAccount]:
        """The main CONSULT_IMAP_* account (when a host is set) followed by ``imap_accounts``."""
        out: list[ImapAccount] = []
        if self.imap_host:
            folders = [f.strip() for f in self.imap_folders.split(",") if f.strip()]
            out.append(ImapAccount(
                host=self.imap_host, port=self.imap_port, user=self.imap_user,
                password=self.imap_password, folders=folders or [self.imap_folder],
                processed_folder=self.imap_processed_folder, ssl=self.imap_ssl,
                auth=self.imap_auth, oauth2_token=self.imap_oauth2_token,
                oauth2_token_command=self.imap_oauth2_token_command, ca_file=self.imap_ca_file))
        out.extend(self.imap_accounts)
        return out

    @property
    def authserv_ids(self) -> frozenset[str]:
        """Authentication-Results ids whose verdicts we trust (lower case)."""
        return frozenset(a.strip().lower() for a in self.trusted_authserv_ids.split(",")
                         if a.strip())

    @property
    def accepted_recipients(self) -> set[str]:
        return {a.strip().lower() for a in self.accept_recipients.split(",") if a.strip()}


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (and TOML file), with explicit overrides on top; an
    invalid value is a ConfigError that names the variable (the CLI prints it, no traceback)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"CONSULT_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors())
        raise ConfigError(f"Invalid settings: {problems}") from exc
