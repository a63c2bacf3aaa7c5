"""How the desk is doing, for its lead: the figures behind the admin dashboard.

``load_desk`` reads plain rows for a window of days (thin I/O: a handful of queries that never
read a mail's bytes); ``summarize`` turns them into ``DeskStats`` (pure: rows and a clock in,
figures out, so tests give it literal rows). The definitions, once:

- a case *arrives* when its first mail does (``cases.created_at``); it is *answered* when its
  first reply is sent (the outbox's ``sent_at``; a question asked with ask-info is no answer);
  *time to answer* is the difference, counted in the week (Monday, UTC) the answer went out;
- a case *breaches the SLA* when it is answered more than ``sla_hours`` after it arrived, and
  *is overdue* when it still waits on the desk (received, awaiting review) past that, as in
  the queue's badges (a case waiting on its sender's answer is not);
- a reply went out *unedited* when its text is the first (machine) draft's; else the *edit size*
  is the number of lines the reviewers added or removed (the outbox keeps the diff);
- *question types* are those of the first draft's analysis (``questions[].type``): a case with
  two types counts for both;
- a *reviewer's* throughput is what they did in the window: approvals, questions to the sender,
  closes, draft edits (the audit trail's ``approve``, ``ask_info``, ``close``, ``draft_saved``).

Percentiles are nearest-rank: p90 of ten answers is the ninth fastest, never an interpolation
between two cases.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, case, cast, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from consult.cases import STATUSES
from db.models import AuditEvent, Case, Draft, Outbox

#: Audit actions that are a reviewer's work, by the name the dashboard gives them.
REVIEW_ACTIONS = {"approve": "approved", "ask_info": "asked", "close": "closed",
                  "draft_saved": "edited"}
#: Actors that are the service itself, not a reviewer.
SERVICE_ACTORS = frozenset({"system", "sender"})
#: Cases waiting on the desk, as the queue's due badges count them (``consult.web.views``).
WAITING_ON_US = ("received", "awaiting_review")
#: Days a dashboard may look back.
MIN_DAYS, MAX_DAYS = 7, 366


@dataclass(frozen=True)
class CaseRow:
    id: int
    created_at: datetime
    status: str
    needs_expert: bool
    codes: tuple[str, ...]


@dataclass(frozen=True)
class ReplyRow:
    """A reply to a case (not a question to the sender), with its case's arrival."""

    case_id: int
    case_created_at: datetime
    approved_at: datetime
    sent_at: datetime | None
    status: str
    diff_text: str


@dataclass(frozen=True)
class ActionRow:
    actor: str
    action: str
    at: datetime


@dataclass(frozen=True)
class DeskData:
    """The rows ``summarize`` needs (what ``load_desk`` read)."""

    cases: list[CaseRow]
    replies: list[ReplyRow]
    actions: list[ActionRow]
    question_types: dict[int, tuple[str, ...]]
    overdue_now: int


# -- loading -------------------------------------------------------------------------------------
def _utc(value: datetime) -> datetime:
    """SQLite gives naive UTC datetimes; PostgreSQL aware ones."""
    if value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def window_start(now: datetime, days: int) -> datetime:
    """The window is whole days (UTC): ``days`` of them, today included, from midnight."""
    first = _utc(now).date() - timedelta(days=days - 1)
    return datetime(first.year, first.month, first.day, tzinfo=UTC)


def question_types(analysis_json: str | None) -> tuple[str, ...]:
    """The question types of a draft's analysis, in order, each once (pure; bad JSON: none).
    Takes the whole analysis or just its ``questions`` list."""
    try:
        data = json.loads(analysis_json or "{}")
    except ValueError:
        return ()
    parts = data.get("questions") if isinstance(data, dict) else data
    if not isinstance(parts, list):
        return ()
    types = [p.get("type") for p in parts if isinstance(p, dict)]
    return tuple(dict.fromkeys(t for t in types if isinstance(t, str) and t))


