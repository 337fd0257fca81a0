"""Points ledger, point rules, ranking preference, badges (data only)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from hub.accounts.models import Space


class Reason(models.TextChoices):
    LESSON_DONE = "lesson_done", _("Lesson done")
    QUIZ_PASSED = "quiz_passed", _("Quiz passed")
    COURSE_COMPLETED = "course_completed", _("Course completed")
    ANSWER_ACCEPTED = "answer_accepted", _("Answer accepted")
    ATTENDANCE = "attendance", _("Attendance")
    DUEL_WON = "duel_won", _("Duel won")
    GAME_PLAYED = "game_played", _("Played a live quiz game")
    GAME_PODIUM = "game_podium", _("On a live quiz game's podium")
    MANUAL = "manual", _("Awarded by a trainer")


# What a reason pays in a space without a PointRule of its own.
DEFAULT_POINTS: dict[str, int] = {
    Reason.LESSON_DONE: 10,
    Reason.QUIZ_PASSED: 20,
    Reason.COURSE_COMPLETED: 100,
    Reason.ANSWER_ACCEPTED: 15,
    Reason.ATTENDANCE: 15,
    Reason.DUEL_WON: 25,
    Reason.GAME_PLAYED: 5,
    Reason.GAME_PODIUM: 20,
    Reason.MANUAL: 0,
}


class PointRule(models.Model):
    """How many points a reason pays in one space (overrides ``DEFAULT_POINTS``)."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="point_rules")
    reason = models.CharField(_("reason"), max_length=40, choices=Reason.choices)
    amount = models.IntegerField(_("points"))

    class Meta:
        verbose_name = _("point rule")
        verbose_name_plural = _("point rules")
        constraints = [
            models.UniqueConstraint(fields=["space", "reason"], name="lb_rule_once_per_space")
        ]

    def __str__(self) -> str:
        return f"{self.space}: {self.reason} = {self.amount}"


class PointAward(models.Model):
    """One row of the ledger. Paid at most once per (user, reason, source object)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="point_awards"
    )
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="point_awards")
    course = models.ForeignKey(
        "classrooms.Course",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="point_awards",
    )
    amount = models.IntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=40, choices=Reason.choices)
    source_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    source_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("points award")
        verbose_name_plural = _("points awards")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "reason", "source_type", "source_id"],
                name="lb_award_once_per_source",
            )
        ]
        indexes = [
            models.Index(fields=["space", "created_at"]),
            models.Index(fields=["course", "created_at"]),
            models.Index(fields=["user", "space"]),
        ]

    def __str__(self) -> str:
        return f"{self.user} +{self.amount} ({self.reason})"


class RankingPreference(models.Model):
    """A learner who hides from public rankings still sees their own points."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="ranking_preference",
    )
    hidden = models.BooleanField(_("hidden from public rankings"), default=False)

    class Meta:
        verbose_name = _("ranking preference")
        verbose_name_plural = _("ranking preferences")

    def __str__(self) -> str:
        return f"{self.user}: {'hidden' if self.hidden else 'public'}"


class BadgeCriterion(models.TextChoices):
    POINTS = "points", _("Points in the space reach the threshold")
    EVENTS = "events", _("Awards of one reason reach the threshold")
    COURSE = "course", _("Course completed (one course, or the threshold's number)")
    STREAK = "streak", _("Consecutive active days reach the threshold")
    DUEL_WINS = "duel_wins", _("Duels won reach the threshold")
    MANUAL = "manual", _("Awarded by a trainer")


