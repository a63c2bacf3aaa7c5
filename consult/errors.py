"""The service's exceptions. Each says what went wrong and what the user can do next."""


class ConsultError(Exception):
    """Base class: an error the service reports to the user as a message, not a traceback."""


class ConfigError(ConsultError):
    """A setting is missing or invalid; the message names the environment variable to set."""


class KnowledgeBaseError(ConsultError):
    """The KB file is missing, unreadable or was built by an incompatible version: rebuild it."""


class SourceFileError(KnowledgeBaseError):
    """A CMS or other source file is malformed; the message gives the file, line and what was
    expected, and no KB is written."""


class SourceDownloadError(KnowledgeBaseError):
    """`consult kb update` could not download a release; the message names the URL. Check
    CONSULT_KB_BASE_URL and the network, then run it again (the current KB is kept)."""


class MissingExtra(ConsultError):
    """An optional part of consult is not installed; the message names the pip extra."""

    def __init__(self, extra: str, package: str, needed_for: str) -> None:
        super().__init__(f"{needed_for} needs {package}, which is not installed: "
                         f"pip install 'consult[{extra}]'")


class InputError(ConsultError):
    """What the user typed or sent is not acceptable (an unknown account to assign a case to);
    the message says what would be."""


class CaseNotFound(ConsultError):
    """No case with that id; `consult queue` lists the open ones."""


class InvalidTransition(ConsultError):
    """The case's status does not allow this action (e.g. approving a closed case)."""


class ConcurrentChange(InvalidTransition):
    """Another request moved the case between your reading it and your action (two reviewers
    approving at once): nothing was done; reload the case and decide again."""


class DraftConflict(ConsultError):
    """Someone else saved the draft since you opened it; reload and apply your edit again.
    ``current_version``: the draft's version now, when known."""

    def __init__(self, message: str, *, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version


class Forbidden(ConsultError):
    """Your role does not allow this (the quarantine and its actions are for admins)."""


class QuotaExceeded(ConsultError):
    """A sender stored more mail than CONSULT_SENDER_QUOTA_MB allows in 24 hours; their mail
    waits (SMTP: 452, the sending server retries) or is kept as headers only (IMAP)."""


class DeliveryError(ConsultError):
    """Sending a reply failed. ``permanent`` tells a 5xx refusal from a retryable failure."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class MailboxError(ConsultError):
    """The IMAP server refused or dropped us; the message says whether retrying can help."""


class AuthenticationError(MailboxError):
    """The server refused the login: fix the credentials; retrying will not help."""
