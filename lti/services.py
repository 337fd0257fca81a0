"""Every write of the LTI tool: platforms, people who launch, links, rosters and scores."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.service_connector import ServiceConnector

from classrooms.models import Activity, Course, LiveClass
from classrooms.services import enrolment_create
from hub.accounts.models import Role, RoleGrant, Space, SpaceMembership
from lti.models import (
    ContextLink,
    LtiIdentity,
    Platform,
    ResourceLink,
    ScoreSend,
    ScoreStatus,
    TargetKind,
)
from lti.tool import LaunchRefused, platform_registration, timed_session

User = get_user_model()
log = logging.getLogger(__name__)

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
# The tag of the line items Lyceum makes on a platform (found again by link and tag).
LINEITEM_TAG = "lyceum"
# LTI roles that make a trainer here (context and institution roles; short forms too).
TRAINER_ROLES = ("Instructor", "TeachingAssistant", "ContentDeveloper", "Mentor")
TARGET_PARAM = "lyceum_target"


# -- permissions -----------------------------------------------------------------------------
def can_manage(*, user: Any, space: Space) -> bool:
    """Administrators of the space (and superusers) register platforms."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return (
        user.has_role(Role.ADMIN)
        and SpaceMembership.objects.filter(space=space, user=user).exists()
    )


def check_can_manage(*, user: Any, space: Space) -> None:
    if not can_manage(user=user, space=space):
        raise PermissionDenied(_("Only an administrator of this space may do this."))


# -- platforms -------------------------------------------------------------------------------
PLATFORM_FIELDS = (
    "name",
    "issuer",
    "client_id",
    "deployment_ids",
    "auth_login_url",
    "auth_token_url",
    "auth_audience",
    "key_set_url",
    "default_course",
    "is_active",
)


def _clean_platform(platform: Platform) -> None:
    ids = platform.deployment_ids
    if not isinstance(ids, list) or not all(isinstance(i, str) and i.strip() for i in ids):
        raise ValidationError({"deployment_ids": _("A list of deployment IDs.")})
    platform.deployment_ids = [i.strip()[:255] for i in ids]
    if platform.default_course_id and platform.default_course.space_id != platform.space_id:
        raise ValidationError({"default_course": _("Choose a course of this space.")})
    platform.full_clean(exclude=["created_by", "default_course"], validate_unique=False)
    clash = Platform.objects.filter(issuer=platform.issuer, client_id=platform.client_id)
    if platform.pk:
        clash = clash.exclude(pk=platform.pk)
    if clash.exists():
        raise ValidationError(
            {"client_id": _("A platform with this issuer and client ID is registered already.")}
        )


@transaction.atomic
def platform_create(*, actor: Any, space: Space, **fields: Any) -> Platform:
    check_can_manage(user=actor, space=space)
    data = {k: v for k, v in fields.items() if k in PLATFORM_FIELDS}
    platform = Platform(space=space, created_by=actor, **data)
    _clean_platform(platform)
    try:
        with transaction.atomic():
            platform.save()
    except IntegrityError as exc:  # a concurrent registration of the same pair
        raise ValidationError({"client_id": _("This platform is registered already.")}) from exc
    from hub import audit

    audit.record(
        action="lti.platform_registered",
        actor=actor,
        target=platform,
        space=space,
        details={"issuer": platform.issuer, "client_id": platform.client_id},
    )
    return platform


@transaction.atomic
def platform_update(*, actor: Any, platform: Platform, **fields: Any) -> Platform:
    platform = Platform.objects.select_for_update().get(pk=platform.pk)
    check_can_manage(user=actor, space=platform.space)
    for name, value in fields.items():
        if name in PLATFORM_FIELDS:
            setattr(platform, name, value)
    _clean_platform(platform)
    platform.save()
    return platform


@transaction.atomic
def platform_delete(*, actor: Any, platform: Platform) -> None:
    check_can_manage(user=actor, space=platform.space)
    from hub import audit

    audit.record(
        action="lti.platform_removed",
        actor=actor,
        target=platform,
        space=platform.space,
        details={"issuer": platform.issuer, "client_id": platform.client_id},
    )
    platform.delete()


