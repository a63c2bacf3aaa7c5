"""deploy/: what can be checked without Docker or systemd on this machine. The compose file
parses and has the layout the README promises (PostgreSQL, a migration step, two workers, two
web replicas, a proxy that trusts-and-is-trusted); the proxy sends traffic to the replicas and
hides the ops endpoints; the Dockerfile copies what exists and runs consult; the systemd units
run `consult` commands that exist with options they have, on listen addresses the settings
accept; the environment example names only real settings and holds no secret; and the
migration step really runs, on PostgreSQL, from the example's settings."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from consult.cli import cli
from consult.config import SECRET_SETTINGS, Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
FIELDS = {f"CONSULT_{name.upper()}" for name in Settings.model_fields}


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())  # type: ignore[no-any-return]


def _consult_services(compose: dict[str, Any]) -> dict[str, Any]:
    return {n: s for n, s in compose["services"].items() if s.get("image") == "consult:latest"}


def _command(args: list[str]) -> tuple[click.Command, list[str]]:
    """The click command ``consult ARGS`` runs, and the options given to it."""
    command: click.Command = cli
    rest = list(args)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        found = command.get_command(click.Context(command), rest.pop(0))
        assert found is not None, f"`consult {' '.join(args)}`: no such command"
        command = found
    return command, [a.split("=", 1)[0] for a in rest if a.startswith("--")]


def _options(command: click.Command) -> set[str]:
    return {o for p in command.params for o in getattr(p, "opts", [])}


def _check_command(args: list[str]) -> None:
    command, used = _command(args)
    unknown = set(used) - _options(command)
    assert not unknown, f"`consult {' '.join(args)}`: {command.name} has no {unknown}"


def test_compose_has_the_documented_layout() -> None:
    compose = _compose()
    services = compose["services"]
    consult = _consult_services(compose)
    roles = {n: s["command"] for n, s in consult.items()}
    assert roles == {"migrate": ["migrate"],
                     "worker-1": ["serve", "--role", "worker"],
                     "worker-2": ["serve", "--role", "worker"],
                     "web-1": ["serve", "--role", "web"],
                     "web-2": ["serve", "--role", "web"]}
    assert set(services) == {*consult, "postgres", "proxy"}
    for args in roles.values():
        _check_command(args)
    # order: postgres healthy -> migrate once -> the instances -> the proxy once webs are up
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in ("worker-1", "worker-2", "web-1", "web-2"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}}
        assert services[name]["restart"] == "unless-stopped"
    assert services["proxy"]["depends_on"] == {
        "web-1": {"condition": "service_healthy"}, "web-2": {"condition": "service_healthy"}}
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    # only the proxy is published; the instances trust its address and no other
    assert [n for n, s in services.items() if s.get("ports")] == ["proxy"]
    proxy_ip = services["proxy"]["networks"]["desk"]["ipv4_address"]
    for service in consult.values():
        env = service["environment"]
        assert env["CONSULT_FORWARDED_ALLOW_IPS"].split("#")[0].strip() == proxy_ip
        assert set(env) <= FIELDS, set(env) - FIELDS
        assert env["CONSULT_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@postgres:5432/" in env["CONSULT_DATABASE_URL"]
        assert service["env_file"] == "consult.env"
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    subnet = compose["networks"]["desk"]["ipam"]["config"][0]["subnet"]
    import ipaddress

    assert ipaddress.ip_address(proxy_ip) in ipaddress.ip_network(subnet)


def test_proxy_sends_to_the_web_replicas_and_hides_the_ops_endpoints() -> None:
    caddy = (DEPLOY / "Caddyfile").read_text()
    compose = _compose()
    port = compose["services"]["web-1"]["environment"]["CONSULT_LISTEN_HTTP"].rsplit(":", 1)[1]
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddy)
    assert upstreams and upstreams[1].split() == [f"web-1:{port}", f"web-2:{port}"]
    assert "@ops path /healthz /readyz /metrics" in caddy and "respond @ops 404" in caddy
    assert "health_uri /readyz" in caddy
    mount = compose["services"]["proxy"]["volumes"][0]
    assert mount == "./Caddyfile:/etc/caddy/Caddyfile:ro"
    assert caddy.count("{") == caddy.count("}")


def test_dockerfile_copies_what_exists_and_runs_consult() -> None:
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines()]
    copies = [line.split()[1:-1] for line in lines if line.startswith("COPY ")]
    for sources in copies:
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    copied = {s for sources in copies for s in sources}
    assert {"consult", "workers", "db", "templates", "pyproject.toml"} <= copied
    assert any(line.startswith("RUN pip install -e .") for line in lines)  # templates/ found
    assert 'ENTRYPOINT ["consult"]' in lines
    env = dict(re.findall(r"(CONSULT_[A-Z_0-9]+)=(\S+)", "\n".join(lines)))
    assert set(env) <= FIELDS
    health = next(line for line in lines if line.startswith("CMD [\"python\""))
    assert f"http://127.0.0.1:{env['CONSULT_LISTEN_HTTP'].rsplit(':', 1)[1]}/healthz" in health
    cmd = next(line for line in lines if line.startswith("CMD [\"serve\""))
    import json

    _check_command(json.loads(cmd[4:]))
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert ".venv" in ignore and "deploy/consult.env" in ignore


def _unit(path: Path) -> Iterator[tuple[str, str, str]]:
    """(section, key, value) of a systemd unit, repeated keys kept (configparser refuses)."""
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        yield section, key.strip(), value.strip()


@pytest.mark.parametrize("instance", ["8001", "1", "2"])
def test_systemd_units_run_real_commands(instance: str) -> None:
    units = sorted(UNITS.glob("*.service"))
    assert [u.name for u in units] == ["consult-migrate.service", "consult-web@.service",
                                       "consult-worker@.service"]
    for unit in units:
        entries = list(_unit(unit))
        keys = {(s, k) for s, k, _ in entries}
        assert {("Unit", "Description"), ("Service", "ExecStart"), ("Service", "User"),
                ("Service", "EnvironmentFile"), ("Install", "WantedBy")} <= keys, unit.name
        values = {k: v for _, k, v in entries}
        assert values["User"] == "consult" and values["UMask"] == "0077"
        assert values["EnvironmentFile"] == "/etc/consult/consult.env"
        program, *args = shlex.split(values["ExecStart"])
        assert program == "/opt/consult/.venv/bin/consult"
        _check_command(args)
        if unit.name != "consult-migrate.service":
            assert values["Requires"] == values["After"].split()[-1] == "consult-migrate.service"
            assert values["Restart"] == "on-failure"
            # the per-instance listen addresses are ones the settings accept
            env = dict(v.replace("%i", instance).split("=", 1) for s, k, v in entries
                       if k == "Environment")
            assert set(env) <= FIELDS
            if "web@" in unit.name and instance == "8001":
                assert Settings(listen_http=env["CONSULT_LISTEN_HTTP"]).http_listen == (
                    "127.0.0.1", 8001)
            if "worker@" in unit.name and instance.isdigit() and len(instance) == 1:
                settings = Settings(listen_http=env["CONSULT_LISTEN_HTTP"],
                                    listen_smtp=env["CONSULT_LISTEN_SMTP"])
                assert settings.http_listen == ("127.0.0.1", 9100 + int(instance))
                assert settings.smtp_listen == ("127.0.0.1", 2520 + int(instance))


def _example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "consult.env.example").read_text().splitlines():
        line = line.strip().removeprefix("# ")
        match = re.match(r"(CONSULT_[A-Z0-9_]+)=(.*)$", line)
        if match:
            values[match[1]] = match[2]
    return values


def test_env_example_names_real_settings_and_no_secrets() -> None:
    values = _example()
    extra_password = "CONSULT_IMAP_PASSWORD_CLINIC_B"  # named by an account's password_env
    assert set(values) - {extra_password} <= FIELDS, set(values) - FIELDS
    assert extra_password in values["CONSULT_IMAP_ACCOUNTS"]
    for secret in SECRET_SETTINGS:
        assert values.get(f"CONSULT_{secret.upper()}", "") == "", secret
    assert values[extra_password] == "" and values["CONSULT_SMTP_PASSWORD"] == ""
    # the units set these per instance, and an EnvironmentFile would override them
    assert "CONSULT_LISTEN_HTTP" not in values and "CONSULT_LISTEN_SMTP" not in values


@pytest.mark.postgres
def test_the_migration_step_runs_from_the_example(pg_url: str, tmp_path: Path,
                                                  starter_kb_path: Path) -> None:
    values = {k: v for k, v in _example().items()
              if v and not k.startswith("CONSULT_IMAP_ACCOUNTS")}
    values.update(CONSULT_DATABASE_URL=pg_url, CONSULT_HOME=str(tmp_path / "home"),
                  CONSULT_KB_PATH=str(starter_kb_path))
    run = [sys.executable, "-m", "consult", "migrate"]
    first = subprocess.run(run, env=values | {"PATH": "/usr/bin:/bin"}, capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(r"Case database at schema revision \w+\.\n", first.stdout)
    again = subprocess.run(run, env=values | {"PATH": "/usr/bin:/bin"}, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0 and again.stdout == first.stdout  # idempotent


def test_serve_has_the_roles_the_units_use() -> None:
    serve, _ = _command(["serve"])
    role = next(p for p in serve.params if "--role" in getattr(p, "opts", []))
    assert isinstance(role.type, click.Choice)
    assert {"web", "worker", "all"} <= set(role.type.choices)
