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
from classrooms.reports import spreadsheet_cell
from hub.accounts.models import Role, Team
from hub.accounts.selectors import spaces_of, teams_managed_by


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    certs = selectors.certifications_managed_by(user=request.user)
    return render(
        request,
        "certifications/mine.html",
        {
            "awards": selectors.awards_of(user=request.user),
            "managed": certs[:200],
            "can_define": any(
                selectors.can_manage(user=request.user, space_id=s.pk)
                for s in spaces_of(user=request.user)[:20]
            ),
        },
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
                [
                    spreadsheet_cell(row["team"].name),
                    spreadsheet_cell(c["cert"].title),
                    *[c["counts"][s] for s in State.values],
                ]
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


def _managed_space(request: HttpRequest):
    """The space whose certifications the caller defines: the first of theirs they manage
    (coordinators, admins); anyone else is refused."""
    for space in spaces_of(user=request.user):
        if selectors.can_manage(user=request.user, space_id=space.pk):
            return space
    raise PermissionDenied


@login_required
def template_edit(request: HttpRequest) -> HttpResponse:
    """The space's certificate: wording (sanitised HTML with placeholders), brand colour,
    signer's name and signature image."""
    from certifications import certificates
    from certifications.models import DEFAULT_TEMPLATE, CertificateTemplate

    space = _managed_space(request)
    template = CertificateTemplate.objects.filter(space=space).first()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            template = certificates.template_save(
                space=space,
                body=request.POST.get("body", "")[:40000],
                signed_by=request.POST.get("signed_by", ""),
                brand_color=request.POST.get("brand_color", ""),
                signature=request.FILES.get("signature"),
                remove_signature=request.POST.get("remove_signature") == "on",
            )
            messages.success(request, _("The certificate template is saved."))
            return redirect("certifications-template")
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"body": exc.messages}
    return render(
        request,
        "certifications/template_edit.html",
        {
            "space": space,
            "template": template,
            "body": template.body_html if template else DEFAULT_TEMPLATE,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@login_required
def certification_new(request: HttpRequest) -> HttpResponse:
    """Define a certification: earned by a course or a path of the space, its validity,
    recertification window and path."""
    from classrooms.models import Course
    from paths.models import Path

    space = _managed_space(request)
    courses = Course.objects.filter(space=space).order_by("title")
    paths = Path.objects.filter(space=space).order_by("title")
    errors: list[str] = []
    values = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        from hub.params import parse_id

        def pick(queryset, key):
            pk = parse_id(request.POST.get(key, ""))
            found = queryset.filter(pk=pk).first() if pk else None
            if request.POST.get(key) and found is None:
                errors.append(_("Choose among the space's courses and paths."))
            return found

        course = pick(courses, "course")
        path = pick(paths, "path")
        recert_path = pick(paths, "recert_path")
        try:
            validity = int(request.POST.get("validity_months", "24"))
            window = int(request.POST.get("window_days", "60"))
        except ValueError:
            errors.append(_("Months and days are whole numbers."))
        if not errors:
            try:
                cert = services.certification_create(
                    user=request.user,
                    space=space,
                    title=request.POST.get("title", ""),
                    course=course,
                    path=path,
                    validity_months=validity,
                    window_days=window,
                    recert_path=recert_path,
                )
                messages.success(request, _("The certification is defined."))
                return redirect("certifications-detail", cert.pk)
            except ValidationError as exc:
                errors.extend(exc.messages)
    return render(
        request,
        "certifications/new.html",
        {"space": space, "courses": courses, "paths": paths, "errors": errors, "values": values},
        status=400 if errors else 200,
    )