# -- launch: targets ---------------------------------------------------------------------------
def parse_target(value: str) -> tuple[str, int] | None:
    """``"activity:12"`` -> ``("activity", 12)``; anything else -> None."""
    kind, _sep, ident = (value or "").strip().partition(":")
    if kind not in TargetKind.values or not ident.isdigit() or len(ident) > 18:
        return None
    return kind, int(ident)


def target_course(kind: str, ident: int, space: Space) -> tuple[Any, Course | None]:
    """The target object and its course, or ``LaunchRefused`` when it is not in ``space``."""
    obj: Any = None
    course: Course | None = None
    if kind in (TargetKind.COURSE, TargetKind.DUELS):
        obj = course = Course.objects.filter(pk=ident, space=space).first()
    elif kind == TargetKind.ACTIVITY:
        obj = Activity.objects.select_related("course").filter(pk=ident).first()
        course = obj.course if obj else None
        if course is not None and course.space_id != space.pk:
            obj = course = None
    elif kind == TargetKind.LIVE_CLASS:
        obj = LiveClass.objects.select_related("course").filter(pk=ident, space=space).first()
        course = obj.course if obj else None
    if obj is None:
        raise LaunchRefused(_("This link points at nothing in this space."), status=404)
    return obj, course


def target_url(kind: str, obj: Any) -> str:
    if kind == TargetKind.LIVE_CLASS:
        return reverse("liveclass", args=[obj.pk])
    if kind == TargetKind.DUELS:
        return reverse("leaderboards-duels") + f"?course={obj.pk}"
    return obj.get_absolute_url()


def launch_target(*, platform: Platform, claims: dict[str, Any]) -> tuple[str, int]:
    """What a launch opens: the custom parameter, the deep-linked URL's ``target``, the
    link's earlier mapping, then the platform's default course."""
    custom = claims.get(CLAIM + "custom") or {}
    candidates = []
    if isinstance(custom, dict):
        candidates.append(str(custom.get(TARGET_PARAM) or ""))
    uri = str(claims.get(CLAIM + "target_link_uri") or "")
    candidates.extend(parse_qs(urlsplit(uri).query).get("target", []))
    for value in candidates:
        if value:
            parsed = parse_target(value)
            if parsed is None:
                raise LaunchRefused(_("This link's target is not understood."))
            return parsed
    link_claim = claims.get(CLAIM + "resource_link") or {}
    link = ResourceLink.objects.filter(
        platform=platform, resource_link_id=str(link_claim.get("id", ""))
    ).first()
    if link is not None:
        return link.target_kind, link.target_id
    if platform.default_course_id:
        return TargetKind.COURSE, platform.default_course_id
    raise LaunchRefused(_("This link names nothing to open and the platform has no course."))


# -- launch: people ----------------------------------------------------------------------------
def is_trainer_role(roles: Any) -> bool:
    if not isinstance(roles, list):
        return False
    return any(
        isinstance(r, str) and r.rsplit("#", 1)[-1].rsplit("/", 1)[-1] in TRAINER_ROLES
        for r in roles
    )