class BadgeDefinition(models.Model):
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="badges")
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    image = models.ImageField(_("image"), upload_to="leaderboards/badges/", blank=True)
    criterion = models.CharField(
        _("criterion"), max_length=20, choices=BadgeCriterion.choices, default=BadgeCriterion.MANUAL
    )
    threshold = models.PositiveIntegerField(_("threshold"), default=1)
    reason = models.CharField(
        _("reason counted"),
        max_length=40,
        choices=Reason.choices,
        blank=True,
        help_text=_("For the 'events' criterion."),
    )
    course = models.ForeignKey(
        "classrooms.Course",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="badges",
        help_text=_("For the 'course' criterion: this course."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("badge")
        verbose_name_plural = _("badges")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class BadgeAward(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="badge_awards"
    )
    badge = models.ForeignKey(BadgeDefinition, on_delete=models.CASCADE, related_name="awards")
    awarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    evidence = models.CharField(_("evidence"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("badge award")
        verbose_name_plural = _("badge awards")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "badge"], name="lb_badge_once_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.badge} -> {self.user}"


# -- quiz duels --------------------------------------------------------------------------------
class DuelStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")
    DECLINED = "declined", _("Declined")
    CANCELLED = "cancelled", pgettext_lazy("duel status", "Cancelled")
    ACTIVE = "active", _("In play")
    FINISHED = "finished", _("Finished")
    EXPIRED = "expired", _("Expired")


class DuelMode(models.TextChoices):
    LIVE = "live", _("Live")
    ASYNC = "async", _("Each in turn")


class Duel(models.Model):
    """Two learners of a course answer the same questions of its bank.

    Live mode: the server opens each question for both at the same moment and closes it when
    both answered or time is up (``current_index`` is the announced or open question,
    ``opened_index`` the last one whose text was published, ``closed_index`` the last
    closed one). Asynchronous mode: each player opens their own questions, with the
    same per-question timing, before ``expires_at``.
    """

    course = models.ForeignKey("classrooms.Course", on_delete=models.CASCADE, related_name="duels")
    challenger = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duels_started"
    )
    opponent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duels_received"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=DuelStatus.choices, default=DuelStatus.PENDING
    )
    mode = models.CharField(_("mode"), max_length=10, choices=DuelMode.choices, blank=True)
    matchmade = models.BooleanField(_("found by matchmaking"), default=False)
    question_ids = models.JSONField(default=list)
    seconds = models.PositiveSmallIntegerField(_("seconds per question"), default=10)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Pending: the challenge lapses; live before the first question: both must be ready by
    # then (else the duel turns asynchronous); asynchronous: both runs must be done by then.
    expires_at = models.DateTimeField(null=True, blank=True)
    challenger_ready = models.BooleanField(default=False)
    opponent_ready = models.BooleanField(default=False)
    current_index = models.SmallIntegerField(default=-1)
    # Live: the last question whose text went out (``question.opened``, at its opens_at;
    # until then only ``question.upcoming``, without the text, is published).
    opened_index = models.SmallIntegerField(default=-1)
    closed_index = models.SmallIntegerField(default=-1)
    challenger_score = models.IntegerField(default=0)
    opponent_score = models.IntegerField(default=0)
    winner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="duels_won",
    )
    forfeit = models.BooleanField(_("decided by forfeit"), default=False)
    challenger_rating_change = models.IntegerField(default=0)
    opponent_rating_change = models.IntegerField(default=0)
    rematch_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="rematches"
    )

    class Meta:
        verbose_name = _("quiz duel")
        verbose_name_plural = _("quiz duels")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["course", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.challenger} vs {self.opponent} ({self.status})"

    @property
    def topic(self) -> str:
        return f"leaderboards.duel.{self.pk}"

    @property
    def question_count(self) -> int:
        return len(self.question_ids)

    def player_ids(self) -> tuple[int, int]:
        return (self.challenger_id, self.opponent_id)

    def other_id(self, user_id: int) -> int:
        return self.opponent_id if user_id == self.challenger_id else self.challenger_id


class DuelTurn(models.Model):
    """One player's go at one question: opened with a server deadline, answered at most once."""

    duel = models.ForeignKey(Duel, on_delete=models.CASCADE, related_name="turns")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    index = models.PositiveSmallIntegerField()
    question = models.ForeignKey("classrooms.Question", on_delete=models.CASCADE, related_name="+")
    opened_at = models.DateTimeField()
    deadline = models.DateTimeField()
    answer = models.JSONField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    correct = models.BooleanField(default=False)
    points = models.IntegerField(default=0)
    closed = models.BooleanField(default=False)

    class Meta:
        ordering = ["index", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["duel", "user", "index"], name="lb_duel_turn_once")
        ]

    def __str__(self) -> str:
        return f"{self.duel_id}#{self.index} {self.user_id}"


class DuelEvent(models.Model):
    """A durable event of ``leaderboards.duel.<id>`` (its id orders the topic's backlog)."""

    duel = models.ForeignKey(Duel, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.duel_id}: {self.type}"


class DuelRating(models.Model):
    """A learner's Elo rating in one course's duels (starts at 1200, K = 32)."""

    course = models.ForeignKey(
        "classrooms.Course", on_delete=models.CASCADE, related_name="duel_ratings"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duel_ratings"
    )
    rating = models.IntegerField(_("rating"), default=1200)
    played = models.PositiveIntegerField(default=0)
    won = models.PositiveIntegerField(default=0)
    lost = models.PositiveIntegerField(default=0)
    drawn = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("duel rating")
        verbose_name_plural = _("duel ratings")
        ordering = ["-rating", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["course", "user"], name="lb_duel_rating_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.rating} in {self.course_id}"


class DuelQueueEntry(models.Model):
    """A learner waiting for a random opponent in a course (matchmaking)."""

    course = models.ForeignKey("classrooms.Course", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["course", "user"], name="lb_duel_queue_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} waits in {self.course_id}"