def _questions_column(session: Session) -> Any:
    """The first draft's ``questions`` list, cut out by the database's JSON functions where it
    has them (a draft's whole analysis, findings and all, is ten times its questions)."""
    dialect = session.get_bind().dialect.name
    column = col(Draft.analysis_json)
    if dialect == "sqlite":
        return case((func.json_valid(column) == 1, func.json_extract(column, "$.questions")),
                    else_=None)
    if dialect == "postgresql":  # written by json.dumps: always valid JSON
        return func.json_extract_path_text(cast(column, JSON), "questions")
    return column


def _first_draft_types(session: Session, *, since: datetime, now: datetime,
                       more: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """Question types of the first drafts of the cases that arrived in the window (one join),
    and of the ``more`` cases (answered in the window, arrived before it)."""
    questions = _questions_column(session)
    found = {case_id: question_types(text) for case_id, text in session.execute(
        sa_select(col(Draft.case_id), questions)
        .join(Case, col(Case.id) == col(Draft.case_id))
        .where(col(Draft.version) == 1, col(Case.created_at) >= since,
               col(Case.created_at) <= now))}
    ids = sorted(set(more) - set(found))
    for start in range(0, len(ids), 900):  # SQLite's bound parameters, with room to spare
        for case_id, text in session.execute(
                sa_select(col(Draft.case_id), questions)
                .where(col(Draft.version) == 1, col(Draft.case_id).in_(ids[start:start + 900]))):
            found[case_id] = question_types(text)
    return found


def load_desk(session: Session, *, now: datetime, days: int, sla_hours: float) -> DeskData:
    """The rows of the last ``days`` days (``window_start``) up to ``now``: cases that arrived,
    replies approved or sent, reviewers' actions; plus how many cases are overdue right now.
    Only the columns needed: never a mail's or a reply's raw bytes."""
    since = window_start(now, days)
    cases = [CaseRow(i, _utc(at), status, bool(expert), tuple((codes or "").split()))
             for i, at, status, expert, codes in session.execute(
                 sa_select(col(Case.id), col(Case.created_at), col(Case.status),
                           col(Case.needs_expert), col(Case.codes))
                 .where(col(Case.created_at) >= since, col(Case.created_at) <= now))]
    replies = [ReplyRow(case_id, _utc(arrived), _utc(approved),
                        _utc(sent) if sent else None, status, diff or "")
               for case_id, arrived, approved, sent, status, diff in session.execute(
                   sa_select(col(Outbox.case_id), col(Case.created_at), col(Outbox.created_at),
                             col(Outbox.sent_at), col(Outbox.status), col(Outbox.diff_text))
                   .join(Case, col(Case.id) == col(Outbox.case_id))
                   .where(or_(col(Outbox.purpose).is_(None), col(Outbox.purpose) == "reply"),
                          or_(col(Outbox.created_at) >= since, col(Outbox.sent_at) >= since))
                   .order_by(col(Outbox.id)))]
    actions = [ActionRow(actor, action, _utc(at)) for actor, action, at in session.exec(
        select(AuditEvent.actor, AuditEvent.action, AuditEvent.at)
        .where(col(AuditEvent.at) >= since, col(AuditEvent.at) <= now,
               col(AuditEvent.action).in_(tuple(REVIEW_ACTIONS)),
               col(AuditEvent.actor).not_in(tuple(SERVICE_ACTORS))))]
    overdue = session.exec(
        select(func.count()).select_from(Case)
        .where(col(Case.status).in_(WAITING_ON_US),
               col(Case.created_at) < now - timedelta(hours=sla_hours))).one()
    types = _first_draft_types(session, since=since, now=now,
                               more=[r.case_id for r in replies])
    return DeskData(cases, replies, actions, types, int(overdue))


# -- figures -------------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (pure): the smallest value with at least ``q`` of them at or
    below it; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def week_of(at: datetime) -> date:
    """The Monday (UTC) of the week ``at`` falls in."""
    day = _utc(at).date()
    return day - timedelta(days=day.weekday())


def diff_size(diff_text: str) -> int:
    """Lines added or removed in a unified diff (pure; headers and context not counted)."""
    return sum(1 for line in diff_text.splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---")))


@dataclass(frozen=True)
class WeekAnswers:
    week: date
    answered: int
    p50_hours: float | None
    p90_hours: float | None
    breached: int


@dataclass(frozen=True)
class TypeEdits:
    """Replies whose first draft had a question of this type, and how much was edited."""

    type: str
    replies: int
    unedited: int
    median_lines: float | None  # of the edited ones
    mean_lines: float | None  # of the edited ones

    @property
    def edited(self) -> int:
        return self.replies - self.unedited


@dataclass(frozen=True)
class ReviewerWork:
    reviewer: str
    approved: int = 0
    asked: int = 0
    closed: int = 0
    edited: int = 0

    @property
    def total(self) -> int:
        return self.approved + self.asked + self.closed


@dataclass(frozen=True)
class DeskStats:
    """Everything the dashboard shows, for the window ``since``..``now``."""

    now: datetime
    days: int
    sla_hours: float
    day_labels: list[date]
    per_day: dict[str, list[int]]  # status -> cases that arrived that day, now in that status
    weeks: list[WeekAnswers]
    answered: int
    p50_hours: float | None
    p90_hours: float | None
    breached: int
    overdue_now: int
    replies: int
    unedited: int
    edit_lines: list[int]  # of each edited reply
    by_type: list[TypeEdits]
    expert_weeks: list[tuple[date, int, int]]  # week, cases, needs_expert
    cases: int
    needs_expert: int
    top_codes: list[tuple[str, int]]
    top_types: list[tuple[str, int]]
    reviewers: list[ReviewerWork]

    def to_json(self) -> dict[str, object]:
        def hours(v: float | None) -> float | None:
            return None if v is None else round(v, 2)

        return {
            "now": self.now.isoformat(), "days": self.days, "sla_hours": self.sla_hours,
            "cases_per_day": [{"day": d.isoformat(), **{s: self.per_day[s][i]
                                                        for s in STATUSES}}
                              for i, d in enumerate(self.day_labels)],
            "time_to_answer": {
                "answered": self.answered, "p50_hours": hours(self.p50_hours),
                "p90_hours": hours(self.p90_hours),
                "weeks": [{"week": w.week.isoformat(), "answered": w.answered,
                           "p50_hours": hours(w.p50_hours), "p90_hours": hours(w.p90_hours),
                           "breached": w.breached} for w in self.weeks]},
            "sla": {"breached": self.breached, "overdue_now": self.overdue_now},
            "edits": {"replies": self.replies, "unedited": self.unedited,
                      "edited": self.replies - self.unedited,
                      "median_lines": percentile(self.edit_lines, 0.5),
                      "by_question_type": [
                          {"type": t.type, "replies": t.replies, "unedited": t.unedited,
                           "edited": t.edited, "median_lines": t.median_lines,
                           "mean_lines": t.mean_lines} for t in self.by_type]},
            "needs_expert": {"cases": self.cases, "needs_expert": self.needs_expert,
                             "weeks": [{"week": w.isoformat(), "cases": n, "needs_expert": e}
                                       for w, n, e in self.expert_weeks]},
            "top_codes": [{"code": c, "cases": n} for c, n in self.top_codes],
            "top_question_types": [{"type": t, "cases": n} for t, n in self.top_types],
            "reviewers": [{"reviewer": r.reviewer, "approved": r.approved, "asked": r.asked,
                           "closed": r.closed, "edited": r.edited} for r in self.reviewers],
        }


def _weeks(since: datetime, now: datetime) -> list[date]:
    first, last = week_of(since), week_of(now)
    return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


def summarize(data: DeskData, *, now: datetime, days: int, sla_hours: float,
              top: int = 12) -> DeskStats:
    """The dashboard's figures from ``data`` (pure). See the module docstring."""
    now = _utc(now)
    since = window_start(now, days)
    day_labels = [since.date() + timedelta(days=n) for n in range(days)]
    index = {d: i for i, d in enumerate(day_labels)}
    per_day = {s: [0] * len(day_labels) for s in STATUSES}
    for c in data.cases:
        at = index.get(c.created_at.date())
        if at is not None and c.status in per_day:
            per_day[c.status][at] += 1

    # time to answer and the SLA: each case's first reply that was sent, in the window
    first_sent: dict[int, ReplyRow] = {}
    for r in data.replies:
        if r.sent_at is not None and r.status == "sent":
            known = first_sent.get(r.case_id)
            if known is None or r.sent_at < (known.sent_at or r.sent_at):
                first_sent[r.case_id] = r
    answered = [r for r in first_sent.values()
                if r.sent_at is not None and since <= r.sent_at <= now]
    sla = timedelta(hours=sla_hours)
    by_week: dict[date, list[ReplyRow]] = defaultdict(list)
    for r in answered:
        by_week[week_of(r.sent_at)].append(r)  # type: ignore[arg-type]

    def hours(r: ReplyRow) -> float:
        return max(0.0, (r.sent_at - r.case_created_at).total_seconds() / 3600)  # type: ignore[operator]

    def late(r: ReplyRow) -> bool:
        return r.sent_at - r.case_created_at > sla  # type: ignore[operator]

    weeks = []
    for week in _weeks(since, now):
        rows = by_week.get(week, [])
        spent = [hours(r) for r in rows]
        weeks.append(WeekAnswers(week, len(rows), percentile(spent, 0.5),
                                 percentile(spent, 0.9), sum(1 for r in rows if late(r))))
    all_hours = [hours(r) for r in answered]

    # edits: every reply approved in the window (sent or not), against the first draft
    approved = [r for r in data.replies if since <= r.approved_at <= now]
    sizes = {id(r): diff_size(r.diff_text) for r in approved}
    per_type: dict[str, list[int]] = defaultdict(list)
    for r in approved:
        for t in data.question_types.get(r.case_id, ()) or ("(none)",):
            per_type[t].append(sizes[id(r)])
    by_type = []
    for t, values in sorted(per_type.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        edited = [v for v in values if v > 0]
        by_type.append(TypeEdits(t, len(values), len(values) - len(edited),
                                 percentile(edited, 0.5),
                                 round(sum(edited) / len(edited), 1) if edited else None))

    # needs expert, codes and question types of the cases that arrived in the window
    expert_by_week: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    codes: Counter[str] = Counter()
    types: Counter[str] = Counter()
    for c in data.cases:
        slot = expert_by_week[week_of(c.created_at)]
        slot[0] += 1
        slot[1] += int(c.needs_expert)
        codes.update(set(c.codes))
        types.update(data.question_types.get(c.id, ()))
    expert_weeks = [(w, n, e) for w, (n, e) in
                    ((w, expert_by_week.get(w, [0, 0])) for w in _weeks(since, now))]

    work: dict[str, Counter[str]] = defaultdict(Counter)
    for a in data.actions:
        if a.action in REVIEW_ACTIONS and a.actor not in SERVICE_ACTORS:
            work[a.actor][REVIEW_ACTIONS[a.action]] += 1
    reviewers = sorted((ReviewerWork(who, n["approved"], n["asked"], n["closed"], n["edited"])
                        for who, n in work.items()),
                       key=lambda r: (-r.approved, -r.total, r.reviewer))

    return DeskStats(
        now=now, days=days, sla_hours=sla_hours, day_labels=day_labels, per_day=per_day,
        weeks=weeks, answered=len(answered), p50_hours=percentile(all_hours, 0.5),
        p90_hours=percentile(all_hours, 0.9), breached=sum(1 for r in answered if late(r)),
        overdue_now=data.overdue_now, replies=len(approved),
        unedited=sum(1 for r in approved if sizes[id(r)] == 0),
        edit_lines=[v for v in sizes.values() if v > 0], by_type=by_type,
        expert_weeks=expert_weeks, cases=len(data.cases),
        needs_expert=sum(1 for c in data.cases if c.needs_expert),
        top_codes=sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))[:top],
        top_types=sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))[:top],
        reviewers=reviewers)