def _unique_username(base: str) -> str:
    base = "".join(c for c in base if c.isalnum() or c in "._-")[:140] or "lti-user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def person_link(
    *, platform: Platform, subject: str, name: str = "", email: str = "", trainer: bool = False
) -> Any:
    """The account of (issuer, sub): found, or made just in time, member of the space."""
    if not subject or len(subject) > 255:
        raise LaunchRefused(_("The platform did not say who you are."))
    identity = (
        LtiIdentity.objects.select_related("user")
        .filter(issuer=platform.issuer, subject=subject)
        .first()
    )
    email = (email or "").strip()[:254]
    if identity is None:
        base = email.split("@")[0] if email else f"lti-{subject}"
        user = User(username=_unique_username(base), display_name=(name or "")[:150])
        # An address already used here is not taken over: a platform vouches for its own
        # people, not for the owner of an existing Lyceum account.
        if email and not User.objects.filter(email__iexact=email).exists():
            user.email = email
        user.set_unusable_password()
        user.save()
        RoleGrant.objects.create(user=user, role=Role.TRAINER if trainer else Role.LEARNER)
        identity = LtiIdentity.objects.create(
            platform=platform, issuer=platform.issuer, subject=subject, user=user
        )
    user = identity.user
    if not user.is_active:
        raise LaunchRefused(_("This account is deactivated."), status=403)
    if trainer and not user.has_role(Role.TRAINER):
        RoleGrant.objects.get_or_create(user=user, role=Role.TRAINER)
        user.__dict__.pop("role_codes", None)
    if name and not user.display_name:
        user.display_name = name[:150]
        user.save(update_fields=["display_name"])
    SpaceMembership.objects.get_or_create(space=platform.space, user=user)
    identity.last_launch_at = timezone.now()
    identity.save(update_fields=["last_launch_at"])
    return user


def _enrolling_admin(platform: Platform) -> Any:
    """Who enrols people the platform sends: its registrant, else an admin of the space."""
    if platform.created_by_id and can_manage(user=platform.created_by, space=platform.space):
        return platform.created_by
    return (
        User.objects.filter(
            Q(role_grants__role=Role.ADMIN) | Q(is_superuser=True),
            space_memberships__space=platform.space,
            is_active=True,
        )
        .order_by("pk")
        .first()
        or User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    )


def course_place(*, platform: Platform, user: Any, course: Course, trainer: bool) -> None:
    """A trainer of the platform's course trains the mapped course; a learner is enrolled."""
    if trainer:
        course.trainers.add(user)
        return
    actor = _enrolling_admin(platform)
    if actor is None:
        raise LaunchRefused(_("No administrator of this space can enrol you."), status=403)
    try:
        enrolment_create(actor=actor, user=user, course=course)
    except (PermissionDenied, ValidationError) as exc:
        raise LaunchRefused(_("You could not be enrolled in this course."), status=403) from exc


@transaction.atomic
def launch_accept(*, platform: Platform, claims: dict[str, Any]) -> tuple[Any, str]:
    """The person of a checked resource-link launch, placed in the target; where to go."""
    kind, ident = launch_target(platform=platform, claims=claims)
    obj, course = target_course(kind, ident, platform.space)
    trainer = is_trainer_role(claims.get(CLAIM + "roles"))
    user = person_link(
        platform=platform,
        subject=str(claims.get("sub") or ""),
        name=str(claims.get("name") or ""),
        email=str(claims.get("email") or ""),
        trainer=trainer,
    )
    context = None
    context_claim = claims.get(CLAIM + "context") or {}
    if kind == TargetKind.LIVE_CLASS and course is None:
        # A class outside any course lets in its invitees (a session's registrants too).
        (obj.trainers if trainer else obj.invitees).add(user)
    if course is not None:
        course_place(platform=platform, user=user, course=course, trainer=trainer)
        if isinstance(context_claim, dict) and context_claim.get("id"):
            nrps = claims.get(NRPS_CLAIM) or {}
            context, _created = ContextLink.objects.get_or_create(
                platform=platform,
                context_id=str(context_claim["id"])[:255],
                defaults={"course": course},
            )
            context.title = str(context_claim.get("title") or "")[:255]
            if isinstance(nrps, dict) and nrps.get("context_memberships_url"):
                context.memberships_url = str(nrps["context_memberships_url"])[:500]
            context.save()
    link_claim = claims.get(CLAIM + "resource_link") or {}
    if isinstance(link_claim, dict) and link_claim.get("id"):
        ags = claims.get(AGS_CLAIM) or {}
        ags = ags if isinstance(ags, dict) else {}
        ResourceLink.objects.update_or_create(
            platform=platform,
            resource_link_id=str(link_claim["id"])[:255],
            defaults={
                "context": context,
                "title": str(link_claim.get("title") or "")[:255],
                "target_kind": kind,
                "target_id": ident,
                "lineitem_url": str(ags.get("lineitem") or "")[:500],
                "lineitems_url": str(ags.get("lineitems") or "")[:500],
                "ags_scopes": [s for s in ags.get("scope") or [] if isinstance(s, str)][:10],
            },
        )
    return user, target_url(kind, obj)


