"""Reads of points, badges and boards; who may see which board; the shared payloads."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from classrooms.models import Course
from hub.accounts.models import Role, Team, User
from hub.accounts.selectors import is_space_member
from leaderboards import ranks
from leaderboards.models import (
    DEFAULT_POINTS,
    BadgeAward,
    BadgeDefinition,
    PointAward,
    PointRule,
    RankingPreference,
    Reason,
)


def badge_for_reader(*, user: User, badge_id: int) -> BadgeDefinition:
    """A badge definition its reader may see: members of the badge's space only."""
    from django.utils.translation import gettext as _

    badge = get_object_or_404(
        BadgeDefinition.objects.select_related("course", "space"), pk=badge_id
    )
    if not is_space_member(user=user, space=badge.space_id):
        raise PermissionDenied(_("You are not a member of this badge's space."))
    return badge


def course_by_id(course_id: int) -> Course | None:
    return Course.objects.filter(pk=course_id).first()


def board_topic(key: str) -> str:
    return f"leaderboards.board.{key}"


def points_for(*, space_id: int, reason: str) -> int:
    """What ``reason`` pays in the space: its PointRule, else the default."""
    rule = PointRule.objects.filter(space_id=space_id, reason=reason).values_list(
        "amount", flat=True
    )
    amount = rule.first()
    return DEFAULT_POINTS.get(reason, 0) if amount is None else amount


def is_hidden(*, user: Any) -> bool:
    return RankingPreference.objects.filter(user=user, hidden=True).exists()


def hidden_user_ids(user_ids: list[int]) -> set[int]:
    return set(
        RankingPreference.objects.filter(user_id__in=user_ids, hidden=True).values_list(
            "user_id", flat=True
        )
    )


def team_ids_in_space(*, user: Any, space_id: int) -> list[int]:
    return list(Team.objects.filter(members=user, space_id=space_id).values_list("id", flat=True))


def board_keys_of_award(award: PointAward) -> list[str]:
    """Every current board (all time, this week, this month) an award counts on."""
    when = award.created_at
    keys = ranks.current_keys("space", award.space_id, when)
    if award.course_id:
        keys += ranks.current_keys("course", award.course_id, when)
    for team_id in team_ids_in_space(user=award.user, space_id=award.space_id):
        keys += ranks.current_keys("team", team_id, when)
    return keys


def current_board_keys_of(*, user: Any) -> list[str]:
    """The current boards where ``user`` has points (for hiding / showing them)."""
    keys: list[str] = []
    # order_by(): the ledger's default ordering would make DISTINCT one row per award.
    pairs = (
        PointAward.objects.filter(user=user)
        .order_by()
        .values_list("space_id", "course_id")
        .distinct()
    )
    spaces = {s for s, _ in pairs}
    for space_id in sorted(spaces):
        keys += ranks.current_keys("space", space_id)
        for team_id in team_ids_in_space(user=user, space_id=space_id):
            keys += ranks.current_keys("team", team_id)
    for course_id in sorted({c for _, c in pairs if c}):
        keys += ranks.current_keys("course", course_id)
    return keys


def user_score_on(*, user: Any, key: str) -> int:
    board = ranks.parse_board(key)
    total = ranks.ledger_awards(board).filter(user=user).aggregate(t=Sum("amount"))["t"]
    return total or 0


def points_of(*, user: Any, space_id: int) -> dict[str, int]:
    """The user's own points in a space (all time, this week, this month): always visible
    to themselves, hidden or not."""
    out = {}
    for window in ranks.WINDOWS:
        out[window] = user_score_on(user=user, key=ranks.board_key("space", space_id, window))
    return out


def awards_of(*, user: Any, space_id: int | None = None, limit: int = 50) -> list[PointAward]:
    """Someone's point history, newest first. Rows of 0 points (an event a space's rules
    pay nothing for, kept for its badges) paid nothing: they are left out."""
    qs = PointAward.objects.filter(user=user).exclude(amount=0).select_related("course")
    if space_id is not None:
        qs = qs.filter(space_id=space_id)
    return list(qs[:limit])


def award_payload(award: PointAward) -> dict[str, Any]:
    return {
        "id": award.pk,
        "amount": award.amount,
        "reason": award.reason,
        "reason_label": str(Reason(award.reason).label) if award.reason in Reason.values else "",
        "space": award.space_id,
        "course": award.course_id,
        "created_at": award.created_at,
    }


