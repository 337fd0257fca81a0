"""Courses, modules, activities, enrolments, completions, quizzes (data only)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from hub.accounts.models import Space
from hub.files import SNIFF_BYTES, RandomName, sniff

COVER_MAX_BYTES = 2 * 1024 * 1024
MEDIA_MAX_BYTES = 50 * 1024 * 1024
COVER_EXTENSIONS = ["jpg", "jpeg", "png", "webp", "gif"]
MEDIA_EXTENSIONS = ["mp4", "webm", "mp3", "ogg", "m4a", "wav", "pdf", "txt", "odt", "docx", "pptx"]
SUBMISSION_EXTENSIONS = ["pdf", "txt", "odt", "docx", "pptx", "png", "jpg", "jpeg", "zip"]


def _check_size(file, limit: int) -> None:
    if file and file.size > limit:
        raise ValidationError(
            _("The file is too large (at most %(mb)s MB)."), params={"mb": limit // 2**20}
        )


# Module-level functions: migrations reference validators by name.
def cover_max_size(file) -> None:
    _check_size(file, COVER_MAX_BYTES)


def media_max_size(file) -> None:
    _check_size(file, MEDIA_MAX_BYTES)


# What a file's first bytes must be for its extension (hub/files.py sniffs them): the
# extension alone is the uploader's word, the content is not (an .mp4 that is an HTML page
# is refused).
_ISO_MEDIA = frozenset({"video/mp4", "audio/mp4"})
_ZIP = frozenset({"application/zip"})
CONTENT_TYPES: dict[str, frozenset[str]] = {
    "pdf": frozenset({"application/pdf"}),
    "png": frozenset({"image/png"}),
    "jpg": frozenset({"image/jpeg"}),
    "jpeg": frozenset({"image/jpeg"}),
    "gif": frozenset({"image/gif"}),
    "webp": frozenset({"image/webp"}),
    "webm": frozenset({"video/webm"}),
    "ogg": frozenset({"audio/ogg"}),
    "wav": frozenset({"audio/wav"}),
    "mp3": frozenset({"audio/mpeg"}),
    "mp4": _ISO_MEDIA,
    "m4a": _ISO_MEDIA,
    "txt": frozenset({"text/plain"}),
    "zip": _ZIP,
    "docx": _ZIP,
    "pptx": _ZIP,
    "odt": _ZIP,
}


def _sniff_ok(extension: str, head: bytes) -> bool:
    expected = CONTENT_TYPES.get(extension)
    return expected is None or sniff(head) in expected


def content_matches_extension(file) -> None:
    """Refuse an upload whose first bytes do not match its extension."""
    if not file or not getattr(file, "name", ""):
        return
    extension = file.name.rsplit(".", 1)[-1].lower() if "." in file.name else ""
    try:
        position = file.tell()
        file.seek(0)
        head = file.read(SNIFF_BYTES)
        file.seek(position)
    except (OSError, ValueError):
        return  # a stored file that is not open: it was checked when uploaded
    if isinstance(head, str):
        head = head.encode()
    if not _sniff_ok(extension, head):
        raise ValidationError(
            _("The file's content does not match its extension (.%(ext)s)."),
            params={"ext": extension},
        )


class Course(models.Model):
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="courses")
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"), blank=True, help_text=_("Markdown."))
    summary_html = models.TextField(editable=False, blank=True)  # hub/sanitize.py
    cover = models.ImageField(
        _("cover image"),
        upload_to=RandomName("classrooms/covers"),
        db_index=True,
        blank=True,
        validators=[
            FileExtensionValidator(COVER_EXTENSIONS),
            cover_max_size,
            content_matches_extension,
        ],
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    trainers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="courses_trained", blank=True
    )
    published = models.BooleanField(_("published"), default=False)
    self_enrolment = models.BooleanField(_("learners may enrol themselves"), default=False)
    # The default due date of an enrolment: a fixed date, or a number of days after the
    # enrolment (one or none); an enrolment may override it (Enrolment.due_overridden).
    due_date = models.DateTimeField(_("enrolments due on"), null=True, blank=True)
    due_days = models.PositiveSmallIntegerField(
        _("enrolments due after (days)"), null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("course-detail", args=[self.pk])

    @property
    def progress_topic(self) -> str:
        return f"classrooms.course.{self.pk}.progress"


class Module(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="modules")
    title = models.CharField(_("title"), max_length=200)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("module")
        verbose_name_plural = _("modules")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


class ActivityKind(models.TextChoices):
    LESSON = "lesson", _("Lesson page")
    MEDIA = "media", _("Media")
    QUIZ = "quiz", _("Quiz")
    LIVE_CLASS = "live_class", _("Live class")
    SESSION = "session", _("Session")
    ASSIGNMENT = "assignment", _("Assignment")
    # A SCORM 1.2 / 2004 or cmi5 package (integrations/packages.py, docs/INTEGRATIONS.md).
    PACKAGE = "package", _("SCORM or cmi5 package")
    # An LTI 1.3 tool launched from the course (externaltools/): its scores complete it.
    EXTERNAL_TOOL = "external_tool", _("External tool")


class MediaKind(models.TextChoices):
    VIDEO = "video", _("Video")
    AUDIO = "audio", _("Audio")
    PODCAST = "podcast", _("Podcast")
    DOCUMENT = "document", _("Document")


class CompletionRule(models.TextChoices):
    VIEWED = "viewed", _("Viewed")
    QUIZ_PASSED = "quiz_passed", _("Quiz passed")
    ATTENDED = "attended", _("Attended")
    SUBMITTED = "submitted", _("Submitted")
    # An assignment whose grade passes (grading/): the grading app completes it.
    GRADED = "graded", _("Passed when graded")
    # Every SCO/AU of the package done as the package reports it (integrations/scorm.py).
    PACKAGE = "package", _("Completed in the package")


# Kinds a trainer creates with the generic activity form and API; an external tool
# activity is made by externaltools/ (it needs its tool and line item).
GENERIC_KINDS = [c for c in ActivityKind.choices if c[0] != ActivityKind.EXTERNAL_TOOL]

DEFAULT_RULE = {
    ActivityKind.LESSON: CompletionRule.VIEWED,
    ActivityKind.MEDIA: CompletionRule.VIEWED,
    ActivityKind.QUIZ: CompletionRule.QUIZ_PASSED,
    ActivityKind.LIVE_CLASS: CompletionRule.ATTENDED,
    ActivityKind.SESSION: CompletionRule.ATTENDED,
    ActivityKind.ASSIGNMENT: CompletionRule.SUBMITTED,
    ActivityKind.PACKAGE: CompletionRule.PACKAGE,
    ActivityKind.EXTERNAL_TOOL: CompletionRule.GRADED,
}


class Activity(models.Model):
    # ``course`` repeats ``module.course``: progress and the grid read a course's activities
    # without joining modules.
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="activities")
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="activities")
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=ActivityKind.choices)
    position = models.PositiveIntegerField(default=0)
    required = models.BooleanField(_("required for completion"), default=True)
    completion_rule = models.CharField(
        _("completed when"), max_length=20, choices=CompletionRule.choices
    )
    body = models.TextField(_("text"), blank=True, help_text=_("Markdown."))
    body_html = models.TextField(editable=False, blank=True)  # hub/sanitize.py
    media_kind = models.CharField(
        _("media kind"), max_length=20, choices=MediaKind.choices, blank=True
    )
    media_file = models.FileField(
        _("file"),
        upload_to=RandomName("classrooms/media"),
        db_index=True,
        blank=True,
        validators=[
            FileExtensionValidator(MEDIA_EXTENSIONS),
            media_max_size,
            content_matches_extension,
        ],
    )
    media_url = models.URLField(_("link"), blank=True)
    # Quiz settings.
    pass_mark = models.PositiveSmallIntegerField(
        _("pass mark (%)"), default=60, validators=[MaxValueValidator(100)]
    )
    attempt_limit = models.PositiveSmallIntegerField(
        _("attempts allowed (0 = unlimited)"), default=3
    )
    time_limit_seconds = models.PositiveIntegerField(
        _("time limit in seconds (0 = none)"), default=0
    )
    questions = models.ManyToManyField("Question", related_name="quizzes", blank=True)
    # Session / live class: what the linking app (sessions/, the virtual class) points at.
    link_kind = models.CharField(max_length=40, blank=True)
    link_id = models.PositiveIntegerField(null=True, blank=True)
    # Due: a fixed date, or a number of days after each person's enrolment (one or none);
    # each enrolled person's own date is an ActivityDue row.
    due_date = models.DateTimeField(_("due on"), null=True, blank=True)
    due_days = models.PositiveSmallIntegerField(_("due after (days)"), null=True, blank=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["course", "required"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("activity-detail", args=[self.pk])


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", _("In progress")
    COMPLETED = "completed", _("Completed")


class EnrolmentSource(models.TextChoices):
    SELF = "self", _("Self")
    MANAGER = "manager", _("Manager")
    TRAINER = "trainer", _("Trainer")
    ADMIN = "admin", _("Administrator")


class Enrolment(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolments"
    )
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrolments")
    status = models.CharField(
        max_length=20, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE
    )
    source = models.CharField(max_length=20, choices=EnrolmentSource.choices)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    enrolled_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    # Due date: the course's default, or set for this enrolment (due_overridden) by the
    # course's editors or the person's manager. The sweep (paths/due.py) stamps
    # reminded_at / overdue_notified_at once each; a new due date clears them.
    due_at = models.DateTimeField(null=True, blank=True)
    due_overridden = models.BooleanField(default=False)
    reminded_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    # Completed after the due date in force at that moment.
    completed_late = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [models.UniqueConstraint(fields=["user", "course"], name="unique_enrolment")]
        indexes = [models.Index(fields=["due_at", "completed_at"], name="enrolment_due")]

    def __str__(self) -> str:
        return f"{self.user} in {self.course}"


class Completion(models.Model):
    """An activity done by a learner. Its id is the durable id of the progress event."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="completions"
    )
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="completions")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="completions")
    source = models.CharField(max_length=40)
    # The first time: what the grid, the gradebook and the course's progress read.
    completed_at = models.DateTimeField(auto_now_add=True)
    # The latest time it was done (done again: a view, a passed retake, a new attempt, an
    # attendance at another session, a new score). A learning path's later cycle counts an
    # activity done in it only from this date (paths/, recertification).
    last_completed_at = models.DateTimeField(null=True, blank=True)
    times = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "activity"], name="unique_completion")
        ]
        indexes = [models.Index(fields=["course", "id"])]

    def __str__(self) -> str:
        return f"{self.user_id} completed {self.activity_id}"