# -- deep linking ------------------------------------------------------------------------------
def pickable(*, space: Space) -> list[dict[str, Any]]:
    """What an instructor of the platform may link: the space's courses and activities."""
    items = []
    for course in Course.objects.filter(space=space).prefetch_related("activities"):
        items.append(
            {"target": f"course:{course.pk}", "title": course.title, "course": None, "graded": True}
        )
        for activity in course.activities.all():
            items.append(
                {
                    "target": f"activity:{activity.pk}",
                    "title": activity.title,
                    "course": course.title,
                    "kind": activity.get_kind_display(),
                    # A quiz has a score; a course completes: the platform gets a column.
                    "graded": activity.kind == "quiz",
                }
            )
        items.append(
            {
                "target": f"duels:{course.pk}",
                "title": _("Quiz duels of %(course)s") % {"course": course.title},
                "course": course.title,
            }
        )
    for live in LiveClass.objects.filter(space=space).order_by("-pk")[:50]:
        items.append({"target": f"liveclass:{live.pk}", "title": live.title, "course": None})
    return items


# -- services calls (AGS, NRPS) ----------------------------------------------------------------
def connector(platform: Platform) -> ServiceConnector:
    return ServiceConnector(platform_registration(platform), requests_session=timed_session())


def _retry_delays() -> list[float]:
    return list(getattr(settings, "LTI_SCORE_RETRIES", [10, 60, 300, 1800, 7200]))


def outcome_record(
    *, user_id: int, kind: str, ident: int, score: float | None, completed: bool
) -> list[int]:
    """Scores to send for what ``user_id`` did in ``kind:ident``: one per resource link of a
    platform that knows the person and gave a line item. Returns the new rows' ids."""
    identities = {
        i.platform_id: i
        for i in LtiIdentity.objects.filter(user_id=user_id, platform__is_active=True)
    }
    if not identities:
        return []
    links = ResourceLink.objects.filter(
        platform_id__in=identities, target_kind=kind, target_id=ident
    ).exclude(lineitem_url="", lineitems_url="")
    now = timezone.now()
    ids = []
    for link in links:
        scopes = link.ags_scopes or []
        if SCORE_SCOPE not in scopes:
            continue
        if not link.lineitem_url and LINEITEM_SCOPE not in scopes:
            continue  # no line item given, and we may not make one
        row = ScoreSend.objects.create(
            link=link,
            identity=identities[link.platform_id],
            score_given=100.0 if score is None else float(score),
            score_maximum=100.0,
            activity_progress="Completed" if completed else "Submitted",
            grading_progress="FullyGraded",
            timestamp=now,
        )
        ids.append(row.pk)
    return ids


