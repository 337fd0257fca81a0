"""Every write of certifications: define, issue (on completion or in bulk), the nightly pass
(expiring -> recertification assigned, expired), renewal, revocation; the history of each."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from certifications import selectors
from certifications.models import (
    Award,
    AwardEvent,
    BulkJob,
    BulkStatus,
    Certification,
    EventKind,
    State,
    new_number,
)
from hub import realtime, sanitize
from hub.accounts.models import Space, User
from hub.accounts.selectors import managers_of, space_member_ids
from hub.notify import notify
from paths import services as paths_services

MAX_BULK = 20_000


def add_months(at: datetime, months: int) -> datetime:
    """``at`` plus whole months; the 31st becomes the month's last day where it is shorter."""
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def _expiry(cert: Certification, at: datetime) -> datetime:
    return add_months(at, cert.validity_months)


def certification_create(
    *,
    user: User,
    space: Space,
    title: str,
    course: Any = None,
    path: Any = None,
    validity_months: int = 24,
    window_days: int = 60,
    recert_path: Any = None,
) -> Certification:
    if not selectors.can_manage(user=user, space_id=space.pk):
        raise PermissionDenied(_("Only the space's coordinators and admins define certifications."))
    title = sanitize.plain(title or "").strip()[:200]
    if not title:
        raise ValidationError({"title": _("The certification needs a title.")})
    if (course is None) == (path is None):
        raise ValidationError(_("A certification is earned by a course or a path: one of them."))
    for thing in (course, path, recert_path):
        if thing is not None and thing.space_id != space.pk:
            raise ValidationError(_("Everything a certification uses belongs to its space."))
    if not 1 <= int(validity_months) <= 240:
        raise ValidationError({"validity_months": _("From 1 to 240 months.")})
    if not 0 <= int(window_days) <= 3650:
        raise ValidationError({"window_days": _("From 0 to 3650 days.")})
    return Certification.objects.create(
        space=space,
        title=title,
        course=course,
        path=path,
        validity_months=validity_months,
        window_days=window_days,
        recert_path=recert_path,
    )


def _log(award: Award, kind: str, at: datetime, actor: User | None = None, note: str = "") -> None:
    AwardEvent.objects.create(
        award=award, kind=kind, at=at, actor=actor, expires_at=award.expires_at, note=note[:300]
    )


def _make_pdfs(award_ids: list[int]) -> None:
    """The certificates' PDFs, made by the background worker once this commits."""
    if not award_ids:
        return
    from certifications.tasks import make_certificates

    for start in range(0, len(award_ids), 500):
        chunk = award_ids[start : start + 500]
        transaction.on_commit(lambda chunk=chunk: make_certificates.enqueue(chunk))


def _publish(award: Award) -> None:
    payload = selectors.award_payload(award)
    realtime.publish(f"hub.user.{award.user_id}", "certification.changed", payload)
    realtime.publish(
        selectors.space_topic(award.certification.space_id), "certification.changed", payload
    )


def _certify(
    cert: Certification, user: Any, at: datetime, actor: User | None, note: str = ""
) -> Award:
    """Issue, or renew an award that exists (a new expiry counted from ``at``)."""
    award = Award.objects.select_for_update().filter(certification=cert, user=user).first()
    if award is None:
        award = Award.objects.create(
            certification=cert,
            user=user,
            state=State.CERTIFIED,
            issued_at=at,
            expires_at=_expiry(cert, at),
        )
        _log(award, EventKind.ISSUED, at, actor, note)
    else:
        award.state = State.CERTIFIED
        award.issued_at = at
        award.expires_at = _expiry(cert, at)
        award.recert_assigned_at = None
        award.revoked_at = None
        award.number = new_number()
        award.save()
        _log(award, EventKind.RENEWED, at, actor, note)
    _publish(award)
    _make_pdfs([award.pk])
    return award


def _earned(user: Any, certs: Any) -> None:
    now = timezone.now()
    for cert in certs:
        award = Award.objects.filter(certification=cert, user=user).first()
        # Completion certifies the first time, and renews once the window has opened (or
        # after expiry); a revoked award is not renewed by a completion.
        if award is None or award.state in (State.EXPIRING, State.RECERTIFYING, State.EXPIRED):
            with transaction.atomic():
                award = _certify(cert, user, now, None, note="completion")
            notify(
                recipients=[user, *managers_of(user=user)],
                kind="certification",
                verb=_("%(name)s is certified: %(title)s")
                % {"name": user.name, "title": cert.title},
                actor=user,
                target=cert,
                url=reverse("certifications-mine"),
            )


def on_course_completed(*, user: Any, course: Any, **_: Any) -> None:
    _earned(user, Certification.objects.filter(course=course))


