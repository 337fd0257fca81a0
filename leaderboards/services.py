"""Every write of points, preferences and badges; the domain-event handlers.

Ledger first, rank store after commit: a ``PointAward`` row is the truth and is written
once per (user, reason, source); the board update (Redis ``ZINCRBY`` in services mode)
runs on commit so a rolled-back award never reaches a board. A crash between the two
leaves a board short of an award until ``manage.py rebuild_leaderboards``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from hub.accounts.models import Space, User
from hub.accounts.selectors import is_space_member
from hub.notify import notify
from leaderboards import push, ranks, selectors
from leaderboards.models import (
    BadgeAward,
    BadgeDefinition,
    PointAward,
    RankingPreference,
    Reason,
)


def _publish_board_changes(award: PointAward, keys: list[str]) -> None:
    """Tell each board's subscribers whose score moved, coalesced (leaderboards/push.py)."""
    for key in keys:
        push.board_changed(key, award.user_id)


def _apply_to_boards(award: PointAward) -> None:
    keys = selectors.board_keys_of_award(award)
    if not selectors.is_hidden(user=award.user):
        store = ranks.get_store()
        for key in keys:
            store.incr(key, award.user_id, award.amount)
        _publish_board_changes(award, keys)


@transaction.atomic
def points_award(
    *,
    user: User,
    reason: str,
    source: Model,
    space: Space,
    course: Any = None,
    amount: int | None = None,
) -> PointAward | None:
    """Pay ``user`` for ``reason`` on ``source`` once: the same (reason, source) again returns
    the first award and changes nothing, even when two calls race (the unique constraint
    decides; the loser reads the winner's row). ``amount`` defaults to the space's rule;
    a rule of 0 pays nothing (returns ``None``). Updates the boards after commit and
    awards the automatic badges the user now meets."""
    if reason not in Reason.values:
        raise ValidationError({"reason": _("Unknown reason.")})
    source_type = ContentType.objects.get_for_model(source)
    key = {"user": user, "reason": reason, "source_type": source_type, "source_id": source.pk}
    existing = PointAward.objects.filter(**key).first()
    if existing is not None:
        return existing
    if amount is None:
        amount = selectors.points_for(space_id=space.pk, reason=reason)
    if amount == 0:
        return None
    try:
        with transaction.atomic():
            award = PointAward.objects.create(**key, space=space, course=course, amount=amount)
    except IntegrityError:
        return PointAward.objects.get(**key)
    transaction.on_commit(lambda: _apply_to_boards(award))
    badges_evaluate(user=user, space=space)
    return award


# -- ranking preference ---------------------------------------------------------------------
def _hide_from_boards(user: User) -> None:
    store = ranks.get_store()
    for key in selectors.current_board_keys_of(user=user):
        store.remove(key, user.pk)
        push.board_changed(key, user.pk)


def _show_on_boards(user: User) -> None:
    store = ranks.get_store()
    for key in selectors.current_board_keys_of(user=user):
        if isinstance(store, ranks.DatabaseRankStore):  # read from the ledger: nothing to write
            push.board_changed(key, user.pk)
            continue
        score = selectors.user_score_on(user=user, key=key)
        store.remove(key, user.pk)
        if score:
            store.incr(key, user.pk, score)
        push.board_changed(key, user.pk)


@transaction.atomic
def ranking_hide(*, user: User) -> None:
    """Take ``user`` off every public board; their own points stay visible to them."""
    RankingPreference.objects.update_or_create(user=user, defaults={"hidden": True})
    transaction.on_commit(lambda: _hide_from_boards(user))


@transaction.atomic
def ranking_show(*, user: User) -> None:
    """Put ``user`` back on the boards with their points from the ledger."""
    RankingPreference.objects.update_or_create(user=user, defaults={"hidden": False})
    transaction.on_commit(lambda: _show_on_boards(user))


# -- badges ---------------------------------------------------------------------------------
def _badge_give(
    *, user: User, badge: BadgeDefinition, awarded_by: User | None = None, evidence: str = ""
) -> tuple[BadgeAward, bool]:
    try:
        with transaction.atomic():
            award, created = BadgeAward.objects.get_or_create(
                user=user,
                badge=badge,
                defaults={"awarded_by": awarded_by, "evidence": evidence[:300]},
            )
    except IntegrityError:
        return BadgeAward.objects.get(user=user, badge=badge), False
    if created:
        notify(
            recipients=[user],
            kind="leaderboards.badge",
            verb=_("You earned the badge %(name)s") % {"name": badge.name},
            actor=awarded_by or user,
            target=award,
            description=badge.description,
            url=selectors.badges_page_url(user.pk),
        )
    return award, created


@transaction.atomic
def badges_evaluate(*, user: User, space: Space) -> list[BadgeAward]:
    """Award every automatic badge of ``space`` that ``user`` now meets (once each)."""
    out = []
    for badge in selectors.badges_pending(user=user, space_id=space.pk):
        if selectors.badge_earned(user=user, badge=badge):
            award, created = _badge_give(user=user, badge=badge)
            if created:
                out.append(award)
    return out


@transaction.atomic
def badge_award_manual(
    *, actor: User, user: User, badge: BadgeDefinition, evidence: str = ""
) -> BadgeAward:
    """A trainer (or coordinator, admin) of the badge's space awards it; once per user."""
    if not selectors.can_award_badge(user=actor, badge=badge):
        raise PermissionDenied(_("You may not award this badge."))
    if not is_space_member(user=user, space=badge.space_id):
        raise ValidationError({"user": _("This person is not a member of the badge's space.")})
    award, _created = _badge_give(user=user, badge=badge, awarded_by=actor, evidence=evidence)
    return award


# -- domain-event handlers (registered in apps.py) ------------------------------------------
ACTIVITY_REASONS = {
    "quiz": Reason.QUIZ_PASSED,
    "live_class": Reason.ATTENDANCE,
    "session": Reason.ATTENDANCE,
}


def on_activity_completed(*, user: User, activity: Any, **_: Any) -> None:
    course = activity.course
    reason = ACTIVITY_REASONS.get(activity.kind, Reason.LESSON_DONE)
    points_award(user=user, reason=reason, source=activity, space=course.space, course=course)


def on_course_completed(*, user: User, course: Any, **_: Any) -> None:
    points_award(
        user=user, reason=Reason.COURSE_COMPLETED, source=course, space=course.space, course=course
    )