class ActivityDue(models.Model):
    """One enrolled person's due date for an activity that has one (Activity.due_date or
    due_days), kept in step by classrooms.services; read by the agenda, the feeds, the
    sweep and the managers' overdue lists."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="dues")
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="dues")
    # ``user`` repeats ``enrolment.user``: the sweep and the lists filter by person.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_late = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "activity"], name="one_due_per_activity")
        ]
        indexes = [models.Index(fields=["due_at", "completed_at"], name="activity_due")]

    def __str__(self) -> str:
        return f"{self.activity_id} for {self.user_id}"


class QuestionKind(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    TRUE_FALSE = "true_false", _("True / false")
    NUMERIC = "numeric", _("Numeric")


class Question(models.Model):
    """A question of a course's bank (quizzes and, later, quiz duels draw from it)."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="questions")
    kind = models.CharField(max_length=20, choices=QuestionKind.choices)
    text = models.TextField(_("question"))
    explanation = models.TextField(_("explanation"), blank=True)
    numeric_answer = models.FloatField(null=True, blank=True)
    tolerance = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.text[:80]


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(max_length=500)
    is_correct = models.BooleanField(default=False)
    feedback = models.CharField(max_length=500, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text


class Attempt(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_attempts"
    )
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    question_ids = models.JSONField(default=list)
    started_at = models.DateTimeField(auto_now_add=True)
    deadline = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    answers = models.JSONField(default=dict)
    score = models.PositiveSmallIntegerField(null=True, blank=True)  # percent
    passed = models.BooleanField(default=False)
    late = models.BooleanField(default=False)
    # An attempt taken offline (issue 21): the device's id for it, so a replayed submission
    # finds the attempt it already made instead of making another.
    client_id = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "activity", "number"], name="unique_attempt"),
            models.UniqueConstraint(
                fields=["user", "client_id"],
                condition=models.Q(client_id__isnull=False),
                name="one_attempt_per_offline_client_id",
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.activity_id} by {self.user_id}"


