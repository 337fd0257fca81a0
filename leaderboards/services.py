"""Every write of points, preferences and badges; the domain-event handlers.

Ledger first, rank store after commit: a ``PointAward`` row is the truth and is written
once per (user, reason, source); the board update (Redis ``ZINCRBY`` in services mode)
runs on commit so a rolled-back award never reaches a board. A crash between the two
leaves a board short of an award until ``manage.py rebuild_leaderboards``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from hub import events as hub_events
from hub.accounts.models import Space, User
from hub.accounts.selectors import is_space_member
from hub.notify import notify
from leaderboards import push, ranks, selectors
from leaderboards.models import (
    BadgeAward,
    BadgeCriterion,
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
    if award.amount == 0:
        return  # an event recorded for the badges, worth no points: not a board entry
    keys = selectors.board_keys_of_award(award)
    if not selectors.is_hidden(user=award.user):
        # Every board of the award in one call (one Redis round trip).
        ranks.get_store().incr_many([(tuple(keys), award.user_id, award.amount)])
        _publish_board_changes(award, keys)


def _emit_awarded(awards: list[PointAward]) -> None:
    """``leaderboards.points_awarded``: who got new awards in which space (points and how
    many rows), once per call, so listeners (levels, streaks pushed live) work per batch."""
    totals: dict[tuple[int, int], list[int]] = {}
    for award in awards:
        entry = totals.setdefault((award.user_id, award.space_id), [0, 0])
        entry[0] += award.amount
        entry[1] += 1
    hub_events.emit(
        "leaderboards.points_awarded",
        awards=[
            {"user": uid, "space": sid, "amount": amount, "count": count}
            for (uid, sid), (amount, count) in sorted(totals.items())
        ],
    )


@transaction.atomic
def points_award(
    *,
    user: User,
    reason: str,
    source: Model,
    space: Space,
    course: Any = None,
    amount: int | None = None,
) -> PointAward:
    """Pay ``user`` for ``reason`` on ``source`` once: the same (reason, source) again returns
    the first award and changes nothing, even when two calls race (the unique constraint
    decides; the loser reads the winner's row). ``amount`` defaults to the space's rule.
    Updates the boards after commit and awards the automatic badges the user now meets.

    A rule of 0 still records the event, as a 0-point row: badges count events (lessons
    done, duels won, ...) whatever a space pays for them, and a 0-point row never reaches
    a board (``ranks.ledger_scores`` and the rank store leave it out)."""
    if reason not in Reason.values:
        raise ValidationError({"reason": _("Unknown reason.")})
    source_type = ContentType.objects.get_for_model(source)
    key = {"user": user, "reason": reason, "source_type": source_type, "source_id": source.pk}
    existing = PointAward.objects.filter(**key).first()
    if existing is not None:
        return existing
    if amount is None:
        amount = selectors.points_for(space_id=space.pk, reason=reason)
    try:
        with transaction.atomic():
            award = PointAward.objects.create(**key, space=space, course=course, amount=amount)
    except IntegrityError:
        return PointAward.objects.get(**key)
    transaction.on_commit(lambda: _apply_to_boards(award))
    badges_evaluate(user=user, space=space)
    _emit_awarded([award])
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
        hub_events.emit("leaderboards.badge_earned", user=user, badge=badge, award=award)
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


def badge_catch_up(*, badge_id: int) -> int:
    """Award an automatic badge to everyone of its space who already meets it; returns how
    many got it. Run as a job when a badge is created or its criterion changes: who meets
    it should not have to wait for their next points. Idempotent (an award is given once).
    """
    badge = BadgeDefinition.objects.filter(pk=badge_id).first()
    if badge is None or badge.criterion == BadgeCriterion.MANUAL:
        return 0
    given = 0
    # Every criterion is counted from the points ledger (0-point rows included), so who has
    # no row in the space cannot meet it.
    for user in selectors.badge_candidates(badge=badge):
        with transaction.atomic():
            if selectors.badge_earned(user=user, badge=badge):
                given += _badge_give(user=user, badge=badge)[1]
    return given


def _catch_up_later(badge: BadgeDefinition) -> None:
    from leaderboards.tasks import badge_catch_up_job

    if badge.criterion != BadgeCriterion.MANUAL:
        transaction.on_commit(lambda: badge_catch_up_job.enqueue(badge.pk))


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


# -- many awards at once --------------------------------------------------------------------
@transaction.atomic
def points_award_many(*, events: Iterable[Mapping[str, Any]]) -> list[PointAward]:
    """Pay a batch of awards: each event holds ``points_award``'s keyword arguments
    (``user``, ``reason``, ``source``, ``space``, optional ``course`` and ``amount``).

    For streams of point events (thousands a second): the ledger rows go in with one
    ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` per thousand events, so an event already
    paid (now, earlier or by a racing call) is skipped by the unique constraint, exactly as
    ``points_award`` would; after commit the boards get every new award in one round trip
    to the rank store and one coalesced push per board; automatic badges are evaluated once
    per (user, space) that got points, in spaces that have automatic badges. Returns the
    awards this call created. Any invalid event rejects the whole batch, writing nothing.
    """
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from hub.accounts.models import Team

    rows: dict[tuple[int, str, int, int], tuple[Any, ...]] = {}
    users: dict[int, User] = {}
    amounts: dict[tuple[int, str], int] = {}
    reasons = set(Reason.values)  # a property that rebuilds its list on every access
    source_types: dict[type, int] = {}
    for event in events:
        reason = event.get("reason")
        if reason not in reasons:
            raise ValidationError({"reason": _("Unknown reason.")})
        user, source, space = event.get("user"), event.get("source"), event.get("space")
        if not isinstance(user, User) or not isinstance(space, Space) or source is None:
            raise ValidationError(_("Each event needs a user, a source and a space."))
        amount = event.get("amount")
        if amount is None:
            rule = (space.pk, reason)
            if rule not in amounts:
                amounts[rule] = selectors.points_for(space_id=space.pk, reason=reason)
            amount = amounts[rule]
        if not isinstance(amount, int):
            raise ValidationError({"amount": _("Points must be a whole number.")})
        course = event.get("course")
        model = type(source)
        if model not in source_types:
            source_types[model] = ContentType.objects.get_for_model(source).pk
        source_type = source_types[model]
        key = (user.pk, reason, source_type, source.pk)
        # The first of two events with the same (user, reason, source) wins, as it would
        # one call after the other.
        rows.setdefault(key, (*key, space.pk, course.pk if course else None, amount))
        users[user.pk] = user
    if not rows:
        return []

    now = timezone.now()
    meta = PointAward._meta
    quote = connection.ops.quote_name
    names = ["user", "reason", "source_type", "source_id", "space", "course", "amount"]
    fields = [meta.get_field(f) for f in names]
    columns = ", ".join(quote(f.column) for f in [*fields, meta.get_field("created_at")])
    unique = ", ".join(quote(f.column) for f in fields[:4])
    returning = ", ".join(quote(c) for c in ["id", *(f.column for f in fields)])
    created_at = meta.get_field("created_at").get_db_prep_value(now, connection)
    # bulk_create(ignore_conflicts=True) would not say which rows were inserted, and only
    # those may reach the boards: RETURNING does (PostgreSQL and SQLite >= 3.35).
    head = f"INSERT INTO {quote(meta.db_table)} ({columns}) "
    tail = f" ON CONFLICT ({unique}) DO NOTHING RETURNING {returning}"
    pending = list(rows.values())
    statements: list[tuple[str, list[Any]]] = []
    if connection.vendor == "postgresql":
        # One array per column: eight parameters whatever the batch size (a VALUES list of
        # thousands of placeholders costs more to build and parse than the insert itself).
        arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
        sql = f"{head}SELECT *, %s FROM unnest({arrays}){tail}"
        for start in range(0, len(pending), 10_000):
            batch = pending[start : start + 10_000]
            statements.append((sql, [created_at, *(list(col) for col in zip(*batch, strict=True))]))
    else:
        row_sql = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
        for start in range(0, len(pending), 1000):
            batch = pending[start : start + 1000]
            params = [value for row in batch for value in (*row, created_at)]
            statements.append((f"{head}VALUES {', '.join([row_sql] * len(batch))}{tail}", params))
    created: list[PointAward] = []
    # from_db with every concrete field in order takes Model.__init__'s positional path,
    # several times faster than keyword arguments through the foreign-key descriptors.
    attnames = [f.attname for f in meta.concrete_fields]
    position = {name: i for i, name in enumerate(attnames)}
    order = [position[n] for n in ["id", *(f.attname for f in fields)]]
    template: list[Any] = [None] * len(attnames)
    template[position["created_at"]] = now
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            for row in cursor.fetchall():
                values = template.copy()
                for i, value in zip(order, row, strict=True):
                    values[i] = value
                created.append(PointAward.from_db(connection.alias, attnames, values))
    if not created:
        return []
    # The batch's rows lie within this id range (other writers' rows may too: harmless,
    # the lookups below only gain people this batch does not concern). Joining on it
    # keeps the queries at two parameters instead of an IN list of every user.
    id_range = (min(a.pk for a in created), max(a.pk for a in created))

    def apply_to_boards() -> None:
        hidden = set(
            RankingPreference.objects.filter(
                hidden=True, user__point_awards__id__range=id_range
            ).values_list("user_id", flat=True)
        )
        # 0-point rows record events for the badges; they are no board entries.
        shown = [a for a in created if a.user_id not in hidden and a.amount != 0]
        if not shown:
            return
        teams: dict[tuple[int, int], list[int]] = {}
        memberships = (
            Team.members.through.objects.filter(
                user__point_awards__id__range=id_range,
                team__space_id=F("user__point_awards__space_id"),
            )
            .values_list("user_id", "team__space_id", "team_id")
            .distinct()
        )
        for uid, space_id, team_id in memberships:
            teams.setdefault((uid, space_id), []).append(team_id)
        keys_of: dict[tuple[str, int], list[str]] = {}

        def current(scope: str, ident: int) -> list[str]:
            if (scope, ident) not in keys_of:
                keys_of[scope, ident] = ranks.current_keys(scope, ident, now)
            return keys_of[scope, ident]

        changes: list[ranks.Change] = []
        # Awards of a batch mostly share their boards: note who moved per set of boards,
        # then per board, rather than once per (award, board).
        moved_on: dict[tuple[str, ...], set[int]] = {}
        for award in shown:
            keys = list(current("space", award.space_id))
            if award.course_id:
                keys += current("course", award.course_id)
            for team_id in teams.get((award.user_id, award.space_id), ()):
                keys += current("team", team_id)
            changes.append((keys, award.user_id, award.amount))
            moved_on.setdefault(tuple(keys), set()).add(award.user_id)
        ranks.get_store().incr_many(changes)
        moved: dict[str, set[int]] = {}
        for keys, people in moved_on.items():
            for key in keys:
                moved.setdefault(key, set()).update(people)
        push.boards_changed(moved)

    transaction.on_commit(apply_to_boards)
    _emit_awarded(created)
    with_badges = set(
        BadgeDefinition.objects.filter(space_id__in={a.space_id for a in created})
        .exclude(criterion=BadgeCriterion.MANUAL)
        .values_list("space_id", flat=True)
    )
    if with_badges:
        spaces = {s.pk: s for s in Space.objects.filter(pk__in=with_badges)}
        for uid, space_id in sorted({(a.user_id, a.space_id) for a in created}):
            if space_id in spaces:
                badges_evaluate(user=users[uid], space=spaces[space_id])
    return created


def on_answer_accepted(*, user: User, post: Any, **_: Any) -> None:
    """``forums.answer_accepted``: the author of the accepted post (``user``) is paid once
    per post, on the forum's space (and its course, for a course forum)."""
    from classrooms.models import Course

    forum = post.thread.forum
    course = Course.objects.filter(pk=forum.course_id).first() if forum.course_id else None
    points_award(
        user=user, reason=Reason.ANSWER_ACCEPTED, source=post, space=forum.space, course=course
    )


def on_session_attended(*, user: User, session: Any, **_: Any) -> None:
    """``sessions.attended``: attendance points once per session. A session that completes a
    course activity is paid by that completion (``classrooms.activity_completed``), so it
    does not pay twice."""
    if getattr(session, "activity_id", None):
        return
    points_award(
        user=user,
        reason=Reason.ATTENDANCE,
        source=session,
        space=session.space,
        course=getattr(session, "course", None),
    )


# -- team boards follow team membership -----------------------------------------------------
def team_board_sync(*, team_id: int, user_ids: list[int]) -> None:
    """Someone joined or left a team: their entry on the team's current boards follows
    (the database store reads membership from the ledger query; the Redis store is
    rewritten from the ledger for these users). Then the boards refetch."""
    from hub.accounts.models import Team

    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        return
    store = ranks.get_store()
    members = set(team.members.filter(pk__in=user_ids).values_list("pk", flat=True))
    hidden = selectors.hidden_user_ids(list(user_ids))
    for key in ranks.current_keys("team", team_id):
        if not isinstance(store, ranks.DatabaseRankStore):
            for user_id in user_ids:
                store.remove(key, user_id)
                if user_id in members and user_id not in hidden:
                    score = selectors.user_score_on(user=user_id, key=key)
                    if score:
                        store.incr(key, user_id, score)
        for user_id in user_ids:
            push.board_changed(key, user_id)


def on_team_members_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **_: Any
) -> None:
    """``m2m_changed`` of ``Team.members`` (teams are edited in the hub, which emits no
    domain event): sync the team boards once the change commits."""
    from hub.accounts.models import Team

    if action == "pre_clear":
        # Who was in it, before the rows go (post_clear no longer knows).
        if reverse:
            instance._lb_cleared_teams = list(instance.teams.values_list("pk", flat=True))
        else:
            instance._lb_cleared_users = list(instance.members.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    pairs: list[tuple[int, list[int]]]
    if reverse:  # user.teams.add(team...)
        team_ids = getattr(instance, "_lb_cleared_teams", []) if action == "post_clear" else pk_set
        pairs = [(tid, [instance.pk]) for tid in team_ids or []]
    else:
        user_ids = getattr(instance, "_lb_cleared_users", []) if action == "post_clear" else pk_set
        pairs = [(instance.pk, list(user_ids or []))]
    for team_id, users in pairs:
        if users and isinstance(team_id, int) and Team.objects.filter(pk=team_id).exists():
            transaction.on_commit(
                lambda t=team_id, u=users: team_board_sync(team_id=t, user_ids=sorted(u))
            )


# -- point rules and badge definitions (REST; formerly Django admin only) -------------------
POINT_RULE_MAX = 10_000  # what one event may pay: more is a typo, not a rule
BADGE_THRESHOLD_MAX = 1_000_000
BADGE_IMAGE_MAX_BYTES = 1024 * 1024
BADGE_IMAGE_MAX_SIDE = 2048
# Raster formats only: an uploaded SVG may carry scripts and is served from our origin.
BADGE_IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}
BADGE_FIELDS = {"name", "description", "criterion", "threshold", "reason", "course", "image"}


def _require_manager_of(actor: User, space_id: int) -> None:
    if not selectors.can_manage_gamification(user=actor, space_id=space_id):
        raise PermissionDenied(_("You may not manage the points and badges of this space."))


def _check_rule(reason: Any, amount: Any) -> None:
    if reason not in Reason.values:
        raise ValidationError({"reason": _("Unknown reason.")})
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationError({"amount": _("Points must be a whole number.")})
    if not 0 <= amount <= POINT_RULE_MAX:
        raise ValidationError(
            {"amount": _("Points must be between 0 and %(max)d.") % {"max": POINT_RULE_MAX}}
        )


@transaction.atomic
def point_rules_set(*, actor: User, space: Space, amounts: Mapping[str, int]) -> None:
    """Set what each given reason pays in ``space`` (others keep theirs). Every pair is
    checked before anything is written: one bad amount changes nothing. Awards already
    paid keep their amount (the ledger is history, not a formula)."""
    _require_manager_of(actor, space.pk)
    if not amounts:
        raise ValidationError(_("No point rule given."))
    for reason, amount in amounts.items():
        _check_rule(reason, amount)
    from leaderboards.models import PointRule

    for reason, amount in amounts.items():
        PointRule.objects.update_or_create(space=space, reason=reason, defaults={"amount": amount})


@transaction.atomic
def point_rule_reset(*, actor: User, space: Space, reason: str) -> None:
    """``reason`` pays the default again in ``space``."""
    _require_manager_of(actor, space.pk)
    if reason not in Reason.values:
        raise ValidationError({"reason": _("Unknown reason.")})
    from leaderboards.models import PointRule

    PointRule.objects.filter(space=space, reason=reason).delete()


def _check_badge_image(image: Any) -> str:
    """Refuse anything but a small PNG, JPEG, GIF or WebP that Pillow can read (the
    extension and content type are the uploader's word; the bytes decide). Returns the
    extension the file is stored under."""
    from PIL import Image, UnidentifiedImageError

    if image.size > BADGE_IMAGE_MAX_BYTES:
        raise ValidationError(
            {
                "image": _("The image is too large (at most %(kb)d KB).")
                % {"kb": BADGE_IMAGE_MAX_BYTES // 1024}
            }
        )
    try:
        image.seek(0)
        with Image.open(image) as picture:
            kind = picture.format
            width, height = picture.size
            picture.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ValidationError({"image": _("The file is not an image.")}) from None
    finally:
        image.seek(0)
    if kind not in BADGE_IMAGE_FORMATS:
        raise ValidationError({"image": _("Use a PNG, JPEG, GIF or WebP image.")})
    if max(width, height) > BADGE_IMAGE_MAX_SIDE:
        raise ValidationError(
            {
                "image": _("The image is too large (at most %(px)d pixels a side).")
                % {"px": BADGE_IMAGE_MAX_SIDE}
            }
        )
    return BADGE_IMAGE_FORMATS[kind]


def _clean_badge(badge: BadgeDefinition, fields: Mapping[str, Any]) -> None:
    """Apply ``fields`` to ``badge`` (not saved) and check the whole: criterion, its
    parameters, the image."""

    unknown = set(fields) - BADGE_FIELDS
    if unknown:
        raise ValidationError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    image = fields.get("image")
    for name, value in fields.items():
        if name == "image":
            continue
        if name == "course":
            badge.course = value
        else:
            setattr(badge, name, value)
    badge.name = (badge.name or "").strip()
    if not badge.name:
        raise ValidationError({"name": _("A badge needs a name.")})
    if badge.criterion not in BadgeCriterion.values:
        raise ValidationError({"criterion": _("Unknown criterion.")})
    threshold = badge.threshold
    if isinstance(threshold, bool) or not isinstance(threshold, int):
        raise ValidationError({"threshold": _("The threshold must be a whole number.")})
    if not 1 <= threshold <= BADGE_THRESHOLD_MAX:
        raise ValidationError(
            {
                "threshold": _("The threshold must be between 1 and %(max)d.")
                % {"max": BADGE_THRESHOLD_MAX}
            }
        )
    # Parameters of another criterion are dropped, not kept to confuse a later reader.
    if badge.criterion == BadgeCriterion.EVENTS:
        if badge.reason not in Reason.values:
            raise ValidationError({"reason": _("Choose the reason whose awards are counted.")})
    else:
        badge.reason = ""
    if badge.criterion == BadgeCriterion.COURSE:
        if badge.course is not None and badge.course.space_id != badge.space_id:
            raise ValidationError({"course": _("This course is not in the badge's space.")})
    else:
        badge.course = None
    if "image" in fields and image is None:
        badge.image = ""
    elif image is not None:
        import secrets

        extension = _check_badge_image(image)
        image.name = f"badge-{secrets.token_hex(8)}.{extension}"
        badge.image = image
    badge.full_clean(exclude=["image"])


@transaction.atomic
def badge_definition_create(*, actor: User, space: Space, **fields: Any) -> BadgeDefinition:
    """A new badge of ``space`` (``name``, ``description``, ``criterion``, ``threshold``,
    ``reason``, ``course``, ``image``). An automatic badge goes, in a background job, to
    whoever already meets it (``badge_catch_up``), then to each person who comes to meet it."""
    _require_manager_of(actor, space.pk)
    badge = BadgeDefinition(space=space)
    _clean_badge(badge, fields)
    badge.save()
    _catch_up_later(badge)
    return badge


@transaction.atomic
def badge_definition_update(
    *, actor: User, badge: BadgeDefinition, **fields: Any
) -> BadgeDefinition:
    """Change a badge (its space stays); ``image=None`` removes the uploaded image. Who
    holds it keeps it; a changed criterion goes to whoever now meets it (a job)."""
    _require_manager_of(actor, badge.space_id)
    badge = BadgeDefinition.objects.select_for_update().get(pk=badge.pk)
    old_image = badge.image.name if badge.image else ""
    rule = _criterion_of(badge)
    _clean_badge(badge, fields)
    badge.save()
    if _criterion_of(badge) != rule:
        _catch_up_later(badge)
    if old_image and old_image != (badge.image.name if badge.image else ""):
        storage = BadgeDefinition._meta.get_field("image").storage
        transaction.on_commit(lambda: storage.delete(old_image))
    return badge


def _criterion_of(badge: BadgeDefinition) -> tuple[Any, ...]:
    return (badge.criterion, badge.threshold, badge.reason, badge.course_id)


@transaction.atomic
def badge_definition_delete(*, actor: User, badge: BadgeDefinition) -> None:
    """Delete a badge nobody holds. A held badge stays: its holders' Open Badges
    assertions point at it."""
    _require_manager_of(actor, badge.space_id)
    if BadgeAward.objects.filter(badge=badge).exists():
        raise ValidationError(_("This badge has been awarded; it cannot be deleted."))
    image = badge.image.name if badge.image else ""
    badge.delete()
    if image:
        storage = BadgeDefinition._meta.get_field("image").storage
        transaction.on_commit(lambda: storage.delete(image))
