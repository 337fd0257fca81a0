"""Pages: my certifications; a certification (holders, history, bulk with a preview); the
compliance report (per team, chart and CSV)."""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from certifications import selectors, services
from certifications.models import Award, BulkJob, State
from hub.accounts.models import Role, Team
from hub.accounts.selectors import spaces_of, teams_managed_by


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    certs = selectors.certifications_managed_by(user=request.user)
    return render(
        request,
        "certifications/mine.html",
        {"awards": selectors.awards_of(user=request.user), "managed": certs[:200]},
    )


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    cert = get_object_or_404(selectors.certifications_managed_by(user=request.user), pk=pk)
    plan = None
    text = ""
    action = "issue"
    if request.method == "POST":
        text = request.POST.get("usernames", "")[:400_000]
        action = request.POST.get("action", "")
        names = [n for n in text.replace(",", "\n").splitlines() if n.strip()]
        try:
            if request.POST.get("apply") == "1":
                job = services.bulk_start(
                    actor=request.user, certification=cert, action=action, usernames=names
                )
                return redirect("certifications-bulk-job", job.pk)
            plan = services.bulk_preview(
                actor=request.user, certification=cert, action=action, usernames=names
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    awards = (
        Award.objects.filter(certification=cert)
        .select_related("user")
        .prefetch_related("events")
        .order_by("expires_at")[:500]
    )
    return render(
        request,
        "certifications/detail.html",
        {
            "cert": cert,
            "awards": awards,
            "counts": selectors.state_counts(certification=cert),
            "plan": plan,
            "text": text,
            "action": action,
            "actions": services.ACTIONS,
            "topic": selectors.space_topic(cert.space_id),
        },
    )


@login_required
@require_GET
def bulk_job(request: HttpRequest, pk: int) -> HttpResponse:
    """A background bulk operation: its live progress bar, then its outcome. Only the
    person who started it (404 to anyone else)."""
    job = get_object_or_404(
        BulkJob.objects.select_related("certification"), pk=pk, created_by=request.user
    )
    return render(request, "certifications/bulk_job.html", {"job": job, "cert": job.certification})


def _report_scope(request: HttpRequest):
    """Admins and coordinators: every team of their spaces; managers: their own teams."""
    user = request.user
    space = spaces_of(user=user).first()
    if space is None:
        raise PermissionDenied
    if selectors.can_manage(user=user, space_id=space.pk):
        return space, Team.objects.filter(space=space)
    if user.has_role(Role.MANAGER):
        return space, teams_managed_by(user=user).filter(space=space)
    raise PermissionDenied


@login_required
def compliance(request: HttpRequest) -> HttpResponse:
    space, teams = _report_scope(request)
    rows = selectors.compliance(space_id=space.pk, teams=teams)
    chart = []
    for row in rows:
        total = {s: sum(c["counts"][s] for c in row["certs"]) for s in State.values}
        n = sum(total.values()) or 1
        chart.append({"team": row["team"], "total": total, "ok": 100 * (total["certified"]) // n})
    return render(
        request,
        "certifications/compliance.html",
        {"rows": rows, "chart": chart, "space": space, "states": State.choices},
    )


@login_required
def compliance_csv(request: HttpRequest) -> HttpResponse:
    space, teams = _report_scope(request)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Team"), _("Certification"), *[label for _v, label in State.choices]])
    for row in selectors.compliance(space_id=space.pk, teams=teams):
        for c in row["certs"]:
            writer.writerow(
                [row["team"].name, c["cert"].title, *[c["counts"][s] for s in State.values]]
            )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="compliance.csv"'
    return response


def verify(request: HttpRequest, number: str) -> HttpResponse:
    """Public: what a QR code on a certificate leads to. The state, nothing more (no name,
    no dates); an unknown or altered number is a 404 that says so."""
    from certifications.certificates import verification

    state = verification(number)
    labels = {"valid": _("Valid"), "expired": _("Expired"), "revoked": _("Revoked")}
    return render(
        request,
        "certifications/verify.html",
        {"state": state, "label": labels.get(state or "", "")},
        status=200 if state else 404,
    )
