"""Live quiz games (Kahoot-like): a host runs a course's questions for a whole class that
answers on phones (data only)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class GameStatus(models.TextChoices):
    LOBBY = "lobby", _("Waiting for players")
    QUESTION = "question", _("Question open")
    REVEAL = "reveal", _("Answer shown")
    FINISHED = "finished", _("Finished")


class Game(models.Model):
    """One game: the host opens each question (server deadline), closes it (or time or the
    last answer does), shows the reveal and podium, then the next. ``current_index`` is the
    last question opened, ``closed_index`` the last one closed."""

    course = models.ForeignKey("classrooms.Course", on_delete=models.CASCADE, related_name="games")
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="games_hosted"
    )
    live_class = models.ForeignKey(
        "classrooms.LiveClass",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="games",
    )
    # A quiz activity of the course played as a game: its questions are the game's, and a
    # player who reaches its pass mark in the game has it completed (course progress).
    quiz = models.ForeignKey(
        "classrooms.Activity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="games",
        verbose_name=_("quiz"),
    )
    code = models.CharField(_("join code"), max_length=8)
    status = models.CharField(max_length=20, choices=GameStatus.choices, default=GameStatus.LOBBY)
    question_ids = models.JSONField(default=list)
    seconds = models.PositiveSmallIntegerField(_("seconds per question"), default=20)
    team_mode = models.BooleanField(_("team mode"), default=False)
    team_count = models.PositiveSmallIntegerField(_("teams"), default=0)
    current_index = models.SmallIntegerField(default=-1)
    closed_index = models.SmallIntegerField(default=-1)
    opened_at = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("live quiz game")
        verbose_name_plural = _("live quiz games")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"],
                condition=~Q(status="finished"),
                name="games_code_once_while_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.status})"

    @property
    def topic(self) -> str:
        return f"games.game.{self.pk}"

    @property
    def host_topic(self) -> str:
        return f"games.host.{self.pk}"

    @property
    def question_count(self) -> int:
        return len(self.question_ids)


class GamePlayer(models.Model):
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="players")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    team = models.PositiveSmallIntegerField(null=True, blank=True)
    score = models.IntegerField(default=0)
    streak = models.PositiveSmallIntegerField(default=0)
    correct_count = models.PositiveSmallIntegerField(default=0)
    # Players of such games ask to turn the streak bonus off (no pressure, no bonus).
    streak_bonus = models.BooleanField(_("streak bonus"), default=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "joined_at", "id"]
        constraints = [models.UniqueConstraint(fields=["game", "user"], name="games_player_once")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.game_id}"


class GameAnswer(models.Model):
    """One player's answer to one question: counted once (the unique constraint)."""

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="answers")
    player = models.ForeignKey(GamePlayer, on_delete=models.CASCADE, related_name="answers")
    index = models.PositiveSmallIntegerField()
    answer = models.JSONField()
    answered_at = models.DateTimeField()
    ms = models.PositiveIntegerField()
    correct = models.BooleanField(default=False)
    points = models.IntegerField(default=0)
    bonus = models.IntegerField(default=0)

    class Meta:
        ordering = ["index", "answered_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["game", "player", "index"], name="games_answer_once")
        ]
        indexes = [models.Index(fields=["game", "index"])]

    def __str__(self) -> str:
        return f"{self.game_id}#{self.index} {self.player_id}"


class GameEvent(models.Model):
    """A durable event of ``games.game.<id>`` (its id orders the topic's backlog)."""

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.game_id}: {self.type}"
