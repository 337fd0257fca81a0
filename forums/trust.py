"""Trust levels of the forums (issue 22, docs/COMMUNITY.md): earned rights, Discourse-like.

A member's level in a space (0-4) is computed from what they did there: topics and posts
read, days visited, posts written, likes received, time since they joined; upheld flags on
their posts count against it. Levels are recomputed on events (a post, a like received, a
thread read, a moderator's decision) and by the periodic job (``manage.py forums_trust``,
for what only time changes). A level, once reached, is only lost through upheld flags (or
an admin's pin). Trainers, coordinators and admins are always treated as level 4.

The limits each level lifts (``TRUST_LIMITS`` in ``forums/conf.py``) are enforced by
``forums/services.py``, which asks ``level_of`` here. This module is part of the forums'
services and selectors: flags, posts and reads are forum data, and the forum services
enforce the limits, so a separate app would have to import the forums and be imported by
them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from forums.conf import limit
from forums.models import (
    Flag,
    Post,
    Reaction,
    ThreadRead,
    TrustChange,
    TrustLevel,
    TrustSettings,
    TrustVisit,
)
from hub.accounts.models import Role, Space, User
from hub.accounts.selectors import is_space_member
from hub.notify import notify

LEVELS = (0, 1, 2, 3, 4)
TOP = 4
STAFF_ROLES = (Role.TRAINER, Role.COORDINATOR, Role.ADMIN)
# Reactions that count as "likes received".
LIKES = ("like", "heart")

LEVEL_NAMES = {
    0: gettext_lazy("New member"),
    1: gettext_lazy("Member"),
    2: gettext_lazy("Regular"),
    3: gettext_lazy("Trusted"),
    4: gettext_lazy("Leader"),
}
# What a level needs: at least this much of each (``max_upheld_flags``: at most).
REQUIREMENT_LABELS = {
    "days": gettext_lazy("days since joining"),
    "days_visited": gettext_lazy("days visited"),
    "topics_read": gettext_lazy("topics read"),
    "posts_read": gettext_lazy("posts read"),
    "posts": gettext_lazy("posts written"),
    "likes_received": gettext_lazy("likes received"),
    "max_upheld_flags": gettext_lazy("upheld flags on your posts (at most)"),
}
DEFAULT_REQUIREMENTS: dict[int, dict[str, int]] = {
    1: {"days": 1, "topics_read": 3, "posts_read": 10, "max_upheld_flags": 5},
    2: {
        "days": 7,
        "days_visited": 5,
        "topics_read": 10,
        "posts_read": 50,
        "posts": 3,
        "likes_received": 1,
        "max_upheld_flags": 2,
    },
    3: {
        "days": 30,
        "days_visited": 20,
        "topics_read": 30,
        "posts_read": 200,
        "posts": 10,
        "likes_received": 10,
        "max_upheld_flags": 0,
    },
    4: {
        "days": 90,
        "days_visited": 50,
        "topics_read": 60,
        "posts_read": 500,
        "posts": 30,
        "likes_received": 30,
        "max_upheld_flags": 0,
    },
}
LIMIT_LABELS = {
    "links": gettext_lazy("links per post"),
    "images": gettext_lazy("images per post"),
    "mentions": gettext_lazy("mentions per post"),
    "threads_per_day": gettext_lazy("new threads per day"),
}


# -- settings of a space -----------------------------------------------------------------------
def _space_id(space: Space | int) -> int:
    return space if isinstance(space, int) else space.pk


def requirements_for(space: Space | int) -> dict[int, dict[str, int]]:
    """The space's requirements per level: its own values over the defaults."""
    own = (
        TrustSettings.objects.filter(space_id=_space_id(space))
        .values_list("requirements", flat=True)
        .first()
        or {}
    )
    return {
        level: {**reqs, **{k: int(v) for k, v in (own.get(str(level)) or {}).items()}}
        for level, reqs in DEFAULT_REQUIREMENTS.items()
    }


def flag_hide_weight(space: Space | int) -> int:
    own = (
        TrustSettings.objects.filter(space_id=_space_id(space))
        .values_list("flag_hide_weight", flat=True)
        .first()
    )
    return own or limit("FLAG_HIDE_WEIGHT")


def limit_at(kind: str, level: int) -> int | None:
    """The limit ``kind`` at ``level`` (None: no limit)."""
    return limit("TRUST_LIMITS")[kind][level]


def level_needed(kind: str, count: int) -> int | None:
    """The lowest level allowed ``count`` of ``kind`` (None: no level is)."""
    for level in LEVELS:
        cap = limit_at(kind, level)
        if cap is None or count <= cap:
            return level
    return None


def flag_weight(level: int) -> int:
    return limit("FLAG_WEIGHTS")[level]


def can_admin_trust(*, user: Any, space: Space | int) -> bool:
    """Space admins: administrators, and coordinators of the space."""
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.COORDINATOR) and is_space_member(user=user, space=_space_id(space))