def on_path_completed(*, user: Any, path: Any, **_: Any) -> None:
    """The earning path, or the recertification path of an award in its window."""
    from django.db.models import Q

    certs = Certification.objects.filter(Q(path=path) | Q(recert_path=path))
    _earned(user, certs)


# -- the nightly pass ------------------------------------------------------------------------
LIVE_STATES = (State.CERTIFIED, State.EXPIRING, State.RECERTIFYING)


def _batches(queryset: Any, batch: int) -> Any:
    """The ids of ``queryset`` in batches, by increasing id (keyset: each batch one query,
    never the whole list in memory)."""
    last = 0
    while True:
        ids = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return
        yield ids
        last = ids[-1]


def sweep(*, now: datetime | None = None, batch: int = 1000) -> dict[str, int]:
    """Awards whose window opened become *recertifying* (the recertification path assigned,
    a reminder sent) or *expiring* (no path); those past expiry become *expired*. Idempotent.

    Set-based: each batch of ``batch`` awards is one short transaction with a constant number
    of queries (state update, history rows, the recertification path's fresh cycles and
    enrolments, notices in one insert, one event per space), whatever the batch's size."""
    now = now or timezone.now()
    counts = {"expiring": 0, "expired": 0}
    past = Award.objects.filter(state__in=LIVE_STATES, expires_at__lte=now)
    for ids in _batches(past, batch):
        counts["expired"] += _expire(ids, now)
    # The window is per certification: compare in SQL per certification.
    for cert in Certification.objects.filter(awards__state=State.CERTIFIED).distinct():
        edge = now + timedelta(days=cert.window_days)
        due = Award.objects.filter(
            certification=cert, state=State.CERTIFIED, expires_at__gt=now, expires_at__lte=edge
        )
        for ids in _batches(due, batch):
            counts["expiring"] += _open_window(cert, ids, now)
    return counts


def _locked(ids: list[int], **filters: Any) -> list[Award]:
    return list(
        Award.objects.select_for_update(of=("self",))
        .filter(pk__in=ids, **filters)
        .select_related("certification", "user")
    )


def _publish_batch(awards: list[Award], kind: str) -> None:
    """One event per space for a batch of the nightly pass (not one per award)."""
    by_space: dict[int, list[Award]] = {}
    for a in awards:
        by_space.setdefault(a.certification.space_id, []).append(a)
    for space_id, group in by_space.items():
        realtime.publish(
            selectors.space_topic(space_id),
            "certifications.swept",
            {"kind": kind, "count": len(group), "awards": [a.pk for a in group]},
        )


def _expire(ids: list[int], now: datetime) -> int:
    """Expire a batch: the person is told, and each of their managers once per batch (a
    digest naming the people), in one insert."""
    from hub.accounts.selectors import managers_by_user
    from hub.notify import Notice, notify_many

    with transaction.atomic():
        awards = _locked(ids, expires_at__lte=now, state__in=LIVE_STATES)
        if not awards:
            return 0
        Award.objects.filter(pk__in=[a.pk for a in awards]).update(state=State.EXPIRED)
        AwardEvent.objects.bulk_create(
            AwardEvent(award=a, kind=EventKind.EXPIRED, at=now, expires_at=a.expires_at)
            for a in awards
        )
        managers = managers_by_user(user_ids={a.user_id for a in awards})
        notices = []
        digest: dict[int, list[str]] = {}
        for a in awards:
            a.state = State.EXPIRED
            title = a.certification.title
            notices.append(
                Notice(
                    a.user_id,
                    _("%(name)s: %(title)s has expired") % {"name": a.user.name, "title": title},
                    a.certification,
                    actor=a.certification,
                )
            )
            for manager_id in managers.get(a.user_id, ()):
                digest.setdefault(manager_id, []).append(f"{a.user.name} ({title})")
        for manager_id, lines in digest.items():
            notices.append(
                Notice(
                    manager_id,
                    _("%(n)s certifications of your team have expired: %(names)s")
                    % {"n": len(lines), "names": ", ".join(lines[:5])},
                    description="\n".join(lines),
                )
            )
        notify_many(notices, kind="certification", actor=awards[0].certification, url=_mine_url())
        _publish_batch(awards, "expired")
        return len(awards)


def _mine_url() -> str:
    return reverse("certifications-mine")


