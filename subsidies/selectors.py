"""Reads: runs, statements (scoped to the person), per-person summaries of a run."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from admissions.models import Season
from callback_office.roles import is_office
from callbacks.models import Caller
from callbacks.selectors import caller_for
from subsidies.engine import CallerFacts, SeasonFacts
from subsidies.engine.ledger import CATEGORIES
from subsidies.engine.serialize import facts_from_dict
from subsidies.models import Inquiry, PayoutLine, PayoutRun, RunStatus

ZERO = Decimal("0.00")


def runs_for(*, season: Season) -> QuerySet[PayoutRun]:
    return PayoutRun.objects.filter(season=season).select_related("created_by", "approved_by", "scheme")


def latest_run(*, season: Season) -> PayoutRun | None:
    """The run a person's statement shows: the latest approved one, else the latest draft."""
    runs = PayoutRun.objects.filter(season=season)
    return (
        runs.filter(status=RunStatus.APPROVED).order_by("-number").first() or runs.order_by("-number").first()
    )


def statement_person(*, user: AbstractBaseUser, season: Season, caller_id: int | None) -> Caller | None:
    """Whose statement the user may open: their own; the office anyone's. None → 404."""
    own = caller_for(user=user, season=season)
    if caller_id is None or (own is not None and caller_id == own.pk):
        return own
    if is_office(user):
        return Caller.objects.filter(season=season, pk=caller_id).select_related("team").first()
    return None


def statement_lines(*, run: PayoutRun, person: Caller) -> QuerySet[PayoutLine]:
    return PayoutLine.objects.filter(run=run, person=person).order_by("position")


def inquiries_for(*, person: Caller) -> QuerySet[Inquiry]:
    return Inquiry.objects.filter(person=person).select_related("line", "run").order_by("-created_at")


@dataclass
class PersonSummary:
    """One row of the caller sheet: the person's numbers and a total per category."""

    facts: CallerFacts | None
    person_id: int
    staff_no: str
    name: str
    team: str
    by_category: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, ZERO))
    points: int = 0

    @property
    def total(self) -> Decimal:
        return sum(self.by_category.values(), ZERO)


@dataclass
class RunView:
    """A run as the UI and the workbook read it: frozen facts plus lines (two queries)."""

    run: PayoutRun
    facts: SeasonFacts
    lines: list[dict[str, Any]]
    people: list[PersonSummary]


# A payout line as the pages and the workbook read it (subsidies.exports streams the same fields).
LINE_FIELDS = (
    "person_id",
    "person__staff_no",
    "person__name",
    "rule",
    "category",
    "subject",
    "inputs",
    "rate",
    "tier",
    "steps",
    "points",
    "amount",
    "reason",
)


def run_view(run: PayoutRun) -> RunView:
    facts = facts_from_dict(run.facts)
    teams = {t.id: t.name for t in facts.teams}
    lines = list(PayoutLine.objects.filter(run=run).order_by("position").values(*LINE_FIELDS))
    people: dict[int, PersonSummary] = {}
    for c in facts.callers:
        people[c.id] = PersonSummary(
            c, c.id, c.staff_no, c.name, teams.get(c.team_id, "") if c.team_id else ""
        )
    for line in lines:
        pid = line["person_id"]
        if pid not in people:
            people[pid] = PersonSummary(None, pid, line["person__staff_no"], line["person__name"], "")
        row = people[pid]
        row.by_category[line["category"]] += line["amount"]
        row.points += line["points"]
    ordered = sorted(people.values(), key=lambda p: p.staff_no)
    return RunView(run, facts, lines, ordered)


def lines_by_person(lines: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        out[line["person_id"]].append(line)
    return out