# -- what a level is computed from -------------------------------------------------------------
def stats_of(*, user: Any, space: Space | int) -> dict[str, int]:
    """What ``user`` did in the space's forums (a handful of counting queries)."""
    space_id = _space_id(space)
    now = timezone.now()
    reads = ThreadRead.objects.filter(
        user=user, thread__forum__space_id=space_id, last_read_post_id__gt=0
    )
    posts_read = Post.objects.filter(
        thread__forum__space_id=space_id,
        thread__reads__user=user,
        id__lte=F("thread__reads__last_read_post_id"),
        is_deleted=False,
    ).count()
    since = now - timedelta(days=limit("FLAG_MEMORY_DAYS"))
    return {
        "days": max(0, (now - user.date_joined).days),
        "days_visited": TrustVisit.objects.filter(user=user, space_id=space_id).count(),
        "topics_read": reads.count(),
        "posts_read": posts_read,
        "posts": Post.objects.filter(
            author=user, thread__forum__space_id=space_id, is_deleted=False, is_hidden=False
        ).count(),
        "likes_received": Reaction.objects.filter(
            post__author=user, post__thread__forum__space_id=space_id, emoji__in=LIKES
        )
        .exclude(user=user)
        .count(),
        "max_upheld_flags": Post.objects.filter(
            author=user,
            thread__forum__space_id=space_id,
            flags__status=Flag.Status.ACTED,
            flags__resolved_at__gte=since,
        )
        .distinct()
        .count(),
    }


def _meets(stats: dict[str, int], reqs: dict[str, int], *, flags: bool = True) -> bool:
    for key, need in reqs.items():
        if key == "max_upheld_flags":
            if flags and stats.get(key, 0) > need:
                return False
        elif stats.get(key, 0) < need:
            return False
    return True


def computed_level(
    stats: dict[str, int], reqs: dict[int, dict[str, int]], *, flags: bool = True
) -> int:
    """The highest level whose requirements, and those of every level below, are met."""
    level = 0
    for candidate in range(1, TOP + 1):
        if not _meets(stats, reqs[candidate], flags=flags):
            break
        level = candidate
    return level


def is_staff(user: Any) -> bool:
    return user.has_role(*STAFF_ROLES)


def level_of(*, user: Any, space: Space | int) -> int:
    """The level the limits apply at: staff 4, else the pin, else the stored level (a
    person with no stored level yet is computed, not stored: reads change nothing)."""
    if is_staff(user):
        return TOP
    row = TrustLevel.objects.filter(user=user, space_id=_space_id(space)).first()
    if row is not None:
        return row.effective
    return computed_level(stats_of(user=user, space=space), requirements_for(space))


# -- writes --------------------------------------------------------------------------------------
def _row_for_update(user: Any, space_id: int) -> TrustLevel:
    """The person's row, locked (created at level 0 the first time; of two creators, one
    creates and the other reads it)."""
    try:
        with transaction.atomic():
            TrustLevel.objects.get_or_create(user=user, space_id=space_id)
    except IntegrityError:
        pass
    return TrustLevel.objects.select_for_update().get(user=user, space_id=space_id)


def _tell(user: Any, space_id: int, old: int, new: int, actor: Any) -> None:
    verb = (
        _("You reached trust level %(level)s (%(name)s) in the forums")
        if new > old
        else _("Your forum trust level is now %(level)s (%(name)s)")
    ) % {"level": new, "name": LEVEL_NAMES[new]}
    notify(
        recipients=[user],
        kind="forums.trust",
        verb=verb,
        actor=actor or user,
        url=f"{reverse('forum-trust')}?space={space_id}",
    )


@transaction.atomic
def trust_recompute(*, user: Any, space: Space | int) -> TrustLevel | None:
    """Compute ``user``'s level in the space again and store it, with history on a change.

    Promotes when the requirements are met; demotes only when upheld flags are what no
    longer meets them. Staff and non-members have no row (None).
    """
    space_id = _space_id(space)
    if is_staff(user) or not is_space_member(user=user, space=space_id):
        return None
    row = _row_for_update(user, space_id)
    reqs = requirements_for(space_id)
    stats = stats_of(user=user, space=space_id)
    computed = computed_level(stats, reqs)
    old = row.level
    new = old
    reason = ""
    if computed > old:
        new, reason = computed, TrustChange.Reason.PROMOTED
    elif computed < old and computed_level(stats, reqs, flags=False) > computed:
        new, reason = computed, TrustChange.Reason.DEMOTED
    row.level, row.stats, row.computed_at = new, stats, timezone.now()
    row.save(update_fields=["level", "stats", "computed_at"])
    if new != old:
        TrustChange.objects.create(
            user=user, space_id=space_id, old_level=old, new_level=new, reason=reason
        )
        if row.pinned_level is None:
            _tell(user, space_id, old, new, None)
    return row


