"""PIPL export and erasure for the case engine (privacy/pipl.py): the cases a person reported,
their timelines and ratings.

A case is a public problem (a street light, a fire lane) as much as a person's request, so
erasure keeps the row — the unit's timeline and the closed-loop counts need it — and removes
what was the reporter's: the words they gave when reopening it and with their rating. Open cases of the erased
reporter end as `closed` with a timeline line: nobody is left to confirm, reopen or rate them.
The kind's own row (matters.Matter) scrubs its text, place, coordinates and photos in the
kind's pipl.py. Scores stay in the figures, like services' ratings.
"""

from __future__ import annotations

from django.utils import timezone

from cases.models import Case, CaseEvent
from privacy.pipl import model_rows, register_eraser, register_exporter

ERASED_NOTE = "反映人已注销账号，自动办结"


def export(user) -> dict:
    cases = Case.objects.filter(reporter=user)
    return {
        "cases": model_rows(cases),  # status, units, deadlines, the answer and the rating
        "case_events": model_rows(CaseEvent.objects.filter(case__in=cases.values("pk"))),
    }


def erase(user) -> None:
    # The reporter's own words on their cases (reopen reasons); staff's reasons are the unit's record.
    CaseEvent.objects.filter(actor=user, case__reporter=user, kind=CaseEvent.Kind.REOPENED).update(reason="")
    Case.objects.filter(reporter=user).exclude(rating_comment="").update(rating_comment="", rating_comment_status="")
    now = timezone.now()
    for case in Case.objects.filter(reporter=user, status__in=Case.OPEN).select_for_update(of=("self",)):
        before = case.status
        case.status, case.finished_at, case.due_at = Case.Status.CLOSED, now, None
        case.save(update_fields=["status", "finished_at", "due_at"])
        CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.CLOSED, actor=None, from_status=before,
                                 to_status=case.status, reason=ERASED_NOTE)


register_exporter("cases", export)
register_eraser("cases", erase)
