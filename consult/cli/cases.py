"""`consult queue`, `show`, `approve`, `close`, `outbox`: review from the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from consult.cli.common import CliState, echo
from consult.clock import utcnow
from consult.listing import MAX_LIMIT

if TYPE_CHECKING:
    from db.models import Case


def _actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


@click.command("queue")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--status", "statuses", multiple=True, help="Only these statuses (repeatable).")
@click.option("--all", "show_all", is_flag=True, help="Include sent and closed cases.")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=500, show_default=True,
              help="List at most this many cases; when more follow, stderr says so.")
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True,
              help="Skip this many cases first (the next page: the offset stderr names).")
@click.pass_obj
def queue_cmd(state: CliState, as_json: bool, statuses: tuple[str, ...], show_all: bool,
              limit: int, offset: int) -> None:
    """List the cases waiting for someone, oldest first, a page at a time.

    A listing cut at --limit says so on stderr (stdout stays a JSON list with --json) and names
    the --offset of the next page.
    """
    from consult.cases import STATUSES
    from consult.listing import fetch_size, page_of
    from consult.review import WAITING_STATUSES, find_cases
    from db.engine import session

    wanted = statuses or (STATUSES if show_all else WAITING_STATUSES)
    with session(state.engine) as s:
        rows = find_cases(s, statuses=tuple(wanted), limit=fetch_size(limit), offset=offset)
    page = page_of(rows, limit=limit, offset=offset)
    if as_json:
        click.echo(json.dumps([_queue_json(c) for c in page.items], indent=2))
    else:
        if not page.items:
            echo("No cases on this page." if offset else "The queue is empty.")
        for c in page.items:
            echo(f"#{c.id:<5} {c.status:16} {c.created_at:%Y-%m-%d %H:%M}  "
                 f"{c.sender[:30]:30}  {c.subject[:60]}")
    if page.more:
        click.echo(page.notice(), err=True)


def _queue_json(case: Case) -> dict[str, object]:
    """A case as `consult queue --json` lists it."""
    return {"id": case.id, "status": case.status, "subject": case.subject,
            "sender": case.sender, "received_at": case.created_at.isoformat(),
            "assignee": case.assignee, "codes": case.codes.split(),
            "needs_expert": case.needs_expert}


@click.command("show")
@click.argument("case_id", type=int)
@click.pass_obj
def show_cmd(state: CliState, case_id: int) -> None:
    """Show a case: its mails, findings, the current draft and the audit trail."""
    from consult import review
    from db.engine import session

    with session(state.engine) as s:
        case = review.get_case(s, case_id)
        echo(f"Case #{case.id} [{case.status}] {case.subject}")
        echo(f"From: {case.sender_name} <{case.sender}>   codes: {case.codes or '-'}")
        if case.sender_auth == "fail":
            echo("!! Our mail server says this From address failed DMARC.")
        if case.claims_case_id:
            echo(f"!! Claims to follow up case #{case.claims_case_id} without the right to join "
                 "it (no reply token or thread headers, sender not authenticated).")
        if case.quarantine_reason:
            echo(f"Quarantined: {case.quarantine_reason}")
        echo("\nThread:")
        for m in review.thread(s, case_id):
            echo(f"  {m.direction:3} #{m.id} {m.received_at:%Y-%m-%d %H:%M} "
                       f"{m.from_addr} {m.subject[:60]} ({m.kind or 'unparsed'})")
        draft = review.latest_draft(s, case_id)
        if draft:
            findings = json.loads(draft.analysis_json).get("findings", [])
            if findings:
                echo("\nFindings:")
                for f in findings:
                    echo(f"  [{f['severity']}] {f['rule']} {', '.join(f['codes'])}: "
                               f"{f['detail']}")
            echo(f"\nDraft v{draft.version} by {draft.author} (KB {draft.kb_version}):\n")
            echo(draft.body_text)
        echo("\nAudit:")
        for e in review.audit(s, case_id):
            move = f"{e.from_status} -> {e.to_status}" if e.from_status != e.to_status else ""
            echo(f"  {e.at:%Y-%m-%d %H:%M:%S} {e.actor:14} {e.action:16} {move} {e.reason}")


@click.command("approve")
@click.argument("case_id", type=int)
@click.option("--body", "body_file", type=click.Path(path_type=Path, exists=True),
              help="A file with the edited reply text to send instead of the draft.")
@click.pass_obj
def approve_cmd(state: CliState, case_id: int, body_file: Path | None) -> None:
    """Approve the draft (or an edited body) and put the reply in the outbox."""
    from consult import review
    from db.engine import session

    body = body_file.read_text(encoding="utf-8") if body_file else None
    with session(state.engine) as s:
        row = review.approve(s, case_id, state.settings, actor=_actor(), now=utcnow(),
                             body_text=body)
        s.commit()
    echo(f"Case #{case_id} approved; reply <{row.message_id}> queued for {row.to_addr}.")


@click.command("close")
@click.argument("case_id", type=int)
@click.option("--reason", default="", help="Why, for the audit trail.")
@click.pass_obj
def close_cmd(state: CliState, case_id: int, reason: str) -> None:
    """Close a case without (further) reply."""
    from consult import review
    from db.engine import session

    with session(state.engine) as s:
        review.close(s, case_id, actor=_actor(), now=utcnow(), reason=reason)
        s.commit()
    echo(f"Case #{case_id} closed.")


@click.command("outbox")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def outbox_cmd(state: CliState, as_json: bool) -> None:
    """List outbound replies: queued, sent, failed (and the local Maildir when no relay)."""
    from consult import review
    from db.engine import session

    with session(state.engine) as s:
        rows = review.outbox(s)
    data = [{"id": r.id, "case_id": r.case_id, "to": r.to_addr, "status": r.status,
             "message_id": r.message_id, "attempts": r.attempts, "last_error": r.last_error,
             "sent_at": r.sent_at.isoformat() if r.sent_at else None} for r in rows]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    if not data:
        echo("The outbox is empty.")
    for d in data:
        echo(f"#{d['id']:<4} case #{d['case_id']:<5} {d['status']:8} {d['to']:30} "
                   f"<{d['message_id']}> {d['last_error'] or ''}")
    if not state.settings.smtp_host:
        echo(f"(no relay set: delivered mail is kept in {state.settings.outbox_maildir})")


def register(group: click.Group) -> None:
    for cmd in (queue_cmd, show_cmd, approve_cmd, close_cmd, outbox_cmd):
        group.add_command(cmd)