def _open_window(cert: Certification, ids: list[int], now: datetime) -> int:
    from hub.notify import Notice, notify_many

    with transaction.atomic():
        awards = _locked(ids, state=State.CERTIFIED)
        if not awards:
            return 0
        state = State.RECERTIFYING if cert.recert_path_id else State.EXPIRING
        Award.objects.filter(pk__in=[a.pk for a in awards]).update(
            state=state, recert_assigned_at=now if cert.recert_path_id else None
        )
        AwardEvent.objects.bulk_create(
            AwardEvent(award=a, kind=EventKind.EXPIRING, at=now, expires_at=a.expires_at)
            for a in awards
        )
        for a in awards:
            a.state = state
        if cert.recert_path_id:
            # A fresh cycle of the path for each person, in bulk (enrolments included).
            paths_services.path_assign_for_recertification(
                path=cert.recert_path, dues={a.user_id: a.expires_at for a in awards}, now=now
            )
        notify_many(
            [
                Notice(
                    a.user_id,
                    _("%(title)s expires on %(date)s: time to recertify")
                    % {"title": cert.title, "date": a.expires_at.date().isoformat()},
                    cert,
                )
                for a in awards
            ],
            kind="certification",
            actor=cert,
            url=_mine_url(),
        )
        _publish_batch(awards, "expiring")
        return len(awards)


# -- bulk ------------------------------------------------------------------------------------
ACTIONS = ("assign", "issue", "revoke")


@dataclass
class BulkPlan:
    action: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["error"]]


def bulk_preview(
    *, actor: User, certification: Certification, action: str, usernames: list[str]
) -> BulkPlan:
    """What ``action`` would do to each person, one row each, changing nothing. A row with
    an error (unknown person, outside the space, nothing to revoke) blocks the whole apply."""
    if not selectors.can_manage(user=actor, space_id=certification.space_id):
        raise PermissionDenied(_("Only the space's coordinators and admins do this."))
    if action not in ACTIONS:
        raise ValidationError({"action": _("Unknown action.")})
    names = [n.strip() for n in usernames if n.strip()]
    if not names:
        raise ValidationError({"usernames": _("Name at least one person.")})
    if len(names) > MAX_BULK:
        raise ValidationError({"usernames": _("At most %(n)s people at once.") % {"n": MAX_BULK}})
    users = {u.username: u for u in User.objects.filter(username__in=names, is_active=True)}
    members = set(space_member_ids(space=certification.space))
    awards = {
        a.user_id: a
        for a in Award.objects.filter(certification=certification, user__in=users.values())
    }
    plan = BulkPlan(action=action)
    seen: set[str] = set()
    for line, name in enumerate(names, start=1):
        user = users.get(name)
        award = awards.get(user.pk) if user else None
        error = ""
        if name in seen:
            error = _("Named twice.")
        elif user is None:
            error = _("No such person.")
        elif user.pk not in members:
            error = _("Not a member of the space.")
        elif action == "revoke" and (award is None or award.state == State.REVOKED):
            error = _("Nothing to revoke.")
        seen.add(name)
        plan.rows.append(
            {
                "line": line,
                "username": name,
                "user": user,
                "current": award.state if award else "",
                "error": error,
            }
        )
    return plan


def _refusal(plan: BulkPlan) -> ValidationError:
    first = plan.errors[0]
    return ValidationError(
        _(
            "Nothing was changed: %(n)s rows have errors (first: line %(line)s, "
            "%(username)s: %(msg)s)."
        )
        % {
            "n": len(plan.errors),
            "line": first["line"],
            "username": first["username"],
            "msg": first["error"],
        }
    )


CHUNK = 1000


