"""Demo data for the supervision group: reviews, one sample per team, some scores and findings.

Called by the demo generator (settings.DEMO_SEEDERS) after the core season exists.
"""

from __future__ import annotations

import random

from django.db.models import Max, Min
from django.utils import timezone

from admissions.models import Season
from callbacks.choices import QualificationStatus, TeamKind
from callbacks.models import Caller, ContactLog, Team
from supervision import services
from supervision.choices import FindingCategory, IncidentKind, ReviewOutcome, Severity
from supervision.models import QualificationReview

FINDINGS = [
    (FindingCategory.POLICY, "讲解本省退档政策不准确，称“可以随时退档”。", "重新学习本省政策，回电更正。"),
    (FindingCategory.OPENING, "开场未表明身份和学校。", "按话术礼貌开场并表明身份。"),
    (FindingCategory.FALSE_RECORD, "记录为“确认就读”，录音中考生仍在犹豫。", "如实记录，补打一次电话确认。"),
    (FindingCategory.NEXT_STEP, "未约定下次联系时间。", "与考生约定下一步并记录。"),
]


def seed(season: Season, rng: random.Random) -> None:
    supervisors = list(Caller.objects.filter(season=season, is_supervisor=True).select_related("user"))
    if not supervisors:
        return

    # 资格审查: the qualified callers get the review that qualified them, the rejected one that
    # rejected them; callers still pending stay on the supervisors' to-do list.
    reviewed = set(
        QualificationReview.objects.filter(caller__season=season).values_list("caller_id", flat=True)
    )
    callers = (
        Caller.objects.filter(season=season)
        .exclude(id__in=reviewed)
        .exclude(qualification_status=QualificationStatus.PENDING)
        .order_by("id")
    )
    for caller in callers:
        ok = caller.qualification_status == QualificationStatus.QUALIFIED
        services.qualification_review_record(
            caller=caller,
            reviewer=rng.choice(supervisors).user,
            trained=True,
            script_tested=ok,
            rules_acknowledged=True,
            outcome=ReviewOutcome.QUALIFIED if ok else ReviewOutcome.REJECTED,
            note="" if ok else "话术考核未通过，需补考。",
            reviewed_on=season.admission_start or timezone.localdate(),
        )

    teams = list(Team.objects.filter(season=season, kind=TeamKind.REGULAR).order_by("id"))
    for i, team in enumerate(teams):
        if not team.supervisors.exists():
            team.supervisors.add(supervisors[i % len(supervisors)])

    span = ContactLog.objects.filter(candidate__season=season).aggregate(
        lo=Min("contacted_at"), hi=Max("contacted_at")
    )
    if span["lo"] is None:
        return
    start = timezone.localtime(span["lo"]).date()
    end = timezone.localtime(span["hi"]).date()
    services.scorecard_current(season=season)

    for team in teams:
        sup = team.supervisors.order_by("id").first()
        sample = services.sample_draw(
            supervisor=sup,
            season=season,
            period_start=start,
            period_end=end,
            team_ids=[team.pk],
            seed=rng.randrange(2**62),
        )
        card = services.scorecard_current(season=season)
        criteria = list(card.criteria.all())
        for n, item in enumerate(sample.items.select_related("contact_log").order_by("id")[:8]):
            bad = rng.random() < 0.25
            marks = {
                str(c.id): (c.max_points - rng.randint(3, 6))
                if bad and k == n % len(criteria)
                else c.max_points
                for k, c in enumerate(criteria)
            }
            services.audit_score_submit(item=item, supervisor=sup, marks=marks, comment="")
            if bad:
                category, description, rectification = FINDINGS[n % len(FINDINGS)]
                finding = services.finding_create(
                    item=item,
                    author=sup,
                    severity=rng.choice([Severity.MINOR, Severity.MAJOR]),
                    category=category,
                    description=description,
                    required_rectification=rectification,
                )
                caller = item.contact_log.caller
                roll = rng.random()
                if roll < 0.3:
                    services.finding_acknowledge(finding=finding, caller=caller)
                elif roll < 0.55:
                    services.finding_respond(
                        finding=finding, caller=caller, text="已回电更正并重新学习话术。"
                    )

    if teams:
        # An incident cannot have happened after today: a future season's (contacts dated ahead)
        # complaint is dated today at the latest.
        occurred = min(start, timezone.localdate())
        services.incident_record(
            season=season,
            kind=IncidentKind.COMPLAINT,
            team=teams[0],
            caller=None,
            caused_by_improper_callback=False,
            description="家长来电反映同一天接到多次电话。",
            handling="已协调组内分工，一名回访员负责联系。",
            occurred_on=occurred,
            handled_on=occurred,
            user=supervisors[0].user,
        )