def score_send(*, score_id: int) -> str:
    """Post one score to its line item; on failure try again later (growing delays)."""
    row = (
        ScoreSend.objects.select_related("link__platform__space", "identity")
        .filter(pk=score_id)
        .first()
    )
    if row is None or row.status != ScoreStatus.PENDING:
        return "skipped"
    link = row.link
    grade = (
        Grade()
        .set_score_given(row.score_given)
        .set_score_maximum(row.score_maximum)
        .set_timestamp(row.timestamp.isoformat())
        .set_activity_progress(row.activity_progress)
        .set_grading_progress(row.grading_progress)
        .set_user_id(row.identity.subject)
    )
    error = ""
    try:
        ags = AssignmentsGradesService(
            connector(link.platform),
            {
                "scope": link.ags_scopes,
                "lineitem": link.lineitem_url,
                "lineitems": link.lineitems_url,
            },
        )
        if not link.lineitem_url:
            link.lineitem_url = line_item_ensure(ags=ags, link=link)[:500]
            ResourceLink.objects.filter(pk=link.pk).update(lineitem_url=link.lineitem_url)
            ags = AssignmentsGradesService(
                connector(link.platform),
                {"scope": link.ags_scopes, "lineitem": link.lineitem_url},
            )
        ags.put_grade(grade)
    except LtiServiceException as exc:
        error = f"HTTP {exc.response.status_code}"
    except (LtiException, requests.RequestException, ValueError, KeyError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    return _score_result(row.pk, error)


def line_item_ensure(*, ags: AssignmentsGradesService, link: ResourceLink) -> str:
    """The URL of our line item for ``link`` on the platform: found by its resource link id
    and our tag, or made (a plain link, not deep-linked, comes with the line-items
    container but no line item)."""
    for item in ags.get_lineitems():
        if (
            isinstance(item, dict)
            and item.get("resourceLinkId") == link.resource_link_id
            and item.get("tag") == LINEITEM_TAG
            and item.get("id")
        ):
            return str(item["id"])
    wanted = (
        LineItem()
        .set_label((link.title or f"{link.target_kind} {link.target_id}")[:255])
        .set_score_maximum(100)
        .set_resource_link_id(link.resource_link_id)
        .set_resource_id(f"{link.target_kind}:{link.target_id}")
        .set_tag(LINEITEM_TAG)
    )
    made = ags.find_or_create_lineitem(wanted, find_by="resource_link_id")
    if not made.get_id():
        raise LtiException("The platform answered a line item without an id")
    return str(made.get_id())


@transaction.atomic
def _score_result(score_id: int, error: str) -> str:
    row = ScoreSend.objects.select_for_update().get(pk=score_id)
    row.attempts += 1
    row.last_error = error[:300]
    if not error:
        row.status = ScoreStatus.SENT
        row.sent_at = timezone.now()
        row.save()
        return ScoreStatus.SENT
    delays = _retry_delays()
    if row.attempts <= len(delays):
        row.save()
        from lti.tasks import lti_score_send_job

        run_after = timezone.now() + timedelta(seconds=delays[row.attempts - 1])
        lti_score_send_job.using(run_after=run_after).enqueue(row.pk)
        return "retry"
    row.status = ScoreStatus.FAILED
    row.save()
    log.warning("LTI score %s not accepted by the platform: %s", row.pk, error)
    return ScoreStatus.FAILED


def roster_sync(*, context_id: int) -> dict[str, int]:
    """Pull the context's members (NRPS) and enrol them in the mapped course (accounts
    made just in time). Returns counts; raises ``ValidationError`` when the platform fails."""
    context = ContextLink.objects.select_related("platform__space", "course").get(pk=context_id)
    if not context.memberships_url:
        raise ValidationError(_("The platform gave no roster service for this course."))
    try:
        nrps = NamesRolesProvisioningService(
            connector(context.platform), {"context_memberships_url": context.memberships_url}
        )
        members = nrps.get_members()
    except LtiServiceException as exc:
        message = f"HTTP {exc.response.status_code}"
        _roster_result(context, message)
        raise ValidationError(_("The platform refused the roster: %s") % message) from exc
    except (LtiException, requests.RequestException, ValueError) as exc:
        _roster_result(context, type(exc).__name__)
        raise ValidationError(_("The platform's roster could not be read.")) from exc
    counts = {"members": 0, "enrolled": 0, "trainers": 0, "skipped": 0}
    for member in members[:5000]:
        if not isinstance(member, dict) or not member.get("user_id"):
            counts["skipped"] += 1
            continue
        if str(member.get("status", "Active")) != "Active":
            counts["skipped"] += 1
            continue
        trainer = is_trainer_role(member.get("roles"))
        try:
            with transaction.atomic():
                user = person_link(
                    platform=context.platform,
                    subject=str(member["user_id"]),
                    name=str(member.get("name") or ""),
                    email=str(member.get("email") or ""),
                    trainer=trainer,
                )
                course_place(
                    platform=context.platform, user=user, course=context.course, trainer=trainer
                )
        except LaunchRefused:
            counts["skipped"] += 1
            continue
        counts["members"] += 1
        counts["trainers" if trainer else "enrolled"] += 1
    _roster_result(
        context,
        _("%(members)d members, %(enrolled)d learners, %(trainers)d trainers") % counts,
    )
    return counts


def _roster_result(context: ContextLink, message: str) -> None:
    context.last_roster_sync_at = timezone.now()
    context.last_roster_result = message[:300]
    context.save(update_fields=["last_roster_sync_at", "last_roster_result"])


def registration_state() -> str:
    return secrets.token_urlsafe(24)


# -- LTI Dynamic Registration --------------------------------------------------------------------
def _same_origin(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.netloc) == (y.scheme, y.netloc) and x.scheme in ("https", "http")


def _get_json(url: str) -> dict[str, Any]:
    session = timed_session()
    response = session.get(url, headers={"Accept": "application/json"})
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def tool_registration_document(*, space: Space, urls: dict[str, str]) -> dict[str, Any]:
    """The client registration we POST (LTI Dynamic Registration 1.0, section 3.3)."""
    from lti.selectors import SCOPES

    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls["login_url"],
        "redirect_uris": [urls["launch_url"]],
        "client_name": f"Lyceum · {space.name}",
        "jwks_uri": urls["jwks_url"],
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(SCOPES),
        "https://purl.imsglobal.org/spec/lti-tool-configuration": {
            "domain": urls["domain"],
            "target_link_uri": urls["launch_url"],
            "claims": ["iss", "sub", "name", "email"],
            "messages": [
                {
                    "type": "LtiDeepLinkingRequest",
                    "target_link_uri": urls["deep_linking_url"],
                    "label": "Lyceum",
                }
            ],
        },
    }