def can_view_board(*, user: Any, key: str) -> bool:
    """Members of the board's space (a course's space, a team's members and manager)."""
    board = ranks.parse_board(key)
    if user.has_role(Role.ADMIN):
        return True
    if board.scope == "space":
        return is_space_member(user=user, space=board.id)
    if board.scope == "course":
        space_id = Course.objects.filter(pk=board.id).values_list("space_id", flat=True).first()
        return space_id is not None and is_space_member(user=user, space=space_id)
    team = Team.objects.filter(pk=board.id).first()
    if team is None:
        return False
    if team.manager_id == user.pk or team.members.filter(pk=user.pk).exists():
        return True
    return user.has_role(Role.COORDINATOR) and is_space_member(user=user, space=team.space_id)


def person_payload(user: Any) -> dict[str, Any]:
    """The little a board shows of a person (``user_payload`` lists spaces: too much here)."""
    return {"id": user.pk, "username": user.username, "display_name": user.name}


def _entry_payloads(entries: list[ranks.Entry]) -> list[dict[str, Any]]:
    from hub.accounts.models import User

    people = {u.pk: u for u in User.objects.filter(pk__in=[e.user_id for e in entries])}
    return [
        {"rank": e.rank, "score": e.score, "user": person_payload(people[e.user_id])}
        for e in entries
        if e.user_id in people
    ]


def board_payload(*, user: Any, key: str, n: int = 10, around: int = 2) -> dict[str, Any]:
    """Top ``n``, the viewer's rank and score, and their neighbours (``around`` each side)."""
    store = ranks.get_store()
    board = ranks.parse_board(key)
    hidden = is_hidden(user=user)
    top = store.top(key, n)
    neighbours = [] if hidden else store.around(key, user.pk, around)
    # The viewer's own entry is among their neighbours: no second round trip for the rank.
    my_rank = next((e.rank for e in neighbours if e.user_id == user.pk), None)
    return {
        "key": key,
        "scope": board.scope,
        "id": board.id,
        "window": board.window,
        "topic": board_topic(key),
        "top": _entry_payloads(top),
        "podium": _entry_payloads([e for e in top if e.rank <= 3]),
        "me": {
            "rank": my_rank,
            "score": user_score_on(user=user, key=key),
            "hidden": hidden,
        },
        "neighbours": _entry_payloads(neighbours),
    }


# -- badges ----------------------------------------------------------------------------------
def badges_of(*, user: Any) -> list[BadgeAward]:
    return list(BadgeAward.objects.filter(user=user).select_related("badge"))


def badge_payload(badge: BadgeDefinition) -> dict[str, Any]:
    return {
        "id": badge.pk,
        "name": badge.name,
        "description": badge.description,
        "image": badge.image.url if badge.image else "",
        "image_url": badge_image_url(badge),
        "criterion": badge.criterion,
        "threshold": badge.threshold,
        "space": badge.space_id,
    }


def badge_award_payload(award: BadgeAward) -> dict[str, Any]:
    return {
        "id": award.pk,
        "badge": badge_payload(award.badge),
        "user": award.user_id,
        "awarded_by": award.awarded_by_id,
        "evidence": award.evidence,
        "created_at": award.created_at,
        "assertion": reverse("api-badge-assertion", args=[award.pk]),
    }


def can_award_badge(*, user: Any, badge: BadgeDefinition) -> bool:
    return can_manage_gamification(user=user, space_id=badge.space_id)


def can_manage_gamification(*, user: Any, space_id: int) -> bool:
    """Who sets a space's point rules and badges, and awards its manual badges: its
    trainers and coordinators, and administrators."""
    return user.has_role(Role.ADMIN) or (
        user.has_role(Role.TRAINER, Role.COORDINATOR) and is_space_member(user=user, space=space_id)
    )


def count_of(*, user: Any, space_id: int, reason: str) -> int:
    return PointAward.objects.filter(user=user, space_id=space_id, reason=reason).count()


def longest_streak(*, user: Any, space_id: int) -> int:
    """The longest run of consecutive days with at least one award in the space."""
    days = sorted(
        PointAward.objects.filter(user=user, space_id=space_id)
        .annotate(day=TruncDate("created_at"))
        .values_list("day", flat=True)
        .distinct()
    )
    best = 0
    # Consecutive days share (day - index): group by it.
    for _, run in groupby(enumerate(days), key=lambda p: p[1] - timedelta(days=p[0])):
        best = max(best, sum(1 for _ in run))
    return best


