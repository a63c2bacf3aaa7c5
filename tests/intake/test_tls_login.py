"""TLS and STARTTLS fail closed; password and XOAUTH2 logins; refusals are clear errors."""

from __future__ import annotations

import sys

import pytest
from support.servers import Dovecot

from consult.config import ImapAccount
from consult.errors import AuthenticationError, MailboxError
from workers.imap_connect import connect


def _account(dv: Dovecot, **kw: object) -> ImapAccount:
    values: dict[str, object] = dict(host="127.0.0.1", port=dv.port, user=dv.user,
                                     password=dv.password)
    values.update(kw)
    return ImapAccount(**values)  # type: ignore[arg-type]


def _logins(dv: Dovecot) -> int:
    return dv.log().count("imap-login: Info: Login:")


def test_tls_and_starttls_verify_the_certificate_and_fail_closed(dovecots) -> None:
    dv = dovecots(ssl="required")
    try:
        assert dv.imaps_port and dv.cert
        # default verification refuses a self-signed certificate: no login is ever attempted
        for kw in ({"ssl": "tls", "port": dv.imaps_port}, {"ssl": "starttls"}):
            with pytest.raises(MailboxError) as err:
                connect(_account(dv, **kw))
            assert not isinstance(err.value, AuthenticationError)
            assert "CERTIFICATE_VERIFY_FAILED" in str(err.value)
        assert _logins(dv) == 0
        # trusting the test CA, both work and log in over TLS
        for kw in ({"ssl": "tls", "port": dv.imaps_port}, {"ssl": "starttls"}):
            client = connect(_account(dv, ca_file=dv.cert, **kw))
            assert client.select_folder("INBOX")[b"EXISTS"] == 0
            client.logout()
        assert _logins(dv) == 2 and "TLS" in dv.log()
    finally:
        dv.stop()


def test_starttls_to_a_server_without_it_is_an_error_not_plaintext(dovecot: Dovecot) -> None:
    with pytest.raises(MailboxError, match="not falling back to plaintext"):
        connect(_account(dovecot, ssl="starttls"))
    assert _logins(dovecot) == 0


def test_password_refusal_is_an_authentication_error(dovecot: Dovecot) -> None:
    with pytest.raises(AuthenticationError, match="Retrying will not help"):
        connect(_account(dovecot, ssl="none", password="not-the-password"))


def test_xoauth2_token_from_a_command(tmp_path, dovecots) -> None:
    # Dovecot 2.3 checks an XOAUTH2 bearer token against the passdb like a password, so the
    # test user's password plays the access token an OAuth2 provider would have issued
    dv = dovecots(mechanisms="plain login xoauth2")
    try:
        marker = tmp_path / "ran"
        script = tmp_path / "token.py"
        script.write_text("import pathlib, sys\npathlib.Path(sys.argv[1]).write_text('yes')\n"
                          f"print({dv.password!r})\n")
        account = _account(dv, ssl="none", auth="xoauth2", password="",
                           oauth2_token_command=f"{sys.executable} {script} {marker}")
        client = connect(account)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
        client.logout()
        assert marker.read_text() == "yes" and "method=XOAUTH2" in dv.log()

        script.write_text("print('expired-token')\n")
        with pytest.raises(AuthenticationError, match="XOAUTH2 token"):
            connect(account)
        failing = _account(dv, ssl="none", auth="xoauth2",
                           oauth2_token_command=f"{sys.executable} -c 'raise SystemExit(3)'")
        with pytest.raises(AuthenticationError, match="exited 3"):
            connect(failing)
        static = _account(dv, ssl="none", auth="xoauth2", oauth2_token=dv.password)
        connect(static).logout()
    finally:
        dv.stop()