@transaction.atomic
def trust_pin(*, actor: Any, user: User, space: Space, level: int | None) -> TrustLevel:
    """A space admin pins ``user``'s level (None unpins: the computed level applies again)."""
    if not can_admin_trust(user=actor, space=space):
        raise PermissionDenied(_("Only the space's admins set trust levels."))
    if level is not None and level not in LEVELS:
        raise ValidationError({"level": _("A level from 0 to 4.")})
    if not is_space_member(user=user, space=space.pk) or user.has_role(Role.ADMIN):
        raise ValidationError({"user": _("This person is not a member of the space.")})
    row = _row_for_update(user, space.pk)
    old = row.effective
    if row.pinned_level == level:
        return row
    row.pinned_level = level
    row.save(update_fields=["pinned_level"])
    TrustChange.objects.create(
        user=user,
        space=space,
        old_level=old,
        new_level=row.effective,
        reason=TrustChange.Reason.PINNED if level is not None else TrustChange.Reason.UNPINNED,
        actor=actor,
    )
    if row.effective != old:
        _tell(user, space.pk, old, row.effective, actor)
    return row


@transaction.atomic
def trust_settings_set(
    *,
    actor: Any,
    space: Space,
    requirements: dict[str, dict[str, int]],
    flag_hide_weight: int | None,
) -> TrustSettings:
    """A space admin sets the space's requirements (per level, only the keys that differ
    from the defaults; ``{}`` returns to them) and the flag weight that hides a post."""
    if not can_admin_trust(user=actor, space=space):
        raise PermissionDenied(_("Only the space's admins set trust levels."))
    clean: dict[str, dict[str, int]] = {}
    for key, reqs in (requirements or {}).items():
        if str(key) not in {"1", "2", "3", "4"} or not isinstance(reqs, dict):
            raise ValidationError({"requirements": _("Levels 1 to 4 only.")})
        for name, value in reqs.items():
            if name not in REQUIREMENT_LABELS:
                raise ValidationError(
                    {"requirements": _("Unknown requirement: %(name)s") % {"name": name}}
                )
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100000:
                raise ValidationError(
                    {
                        "requirements": _("%(name)s: a whole number from 0 to 100000.")
                        % {"name": name}
                    }
                )
        clean[str(key)] = dict(reqs)
    if flag_hide_weight is not None and not 1 <= flag_hide_weight <= 100:
        raise ValidationError({"flag_hide_weight": _("From 1 to 100.")})
    settings_row, _created = TrustSettings.objects.select_for_update().get_or_create(space=space)
    settings_row.requirements = clean
    settings_row.flag_hide_weight = flag_hide_weight
    settings_row.updated_by = actor
    settings_row.save()
    return settings_row


def visit_record(*, user: Any, space: Space | int) -> None:
    """Today counts as a day visited (idempotent; of two at once, one row)."""
    try:
        with transaction.atomic():
            TrustVisit.objects.get_or_create(
                user=user, space_id=_space_id(space), day=timezone.localdate()
            )
    except IntegrityError:
        pass


# -- what the member's page and REST show --------------------------------------------------------
def progress_payload(*, user: Any, space: Space | int) -> dict[str, Any]:
    """The member's level, what the next one needs and how far they are (reads only)."""
    space_id = _space_id(space)
    reqs = requirements_for(space_id)
    row = TrustLevel.objects.filter(user=user, space_id=space_id).first()
    stats = stats_of(user=user, space=space_id)
    level = level_of(user=user, space=space_id)
    nxt = level + 1 if level < TOP else None
    needs = []
    if nxt is not None:
        for key, need in reqs[nxt].items():
            have = stats.get(key, 0)
            ok = have <= need if key == "max_upheld_flags" else have >= need
            needs.append(
                {
                    "key": key,
                    "label": str(REQUIREMENT_LABELS[key]),
                    "need": need,
                    "have": have,
                    "met": ok,
                    "percent": 100 if ok else min(100, int(100 * have / need)) if need else 100,
                }
            )
    history = TrustChange.objects.filter(user=user, space_id=space_id)[:20]
    return {
        "space": space_id,
        "level": level,
        "name": str(LEVEL_NAMES[level]),
        "staff": is_staff(user),
        "pinned": row is not None and row.pinned_level is not None,
        "stats": stats,
        "next": nxt,
        "next_name": str(LEVEL_NAMES[nxt]) if nxt is not None else None,
        "needs": needs,
        "limits": {kind: limit_at(kind, level) for kind in LIMIT_LABELS},
        "history": [change_payload(c) for c in history],
    }


def change_payload(change: TrustChange) -> dict[str, Any]:
    return {
        "old_level": change.old_level,
        "new_level": change.new_level,
        "reason": change.reason,
        "at": change.created_at,
    }


def rules_table() -> list[dict[str, Any]]:
    """Each level's limits, for the rules shown to members."""
    return [
        {
            "level": level,
            "name": str(LEVEL_NAMES[level]),
            "limits": [limit_at(kind, level) for kind in LIMIT_LABELS],
            "wiki": level >= limit("WIKI_EDIT_LEVEL"),
            "flag_weight": flag_weight(level),
        }
        for level in LEVELS
    ]


def settings_payload(space: Space | int) -> dict[str, Any]:
    return {
        "space": _space_id(space),
        "requirements": {str(k): v for k, v in requirements_for(space).items()},
        "flag_hide_weight": flag_hide_weight(space),
    }