def badge_earned(*, user: Any, badge: BadgeDefinition) -> bool:
    """Whether ``user`` meets an automatic badge's criterion now."""
    from leaderboards.models import BadgeCriterion as C

    space_id = badge.space_id
    if badge.criterion == C.POINTS:
        total = PointAward.objects.filter(user=user, space_id=space_id).aggregate(t=Sum("amount"))[
            "t"
        ]
        return (total or 0) >= badge.threshold
    if badge.criterion == C.EVENTS:
        return (
            bool(badge.reason)
            and count_of(user=user, space_id=space_id, reason=badge.reason) >= badge.threshold
        )
    if badge.criterion == C.COURSE:
        done = PointAward.objects.filter(
            user=user, space_id=space_id, reason=Reason.COURSE_COMPLETED
        )
        if badge.course_id:
            return done.filter(course_id=badge.course_id).exists()
        return done.count() >= badge.threshold
    if badge.criterion == C.STREAK:
        return longest_streak(user=user, space_id=space_id) >= badge.threshold
    if badge.criterion == C.DUEL_WINS:
        return count_of(user=user, space_id=space_id, reason=Reason.DUEL_WON) >= badge.threshold
    return False  # manual


def badge_candidates(*, badge: BadgeDefinition) -> QuerySet[User]:
    """Who might meet ``badge`` and does not hold it: people with points rows in its space."""
    return (
        User.objects.filter(
            pk__in=PointAward.objects.filter(space_id=badge.space_id).values("user_id")
        )
        .exclude(badge_awards__badge=badge)
        .order_by("pk")
    )


def badges_pending(*, user: Any, space_id: int) -> list[BadgeDefinition]:
    """Automatic badges of the space that ``user`` does not hold yet."""
    from leaderboards.models import BadgeCriterion

    return list(
        BadgeDefinition.objects.filter(space_id=space_id)
        .exclude(criterion=BadgeCriterion.MANUAL)
        .exclude(awards__user=user)
    )


def email_identity(email: str, salt: str) -> str:
    return "sha256$" + hashlib.sha256((email.lower() + salt).encode()).hexdigest()


def badge_assertion(award: BadgeAward, *, base_url: str) -> dict[str, Any]:
    """An Open Badges 2.0 hosted assertion of ``award`` (recipient e-mail hashed). Its badge
    is the URL of the hosted BadgeClass, which names its Issuer by URL in turn: hosted
    verification follows both."""
    badge = award.badge
    assertion_url = base_url + reverse("api-badge-assertion", args=[award.pk])
    salt = hashlib.sha256(f"lyceum-badge-{award.pk}".encode()).hexdigest()[:16]
    recipient: dict[str, Any]
    if award.user.email:
        recipient = {
            "type": "email",
            "hashed": True,
            "salt": salt,
            "identity": email_identity(award.user.email, salt),
        }
    else:
        recipient = {
            "type": "url",
            "hashed": False,
            "identity": f"{base_url}/users/{award.user_id}",
        }
    return {
        "@context": OPEN_BADGES_CONTEXT,
        "type": "Assertion",
        "id": assertion_url,
        "recipient": recipient,
        "badge": base_url + reverse("api-badge-class", args=[badge.pk]),
        "issuedOn": award.created_at.isoformat(),
        "verification": {"type": "hosted"},
        # OB 2.0 evidence is an IRI or an Evidence object, never bare text.
        **(
            {"evidence": {"type": "Evidence", "narrative": award.evidence}}
            if award.evidence
            else {}
        ),
    }


def badge_holders_count(badge: BadgeDefinition) -> int:
    return BadgeAward.objects.filter(badge=badge).aggregate(n=Count("id"))["n"]


def badges_page_url(user_id: int) -> str:
    try:
        return reverse("leaderboards-badges-of", args=[user_id])
    except NoReverseMatch:  # the page is not wired yet
        return ""


def can_see_badges_of(*, viewer: Any, user: Any) -> bool:
    """Oneself, an administrator, or someone sharing a space with them."""
    if viewer.pk == user.pk or viewer.has_role(Role.ADMIN):
        return True
    from hub.accounts.models import SpaceMembership

    theirs = SpaceMembership.objects.filter(user=user).values("space_id")
    return SpaceMembership.objects.filter(user=viewer, space_id__in=theirs).exists()


# -- point rules and badge definitions (REST) -------------------------------------------------
def point_rules_payload(*, space_id: int) -> list[dict[str, Any]]:
    """Every reason with what it pays in the space: its rule, else the default (``custom``
    says which), so a form shows the whole table, not only the overridden rows."""
    rules = dict(PointRule.objects.filter(space_id=space_id).values_list("reason", "amount"))
    return [
        {
            "reason": reason.value,
            "label": str(reason.label),
            "amount": rules.get(reason.value, DEFAULT_POINTS.get(reason.value, 0)),
            "default": DEFAULT_POINTS.get(reason.value, 0),
            "custom": reason.value in rules,
        }
        for reason in Reason
    ]