class Submission(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions"
    )
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="submissions")
    text = models.TextField(blank=True)
    text_html = models.TextField(editable=False, blank=True)
    file = models.FileField(
        upload_to=RandomName("classrooms/submissions"),
        db_index=True,
        blank=True,
        validators=[
            FileExtensionValidator(SUBMISSION_EXTENSIONS),
            media_max_size,
            content_matches_extension,
        ],
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    # 1 for the first submission, 2 for a resubmission after a grade (grading/), ...
    number = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "activity", "number"], name="unique_submission_number"
            )
        ]

    def __str__(self) -> str:
        return f"submission of {self.activity_id} by {self.user_id}"


# -- live virtual classes --------------------------------------------------------------------
def default_liveclass_capacity() -> int:
    """Referenced by name from migrations: the room size measured for the media backend in
    use: Janus's (``LYCEUM_JANUS_CAPACITY``) when the class's media go through Janus, else
    the built-in relay's (``LYCEUM_LIVECLASS_CAPACITY``); docs/LIVECLASS.md."""
    backend = getattr(settings, "LYCEUM_MEDIA", {}).get("BACKEND", "")
    if backend == "classrooms.janus.JanusBackend":
        return int(getattr(settings, "LYCEUM_JANUS", {}).get("CAPACITY", 100))
    return settings.LYCEUM_LIVECLASS_CAPACITY


class LiveClassStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    LOBBY = "lobby", _("Lobby open")
    LIVE = "live", _("Live")
    ENDED = "ended", _("Ended")


class LiveClass(models.Model):
    """A live virtual class: scheduled (from a session) or started ad hoc by a trainer."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="live_classes")
    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, null=True, blank=True, related_name="live_classes"
    )
    # The course activity of kind live_class that attending this class completes.
    activity = models.ForeignKey(
        Activity, on_delete=models.SET_NULL, null=True, blank=True, related_name="live_classes"
    )
    title = models.CharField(_("title"), max_length=200)
    trainers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="live_classes_trained", blank=True
    )
    # People allowed in besides the course's learners (e.g. a session's registrants).
    invitees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="live_classes_invited", blank=True
    )
    scheduled_start = models.DateTimeField(_("scheduled start"), null=True, blank=True)
    scheduled_end = models.DateTimeField(_("scheduled end"), null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=LiveClassStatus.choices, default=LiveClassStatus.SCHEDULED
    )
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    locked = models.BooleanField(_("locked"), default=False)
    # Webinar: only trainers and the speakers they promote publish, everyone else watches.
    webinar = models.BooleanField(_("webinar"), default=False)
    capacity = models.PositiveIntegerField(
        _("capacity"), default=default_liveclass_capacity, validators=[MinValueValidator(2)]
    )
    min_presence_percent = models.PositiveSmallIntegerField(
        _("minimum presence for completion (%)"),
        default=75,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    recording_on = models.BooleanField(default=False)
    recording = models.FileField(
        upload_to=RandomName("liveclass-recordings"), null=True, blank=True, db_index=True
    )
    # When the recording's time 0 was (the playback page puts chat and chapters from it) and
    # when it was saved (retention: deleted LYCEUM_RECORDING_RETENTION_DAYS after).
    recording_started_at = models.DateTimeField(null=True, blank=True)
    recording_saved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Set while a background job composes the recording (Janus); the page says "being
    # prepared" until the file is attached.
    recording_preparing_since = models.DateTimeField(null=True, blank=True)
    # "sessions.session.<id>" when created for a scheduled session (one class per session).
    session_key = models.CharField(max_length=100, blank=True, db_index=True)
    spotlight = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Breakout rooms: how many are open (0 = none) and when their timer runs out.
    breakout_count = models.PositiveSmallIntegerField(default=0)
    breakout_ends_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("live class")
        verbose_name_plural = _("live classes")
        ordering = ["-scheduled_start", "-id"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("liveclass", args=[self.pk])

    @property
    def topic(self) -> str:
        return f"classrooms.liveclass.{self.pk}"

    def breakout_topic(self, room: int) -> str:
        return f"classrooms.liveclass.{self.pk}-{room}.breakout"


class ParticipantRole(models.TextChoices):
    TRAINER = "trainer", _("Trainer")
    LEARNER = "learner", _("Learner")


class LiveClassParticipant(models.Model):
    """Someone who joined a live class at least once; their hand and breakout room."""

    live_class = models.ForeignKey(LiveClass, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="live_class_participations"
    )
    role = models.CharField(max_length=20, choices=ParticipantRole.choices)
    first_joined_at = models.DateTimeField(auto_now_add=True)
    # Removed by a trainer: may not come back into this class.
    removed = models.BooleanField(default=False)
    # Raised hands form a queue ordered by when they went up.
    hand_raised_at = models.DateTimeField(null=True, blank=True)
    # Promoted to speak in a webinar (trainers always may).
    speaker = models.BooleanField(default=False)
    breakout_room = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["first_joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["live_class", "user"], name="unique_liveclass_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in live class {self.live_class_id}"


class AttendanceInterval(models.Model):
    """One stretch of presence in the room (several sockets of one person count once)."""

    participant = models.ForeignKey(
        LiveClassParticipant, on_delete=models.CASCADE, related_name="intervals"
    )
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    # Last time the person was seen connected: an interval left open by a vanished socket
    # is closed here.
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["joined_at", "id"]
        indexes = [models.Index(fields=["participant", "left_at"])]

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.joined_at} - {self.left_at}"


class LiveClassEvent(models.Model):
    """The durable events of a live class's topics (room 0 = the main room, n = breakout n).

    Its id is the event id on the topic, so a reconnecting client resumes with ``since``.
    """

    live_class = models.ForeignKey(LiveClass, on_delete=models.CASCADE, related_name="events")
    room = models.PositiveSmallIntegerField(default=0)
    type = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["live_class", "room", "id"])]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class Poll(models.Model):
    live_class = models.ForeignKey(LiveClass, on_delete=models.CASCADE, related_name="polls")
    question = models.CharField(max_length=300)
    choices = models.JSONField(default=list)  # list of strings
    anonymous = models.BooleanField(default=False)
    is_open = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.question


class PollVote(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    choice = models.PositiveSmallIntegerField()
    voted_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "user"], name="unique_poll_vote")]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.choice}"


class WhiteboardStroke(models.Model):
    """A stroke on the current board of a room (undo and clear delete rows)."""

    live_class = models.ForeignKey(LiveClass, on_delete=models.CASCADE, related_name="strokes")
    room = models.PositiveSmallIntegerField(default=0)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    data = models.JSONField()  # {"points": [[x, y], ...], "color": "#rrggbb", "width": n}
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["live_class", "room", "id"])]

    def __str__(self) -> str:
        return f"stroke {self.pk}"