def bulk_apply(
    *,
    actor: User,
    certification: Certification,
    action: str,
    usernames: list[str],
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Apply a bulk action: all rows or none (one bad row refuses the whole batch, naming
    it). ``progress(done, total)`` is called after each chunk of rows, inside the one
    transaction (the background job sends it live)."""
    plan = bulk_preview(
        actor=actor, certification=certification, action=action, usernames=usernames
    )
    if plan.errors:
        raise _refusal(plan)
    users = [r["user"] for r in plan.rows]
    total = len(users)
    now = timezone.now()
    with transaction.atomic():
        if action == "assign" and certification.path_id:
            paths_services.path_assign(actor=actor, path=certification.path, users=users)
            if progress:
                progress(total, total)
        else:
            step = CHUNK if action != "assign" else 100
            for start in range(0, total, step):
                chunk = users[start : start + step]
                if action == "issue":
                    _bulk_issue(certification, chunk, now, actor)
                elif action == "revoke":
                    _bulk_revoke(certification, chunk, now, actor)
                else:  # assign: enrol in the earning course
                    from classrooms import services as classrooms_services

                    for u in chunk:
                        classrooms_services.enrolment_create(
                            actor=actor, user=u, course=certification.course
                        )
                if progress:
                    progress(min(start + step, total), total)
        realtime.publish(
            selectors.space_topic(certification.space_id),
            "certifications.bulk",
            {"certification": certification.pk, "action": action, "count": total},
        )
    return total


def _bulk_revoke(cert: Certification, users: list[Any], now: datetime, actor: User) -> None:
    awards = list(Award.objects.select_for_update().filter(certification=cert, user__in=users))
    Award.objects.filter(pk__in=[a.pk for a in awards]).update(state=State.REVOKED, revoked_at=now)
    AwardEvent.objects.bulk_create(
        AwardEvent(award=a, kind=EventKind.REVOKED, at=now, actor=actor, expires_at=a.expires_at)
        for a in awards
    )


def _bulk_failed(job: BulkJob, message: str, send_now: Callable[..., None]) -> BulkJob:
    job.status, job.message, job.finished_at = BulkStatus.FAILED, message[:500], timezone.now()
    job.save(update_fields=["status", "message", "finished_at"])
    send_now(job.topic, "bulk.failed", {"message": job.message})
    return job


# -- bulk in the background ------------------------------------------------------------------
def bulk_start(
    *, actor: User, certification: Certification, action: str, usernames: list[str]
) -> BulkJob:
    """Check every row now (a bad row refuses the whole batch, naming it: no job), then run
    the batch in a background job (``tasks.run_bulk_job``) with live progress."""
    plan = bulk_preview(
        actor=actor, certification=certification, action=action, usernames=usernames
    )
    if plan.errors:
        raise _refusal(plan)
    from certifications.tasks import run_bulk_job

    job = BulkJob.objects.create(
        certification=certification,
        action=action,
        usernames=[r["username"] for r in plan.rows],
        created_by=actor,
        total=len(plan.rows),
    )
    transaction.on_commit(lambda: run_bulk_job.enqueue(job.pk))
    return job


def bulk_job_run(*, job_id: int) -> BulkJob | None:
    """The background job's body: apply the batch in one transaction, progress sent live on
    ``job.topic`` as it goes; a row gone bad since the preview (someone left the space, an
    award revoked meanwhile) fails the whole job, nothing applied. Runs once."""
    from identity.realtime import send_now  # the CSV import's live progress, reused

    if not BulkJob.objects.filter(pk=job_id, status=BulkStatus.QUEUED).update(
        status=BulkStatus.RUNNING
    ):
        return None  # already run (or running) by another worker
    job = BulkJob.objects.select_related("certification", "created_by").get(pk=job_id)

    def progress(done: int, total: int) -> None:
        send_now(job.topic, "bulk.progress", {"done": done, "total": total})

    try:
        count = bulk_apply(
            actor=job.created_by,
            certification=job.certification,
            action=job.action,
            usernames=job.usernames,
            progress=progress,
        )
    except ValidationError as exc:
        return _bulk_failed(job, " ".join(exc.messages), send_now)
    except PermissionDenied as exc:  # the starter lost their role meanwhile
        return _bulk_failed(job, str(exc) or _("You may no longer do this."), send_now)
    job.status, job.applied, job.finished_at = BulkStatus.DONE, count, timezone.now()
    job.save(update_fields=["status", "applied", "finished_at"])
    send_now(job.topic, "bulk.finished", {"applied": count, "total": job.total})
    return job


def _bulk_issue(cert: Certification, users: list[Any], now: datetime, actor: User) -> None:
    """Issue or renew many at once: a few queries per thousand people."""
    existing = {
        a.user_id: a
        for a in Award.objects.select_for_update().filter(certification=cert, user__in=users)
    }
    expires = _expiry(cert, now)
    fresh = [
        Award(
            certification=cert,
            user=u,
            state=State.CERTIFIED,
            issued_at=now,
            expires_at=expires,
        )
        for u in users
        if u.pk not in existing
    ]
    created = Award.objects.bulk_create(fresh, batch_size=1000)
    renewed = list(existing.values())
    for a in renewed:
        a.state, a.issued_at, a.expires_at = State.CERTIFIED, now, expires
        a.revoked_at = a.recert_assigned_at = None
        a.number = new_number()
    Award.objects.bulk_update(
        renewed,
        ["state", "issued_at", "expires_at", "revoked_at", "recert_assigned_at", "number"],
        batch_size=1000,
    )
    if any(a.pk is None for a in created):  # backends that return no ids (none here)
        created = list(Award.objects.filter(certification=cert, user__in=[a.user for a in created]))
    AwardEvent.objects.bulk_create(
        [
            AwardEvent(award=a, kind=EventKind.ISSUED, at=now, actor=actor, expires_at=expires)
            for a in created
        ]
        + [
            AwardEvent(award=a, kind=EventKind.RENEWED, at=now, actor=actor, expires_at=expires)
            for a in renewed
        ],
        batch_size=1000,
    )
    _make_pdfs([a.pk for a in created] + [a.pk for a in renewed])