def badge_definitions_of(*, space_id: int) -> list[BadgeDefinition]:
    return list(
        BadgeDefinition.objects.filter(space_id=space_id)
        .select_related("course")
        .annotate(holders=Count("awards"))
    )


def badge_definition_payload(badge: BadgeDefinition) -> dict[str, Any]:
    """A badge as its editors see it: the criterion's parameters and how many hold it."""
    holders = getattr(badge, "holders", None)
    return {
        **badge_payload(badge),
        "criterion_label": str(badge.get_criterion_display()),
        "reason": badge.reason,
        "course": badge.course_id,
        "criteria_narrative": criteria_narrative(badge),
        "holders": badge_holders_count(badge) if holders is None else holders,
        "badge_class": reverse("api-badge-class", args=[badge.pk]),
    }


# -- Open Badges 2.0: hosted BadgeClass, Issuer and a generated image -------------------------
OPEN_BADGES_CONTEXT = "https://w3id.org/openbadges/v2"


def badge_image_url(badge: BadgeDefinition) -> str:
    """The uploaded image, else the SVG drawn for the badge (never empty: an Open Badges
    BadgeClass requires an image)."""
    if badge.image:
        return badge.image.url
    return reverse("api-badge-image", args=[badge.pk])


def criteria_narrative(badge: BadgeDefinition) -> str:
    """What earns the badge, in words (the BadgeClass ``criteria.narrative``)."""
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    from leaderboards.models import BadgeCriterion as C

    n = badge.threshold
    if badge.criterion == C.POINTS:
        return ngettext("Earn %(n)d point.", "Earn %(n)d points.", n) % {"n": n}
    if badge.criterion == C.EVENTS and badge.reason in Reason.values:
        label = str(Reason(badge.reason).label)
        return ngettext(
            "Be credited once for: %(reason)s.", "Be credited %(n)d times for: %(reason)s.", n
        ) % {"n": n, "reason": label}
    if badge.criterion == C.COURSE:
        if badge.course_id:
            return _("Complete the course %(course)s.") % {"course": badge.course.title}
        return ngettext("Complete a course.", "Complete %(n)d courses.", n) % {"n": n}
    if badge.criterion == C.STREAK:
        return ngettext("Be active %(n)d day in a row.", "Be active %(n)d days in a row.", n) % {
            "n": n
        }
    if badge.criterion == C.DUEL_WINS:
        return ngettext("Win a quiz duel.", "Win %(n)d quiz duels.", n) % {"n": n}
    return _("Awarded by a trainer.")


def badge_class(badge: BadgeDefinition, *, base_url: str) -> dict[str, Any]:
    """The hosted Open Badges 2.0 BadgeClass of ``badge``; its issuer is a URL."""
    return {
        "@context": OPEN_BADGES_CONTEXT,
        "type": "BadgeClass",
        "id": base_url + reverse("api-badge-class", args=[badge.pk]),
        "name": badge.name,
        "description": badge.description or badge.name,
        "image": base_url + badge_image_url(badge),
        "criteria": {"narrative": criteria_narrative(badge)},
        "issuer": base_url + reverse("api-badge-issuer", args=[badge.space_id]),
    }


def issuer_profile(space: Any, *, base_url: str) -> dict[str, Any]:
    """The hosted Open Badges 2.0 Issuer Profile of a space (the space issues its badges)."""
    profile: dict[str, Any] = {
        "@context": OPEN_BADGES_CONTEXT,
        "type": "Issuer",
        "id": base_url + reverse("api-badge-issuer", args=[space.pk]),
        "name": space.name,
        "url": base_url + "/",
    }
    if space.logo:
        profile["image"] = base_url + space.logo.url
    return profile


def is_badge_issued(badge: BadgeDefinition) -> bool:
    """Anyone may fetch what an exported assertion points at: a badge held by someone."""
    return BadgeAward.objects.filter(badge=badge).exists()


def is_space_issuer(space_id: int) -> bool:
    return BadgeAward.objects.filter(badge__space_id=space_id).exists()


def can_fetch_open_badge(*, user: Any, space_id: int, issued: bool) -> bool:
    """Issued badges (and their issuer) are public for verifiers; the others only for the
    space's members (their pages and the badge editor show the images)."""
    if issued:
        return True
    return bool(user and user.is_authenticated and is_space_member(user=user, space=space_id))


