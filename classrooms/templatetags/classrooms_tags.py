"""Dashboard panels of classrooms: ``{% load classrooms_tags %}`` in the role panels."""

from __future__ import annotations

from typing import Any

from django import template

from classrooms import selectors

register = template.Library()


@register.inclusion_tag("classrooms/panel_learner.html", takes_context=True)
def learner_courses(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    return {"enrolments": list(selectors.enrolments_of(user=user)[:8])}


@register.inclusion_tag("classrooms/panel_trainer.html", takes_context=True)
def trainer_courses(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    return {"courses": list(selectors.courses_trained_by(user=user)[:8])}


@register.inclusion_tag("classrooms/panel_manager.html", takes_context=True)
def manager_learning(context: dict[str, Any]) -> dict[str, Any]:
    from django.utils.safestring import mark_safe

    from classrooms import charts, reports
    from classrooms.models import Enrolment

    user = context["request"].user
    enrolments = Enrolment.objects.filter(
        pk__in=selectors.team_enrolments(manager=user).values("pk")
    )
    series = reports.completions_over_time(enrolments=enrolments)
    return {
        "total": enrolments.count(),
        "completed": enrolments.filter(completed_at__isnull=False).count(),
        "chart": mark_safe(charts.line_chart(series, label="completions")),
    }