def platform_register_dynamic(
    *,
    actor: Any,
    space: Space,
    openid_configuration: str,
    registration_token: str,
    urls: dict[str, str],
) -> Platform:
    """Fetch the platform's configuration, register the tool there, store the platform."""
    check_can_manage(user=actor, space=space)
    if not openid_configuration.startswith(("https://", "http://")):
        raise ValidationError(_("The platform's configuration address is not a web address."))
    try:
        config = _get_json(openid_configuration)
    except (requests.RequestException, ValueError) as exc:
        raise ValidationError(_("The platform's configuration could not be read.")) from exc
    issuer = str(config.get("issuer") or "")
    needed = ("authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
    if not issuer or any(not isinstance(config.get(k), str) for k in needed):
        raise ValidationError(_("The platform's configuration lacks required values."))
    # The configuration must come from its issuer (Dynamic Registration 3.5.1).
    if not _same_origin(issuer, openid_configuration):
        raise ValidationError(_("The configuration does not come from its issuer."))
    platform_conf = config.get("https://purl.imsglobal.org/spec/lti-platform-configuration")
    name = issuer
    if isinstance(platform_conf, dict) and platform_conf.get("product_family_code"):
        name = str(platform_conf["product_family_code"])
    document = tool_registration_document(space=space, urls=urls)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    try:
        response = timed_session().post(
            config["registration_endpoint"], json=document, headers=headers
        )
        response.raise_for_status()
        answer = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ValidationError(_("The platform refused the registration.")) from exc
    client_id = str(answer.get("client_id") or "") if isinstance(answer, dict) else ""
    if not client_id:
        raise ValidationError(_("The platform answered without a client ID."))
    tool_conf = answer.get("https://purl.imsglobal.org/spec/lti-tool-configuration") or {}
    deployment = str(tool_conf.get("deployment_id") or "") if isinstance(tool_conf, dict) else ""
    return platform_create(
        actor=actor,
        space=space,
        name=name[:120],
        issuer=issuer,
        client_id=client_id,
        deployment_ids=[deployment] if deployment else [],
        auth_login_url=config["authorization_endpoint"],
        auth_token_url=config["token_endpoint"],
        auth_audience=str(config.get("authorization_server") or "")[:500],
        key_set_url=config["jwks_uri"],
    )