def badge_initials(name: str) -> str:
    import re

    words = [w for w in re.split(r"[\W_]+", name) if w]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def badge_image_svg(badge: BadgeDefinition) -> str:
    """A round badge in the space's colour with the badge's initials and name, for a badge
    without an uploaded image. Every text is escaped (names are user input)."""
    from xml.sax.saxutils import escape, quoteattr

    name = badge.name
    short = name if len(name) <= 22 else name[:21] + "\u2026"
    color = badge.space.brand_color or "#1f5f8b"
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" '
        f'viewBox="0 0 256 256" role="img" aria-label={quoteattr(name)}>'
        f"<title>{escape(name)}</title>"
        f'<circle cx="128" cy="128" r="124" fill={quoteattr(color)}/>'
        '<circle cx="128" cy="128" r="108" fill="none" stroke="#ffffff" '
        'stroke-opacity="0.7" stroke-width="6"/>'
        '<text x="128" y="122" text-anchor="middle" dominant-baseline="central" '
        'font-family="sans-serif" font-size="88" font-weight="700" fill="#ffffff">'
        f"{escape(badge_initials(name))}</text>"
        '<text x="128" y="190" text-anchor="middle" font-family="sans-serif" '
        f'font-size="17" fill="#ffffff">{escape(short)}</text>'
        "</svg>"
    )


# -- which boards a person may pick (the board page) ------------------------------------------
def boards_of(*, user: Any, window: str) -> dict[str, list[dict[str, Any]]]:
    """The boards offered to ``user``: their spaces, the courses they learn or teach (in
    those spaces), the teams they are in or manage; each with its key for ``window``."""
    from django.db.models import Q

    from hub.accounts.selectors import spaces_of

    spaces = list(spaces_of(user=user).order_by("name").values_list("id", "name")[:50])
    courses = Course.objects.filter(Q(enrolments__user=user) | Q(trainers=user))
    if not user.has_role(Role.ADMIN):
        courses = courses.filter(space__memberships__user=user)
    course_rows = list(courses.distinct().order_by("title").values_list("id", "title")[:100])
    teams = list(
        Team.objects.filter(Q(members=user) | Q(manager=user))
        .distinct()
        .order_by("name")
        .values_list("id", "name")[:50]
    )

    def entries(scope: str, rows: list[tuple[int, str]]) -> list[dict[str, Any]]:
        return [
            {
                "scope": scope,
                "id": pk,
                "choice": f"{scope}-{pk}",
                "name": name,
                "key": ranks.board_key(scope, pk, window),
            }
            for pk, name in rows
        ]

    return {
        "space": entries("space", spaces),
        "course": entries("course", course_rows),
        "team": entries("team", teams),
    }


def board_name(board: ranks.Board) -> str:
    """The name of a board's space, course or team ("" when it is gone)."""
    from hub.accounts.models import Space

    model: Any = {"space": Space, "course": Course, "team": Team}[board.scope]
    field = "title" if board.scope == "course" else "name"
    return model.objects.filter(pk=board.id).values_list(field, flat=True).first() or ""


# -- home pages (issue 15, frontend/home.py): read-only ----------------------------------------
def person_zone(*, user: Any, space_id: int | None = None) -> ZoneInfo:
    """The time zone ``user``'s days are counted in: their profile's, else their space's
    default, else the server's (a streak's "today" is the person's, not the server's)."""
    from hub.accounts.models import Space
    from hub.accounts.timezones import is_known_zone

    zone = getattr(user, "time_zone", "") or ""
    if not is_known_zone(zone) and space_id is not None:
        zone = Space.objects.filter(pk=space_id).values_list("time_zone", flat=True).first() or ""
    if not is_known_zone(zone):
        zone = settings.TIME_ZONE
    return ZoneInfo(zone)


def current_streak(*, user: Any, space_id: int, today: date | None = None) -> int:
    """Consecutive days up to today (or yesterday: today is not over) with an award, the
    days being the person's own (``person_zone``), whoever looks and wherever the server is."""
    zone = person_zone(user=user, space_id=space_id)
    today = today or timezone.now().astimezone(zone).date()
    start = datetime.combine(today - timedelta(days=400), time.min, tzinfo=zone)
    days = set(
        PointAward.objects.filter(user=user, space_id=space_id, created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values_list("day", flat=True)
    )
    day = today if today in days else today - timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    return streak


def standing_of(*, user: Any, space_id: int, window: str = "week") -> dict[str, Any]:
    """``user``'s rank and points on their space's board for ``window``, and their streak."""
    key = ranks.board_key("space", space_id, window)
    hidden = is_hidden(user=user)
    store = ranks.get_store()
    return {
        "key": key,
        "window": window,
        "rank": None if hidden else store.rank_of(key, user.pk),
        "score": user_score_on(user=user, key=key),
        "streak": current_streak(user=user, space_id=space_id),
        "hidden": hidden,
    }
