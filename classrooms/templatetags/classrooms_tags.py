"""Dashboard panels of classrooms: ``{% load classrooms_tags %}`` in the role panels."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import QuerySet
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from classrooms import charts, reports, selectors
from classrooms.models import Enrolment

register = template.Library()


def _charts(enrolments: QuerySet[Enrolment]) -> dict[str, Any]:
    """Totals and the two charts (completion over time, score distribution); SVG drawn
    by classrooms/charts.py, which escapes every text it places."""
    return {
        "total": enrolments.count(),
        "completed": enrolments.filter(completed_at__isnull=False).count(),
        "completion_chart": mark_safe(
            charts.line_chart(
                reports.completions_over_time(enrolments=enrolments),
                label=_("Completed enrolments over time"),
            )
        ),
        "score_chart": mark_safe(
            charts.histogram(
                reports.best_scores_of(enrolments=enrolments), label=_("Quiz score distribution")
            )
        ),
    }


@register.inclusion_tag("classrooms/panel_learner.html", takes_context=True)
def learner_courses(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    return {"enrolments": list(selectors.enrolments_of(user=user)[:8])}


@register.inclusion_tag("classrooms/panel_trainer.html", takes_context=True)
def trainer_courses(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    courses = list(selectors.courses_trained_by(user=user)[:8])
    enrolments = Enrolment.objects.filter(course__trainers=user)
    return {"courses": courses, **_charts(enrolments)}


@register.inclusion_tag("classrooms/panel_manager.html", takes_context=True)
def manager_learning(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    enrolments = Enrolment.objects.filter(
        pk__in=selectors.team_enrolments(manager=user).values("pk")
    )
    return _charts(enrolments)
