"""Opening an IMAP connection: TLS or STARTTLS failing closed, password or XOAUTH2 login.

django-helpdesk's best-known bug is falling back to plaintext when STARTTLS fails; here a missing
or failing STARTTLS, a certificate that does not verify, or a refused login is an exception and
nothing is sent in the clear. An ``AuthenticationError`` means retrying cannot help, so the
workers stop on it instead of reconnecting forever; a ``MailboxError`` may go away on a retry.

Also the two places where imapclient leaves news of new mail unread (``take_news``,
``buffered_responses``): missing either one leaves a mail waiting for the next one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import shlex
import ssl
import subprocess
from collections.abc import Callable

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from consult.config import ImapAccount
from consult.errors import AuthenticationError, ConfigError, MailboxError

log = logging.getLogger(__name__)

ClientFactory = Callable[[ImapAccount], IMAPClient]
TOKEN_COMMAND_TIMEOUT = 60.0


def tls_context(account: ImapAccount) -> ssl.SSLContext:
    """A verifying context (hostname and chain); ``ca_file`` replaces the system CAs."""
    if account.ca_file is not None:
        return ssl.create_default_context(cafile=str(account.ca_file))
    return ssl.create_default_context()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def oauth2_token(account: ImapAccount) -> str:
    """The XOAUTH2 access token: from ``oauth2_token_command`` (run now, so it can refresh the
    token) or else the configured ``oauth2_token``. The command runs without a shell."""
    if account.oauth2_token_command:
        argv = shlex.split(account.oauth2_token_command)
        try:
            done = subprocess.run(argv, capture_output=True, timeout=TOKEN_COMMAND_TIMEOUT,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AuthenticationError(
                f"The XOAUTH2 token command {argv[0]!r} could not run: {exc}. Fix "
                "CONSULT_IMAP_OAUTH2_TOKEN_COMMAND.") from exc
        token = done.stdout.decode("utf-8", "replace").strip()
        if done.returncode != 0 or not token:
            raise AuthenticationError(
                f"The XOAUTH2 token command {argv[0]!r} exited {done.returncode} "
                f"{'without printing a token' if not token else ''}; fix "
                "CONSULT_IMAP_OAUTH2_TOKEN_COMMAND (its stdout must be the access token).")
        return token.splitlines()[-1].strip()
    token = account.oauth2_token.get_secret_value().strip()
    if not token:
        raise ConfigError("XOAUTH2 login needs CONSULT_IMAP_OAUTH2_TOKEN or "
                          "CONSULT_IMAP_OAUTH2_TOKEN_COMMAND.")
    return token


def _open(account: ImapAccount) -> IMAPClient:
    """The connection, encrypted as configured, before any credential is sent."""
    mode = account.ssl
    if mode == "none" and not _is_loopback(account.host):
        log.warning("IMAP to %s without TLS (CONSULT_IMAP_SSL=none): credentials and mail "
                    "travel in the clear", account.host)
    context = tls_context(account) if mode != "none" else None
    try:
        client = IMAPClient(account.host, port=account.port, ssl=mode == "tls",
                            ssl_context=context if mode == "tls" else None, timeout=60)
    except (OSError, ssl.SSLError) as exc:
        raise MailboxError(
            f"Cannot open a {'TLS' if mode == 'tls' else 'TCP'} IMAP connection to "
            f"{account.host}:{account.port}: {exc}") from exc
    if mode == "starttls":
        try:
            client.starttls(context)
        except (OSError, ssl.SSLError, IMAPClient.Error) as exc:
            _drop(client)
            raise MailboxError(
                f"STARTTLS with {account.host}:{account.port} failed ({exc}); not falling back "
                "to plaintext. Check CONSULT_IMAP_SSL / CONSULT_IMAP_CA_FILE.") from exc
    return client


def _drop(client: IMAPClient) -> None:
    with contextlib.suppress(Exception):  # already gone
        client.shutdown()


def take_news(client: IMAPClient) -> bool:
    """Whether the server announced new mail (an untagged EXISTS or RECENT) in the replies read
    since the last call or the last SELECT; forgets it.

    A mail that lands while we run other commands is announced inside their replies (e.g.
    ``* 2 EXISTS`` in the reply to our MOVE); imaplib files such lines away and nothing else
    looks at them, and the server does not repeat the news once we go back into IDLE.
    """
    pending = client._imap.untagged_responses
    found = [pending.pop(name, None) for name in ("EXISTS", "RECENT")]
    return any(found)


def parse_untagged(line: bytes) -> tuple[object, ...]:
    """``b"* 5 EXISTS"`` -> ``(5, b"EXISTS")``, ``b"* BYE bye"`` -> ``(b"BYE", b"bye")``: the
    shape of imapclient's ``idle_check`` results (pure)."""
    body = line.rstrip(b"\r\n")
    if body.startswith(b"* "):
        body = body[2:]
    first, _, rest = body.partition(b" ")
    if first.isdigit():
        kind, _, text = rest.partition(b" ")
        return (int(first), kind.upper(), text) if text else (int(first), kind.upper())
    return (first.upper(), rest) if rest else (first.upper(),)


def _has_buffered(client: IMAPClient) -> bool:
    """Whether a read would return data without waiting: bytes in imaplib's read buffer or the
    TLS layer, or (one non-blocking read) on the socket."""
    sock = client.socket()
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return bool(client._imap.file.peek(1))
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    finally:
        sock.settimeout(timeout)


def buffered_responses(client: IMAPClient) -> list[tuple[object, ...]]:
    """The responses already sent after IDLE's continuation and read along with it.

    Dovecot checks the mailbox when IDLE starts and sends ``+ idling`` and ``* 5 EXISTS`` in one
    packet when a mail landed since our last command. imaplib reads the socket in blocks, so the
    EXISTS waits in its buffer, and ``idle_check`` (which polls the socket) does not see it until
    the server sends something else. Call right after ``client.idle()``.
    """
    out: list[tuple[object, ...]] = []
    while _has_buffered(client):
        out.append(parse_untagged(client._imap._get_line()))
    return out


def connect(account: ImapAccount) -> IMAPClient:
    """Connect and log in (the default client factory of the poller and the IDLE watcher)."""
    client = _open(account)
    try:
        if account.auth == "xoauth2":
            client.oauth2_login(account.user, oauth2_token(account))
        else:
            client.login(account.user, account.secret_password())
    except LoginError as exc:
        _drop(client)
        if "UNAVAILABLE" in str(exc) or "emporary" in str(exc):  # RFC 5530: try again later
            raise MailboxError(f"IMAP login at {account.host}:{account.port} failed for now: "
                               f"{exc}") from exc
        what = "XOAUTH2 token" if account.auth == "xoauth2" else "password"
        raise AuthenticationError(
            f"IMAP login as {account.user} at {account.host}:{account.port} was refused "
            f"({what}); fix the credentials (CONSULT_IMAP_USER / CONSULT_IMAP_PASSWORD or the "
            "OAuth2 token). Retrying will not help.") from exc
    except (AuthenticationError, ConfigError):
        _drop(client)
        raise
    except (OSError, IMAPClient.Error) as exc:
        _drop(client)
        raise MailboxError(f"IMAP login at {account.host}:{account.port} failed: {exc}") from exc
    return client
