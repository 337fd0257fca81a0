"""Demo data: two courses (modules, lessons, media items, question banks of 20 and 10),
the demo learners enrolled at different progress. Idempotent: skipped if present."""

from __future__ import annotations

from classrooms import services
from classrooms.models import ActivityKind, Course, QuestionKind
from hub.accounts.models import Space, User

SAFETY_QUESTIONS: list[tuple[str, str, list[tuple[str, bool, str]], float | None]] = [
    (
        "single",
        "What colour is a fire exit sign in Europe?",
        [
            ("Green", True, "Right: green means safe."),
            ("Red", False, "Red marks fire equipment."),
            ("Blue", False, ""),
        ],
        None,
    ),
    (
        "single",
        "Which extinguisher is used on electrical fires?",
        [("CO2", True, ""), ("Water", False, "Water conducts electricity."), ("Foam", False, "")],
        None,
    ),
    (
        "true_false",
        "Fire doors may be wedged open on hot days.",
        [("True", False, "Never: they stop smoke."), ("False", True, "")],
        None,
    ),
    (
        "true_false",
        "You should use a lift during a fire alarm.",
        [("True", False, ""), ("False", True, "Take the stairs.")],
        None,
    ),
    (
        "multiple",
        "What belongs in a first-aid kit?",
        [("Bandages", True, ""), ("Gloves", True, ""), ("Matches", False, "No.")],
        None,
    ),
    ("numeric", "What is the European emergency number?", [], 112),
    (
        "single",
        "Who may reset a fire alarm?",
        [("A trained warden", True, ""), ("Anyone", False, "")],
        None,
    ),
    (
        "multiple",
        "Signs of a stroke (FAST)?",
        [("Face drooping", True, ""), ("Arm weakness", True, ""), ("Hiccups", False, "")],
        None,
    ),
    (
        "true_false",
        "A PASS sequence helps you use an extinguisher.",
        [("True", True, "Pull, Aim, Squeeze, Sweep."), ("False", False, "")],
        None,
    ),
    ("numeric", "How many seconds of hand washing are recommended?", [], 20),
    (
        "single",
        "Where do you gather after an evacuation?",
        [("The assembly point", True, ""), ("The car park exit", False, "")],
        None,
    ),
    (
        "multiple",
        "Which are personal protective equipment?",
        [("Helmet", True, ""), ("Safety shoes", True, ""), ("Necktie", False, "")],
        None,
    ),
    (
        "true_false",
        "Spilled liquids should be signposted until cleaned.",
        [("True", True, ""), ("False", False, "")],
        None,
    ),
    (
        "single",
        "What should you do first when you find a fire?",
        [("Raise the alarm", True, ""), ("Collect your belongings", False, "Leave them.")],
        None,
    ),
    (
        "single",
        "How often should fire extinguishers be checked?",
        [("Every year", True, ""), ("Every ten years", False, "")],
        None,
    ),
    (
        "true_false",
        "You may move a person with a suspected spine injury.",
        [("True", False, "Only if in danger."), ("False", True, "")],
        None,
    ),
    (
        "multiple",
        "What makes a good evacuation?",
        [("Calm", True, ""), ("Counting people", True, ""), ("Running", False, "Walk.")],
        None,
    ),
    ("numeric", "How many compressions per cycle of CPR?", [], 30),
    (
        "single",
        "What does a yellow triangle sign mean?",
        [("A warning", True, ""), ("An obligation", False, "That is blue.")],
        None,
    ),
    (
        "true_false",
        "Electrical cables may run under carpets.",
        [("True", False, "Trip and fire hazard."), ("False", True, "")],
        None,
    ),
]
SALES_QUESTIONS: list[tuple[str, str, list[tuple[str, bool, str]], float | None]] = [
    (
        "single",
        "What comes first in a discovery call?",
        [("Questions", True, ""), ("The price", False, "Too early.")],
        None,
    ),
    (
        "true_false",
        "Features sell better than benefits.",
        [("True", False, "Benefits sell."), ("False", True, "")],
        None,
    ),
    (
        "multiple",
        "Good open questions start with…",
        [("What", True, ""), ("How", True, ""), ("Is it", False, "That is closed.")],
        None,
    ),
    ("numeric", "A 20 % discount on 50 makes how much?", [], 40),
    (
        "single",
        "BANT stands for Budget, Authority, Need and…",
        [("Timeline", True, ""), ("Tactics", False, "")],
        None,
    ),
    (
        "true_false",
        "Silence after a price is a tactic.",
        [("True", True, ""), ("False", False, "")],
        None,
    ),
    (
        "single",
        "An objection is…",
        [("A request for information", True, ""), ("A refusal", False, "Not yet!")],
        None,
    ),
    ("numeric", "How many follow-ups does the average sale need?", [], 5),
    (
        "multiple",
        "Which are buying signals?",
        [
            ("Asking about delivery", True, ""),
            ("Asking for references", True, ""),
            ("Leaving the room", False, ""),
        ],
        None,
    ),
    (
        "true_false",
        "You should talk more than the customer.",
        [("True", False, ""), ("False", True, "Listen 70 %.")],
        None,
    ),
]


def _bank(trainer: User, course: Course, questions) -> list:
    created = []
    for kind, text, choices, number in questions:
        created.append(
            services.question_create(
                user=trainer,
                course=course,
                kind=QuestionKind(kind),
                text=text,
                choices=[{"text": t, "is_correct": ok, "feedback": fb} for t, ok, fb in choices],
                numeric_answer=number,
                tolerance=0,
            )
        )
    return created


def _right_answers(attempt) -> dict[str, object]:
    from classrooms.models import Question

    answers: dict[str, object] = {}
    for q in Question.objects.filter(pk__in=attempt.question_ids).prefetch_related("choices"):
        if q.kind == QuestionKind.NUMERIC:
            answers[str(q.pk)] = q.numeric_answer
        else:
            answers[str(q.pk)] = [c.pk for c in q.choices.all() if c.is_correct]
    return answers


def seed(*, users: dict[str, User], space: Space) -> None:
    if Course.objects.filter(space=space, title="Workplace safety").exists():
        seed_live_classes(users=users, space=space)
        return
    trainer, learner, learner2 = users["trainer"], users["learner"], users["learner2"]

    safety = services.course_create(
        author=trainer,
        space=space,
        title="Workplace safety",
        summary="Everything you need to **stay safe** at work: fire, first aid, protective gear.",
        published=True,
        self_enrolment=True,
    )
    basics = services.module_create(user=trainer, course=safety, title="Basics")
    welcome = services.activity_create(
        user=trainer,
        module=basics,
        title="Welcome to the course",
        kind=ActivityKind.LESSON,
        body="## Why safety matters\n\nEvery year, accidents at work could be avoided with a few "
        "habits. This course walks you through them.\n\n- Fire\n- First aid\n- Protective gear",
    )
    fire = services.activity_create(
        user=trainer,
        module=basics,
        title="Fire: prevent, alert, evacuate",
        kind=ActivityKind.LESSON,
        body="When the alarm rings: **stop, leave, gather**.\n\n1. Leave by the nearest exit\n"
        "2. Never use a lift\n3. Go to the assembly point",
    )
    services.activity_create(
        user=trainer,
        module=basics,
        title="Video: using an extinguisher",
        kind=ActivityKind.MEDIA,
        media_kind="video",
        media_url="https://example.com/media/extinguisher.mp4",
        body="Watch the PASS technique: Pull, Aim, Squeeze, Sweep.",
    )
    check = services.module_create(user=trainer, course=safety, title="Check your knowledge")
    services.activity_create(
        user=trainer,
        module=check,
        title="First aid in five minutes",
        kind=ActivityKind.LESSON,
        body="Call **112**, protect, alert, help.",
    )
    quiz = services.activity_create(
        user=trainer,
        module=check,
        title="Safety quiz",
        kind=ActivityKind.QUIZ,
        pass_mark=70,
        attempt_limit=3,
        time_limit_seconds=600,
        body="Twenty questions; 70 % to pass; ten minutes.",
    )
    _bank(trainer, safety, SAFETY_QUESTIONS)

    sales = services.course_create(
        author=trainer,
        space=space,
        title="Consultative selling",
        summary="Discover needs, handle objections, close with confidence.",
        published=True,
    )
    discover = services.module_create(user=trainer, course=sales, title="Discovery")
    s1 = services.activity_create(
        user=trainer,
        module=discover,
        title="Asking open questions",
        kind=ActivityKind.LESSON,
        body="Open questions start with *what*, *how*, *why*.",
    )
    services.activity_create(
        user=trainer,
        module=discover,
        title="Podcast: a discovery call",
        kind=ActivityKind.MEDIA,
        media_kind="podcast",
        media_url="https://example.com/media/discovery.mp3",
    )
    closing = services.module_create(user=trainer, course=sales, title="Closing")
    services.activity_create(
        user=trainer,
        module=closing,
        title="Handling objections",
        kind=ActivityKind.LESSON,
        body="An objection is a request for information.",
    )
    services.activity_create(
        user=trainer, module=closing, title="Sales quiz", kind=ActivityKind.QUIZ, pass_mark=60
    )
    services.activity_create(
        user=trainer,
        module=closing,
        title="Your pitch",
        kind=ActivityKind.ASSIGNMENT,
        body="Write the opening of your next pitch.",
    )
    _bank(trainer, sales, SALES_QUESTIONS)

    # Different progress: Leo is well into safety, Lina completed it; both in sales.
    for person in (learner, learner2):
        services.enrolment_create(actor=trainer, user=person, course=safety)
    services.enrolment_create(actor=users["manager"], user=learner, course=sales)
    services.enrolment_create(actor=users["manager"], user=learner2, course=sales)
    services.activity_view(user=learner, activity=welcome)
    services.activity_view(user=learner, activity=fire)
    services.activity_view(user=learner2, activity=welcome)
    services.activity_view(user=learner, activity=s1)
    attempt = services.attempt_start(user=learner, activity=quiz)
    services.attempt_submit(user=learner, attempt=attempt, answers={})
    # Lina finishes the safety course: a completion for the charts and the notifications.
    for activity in safety.activities.exclude(kind=ActivityKind.QUIZ):
        services.activity_complete(user=learner2, activity=activity, source="viewed")
    attempt = services.attempt_start(user=learner2, activity=quiz)
    services.attempt_submit(user=learner2, attempt=attempt, answers=_right_answers(attempt))
    seed_live_classes(users=users, space=space)


def seed_live_classes(*, users: dict[str, User], space: Space) -> None:
    """A live class planned for tomorrow in the safety course (its trainer can start it),
    and one that took place last week with its attendance. Idempotent."""
    from datetime import timedelta

    from django.utils import timezone

    from classrooms.models import AttendanceInterval, LiveClass, LiveClassStatus

    safety = Course.objects.filter(space=space, title="Workplace safety").first()
    if safety is None or LiveClass.objects.filter(course=safety).exists():
        return
    trainer, learner, learner2 = users["trainer"], users["learner"], users["learner2"]
    module = safety.modules.order_by("position", "id").first()
    activity = services.activity_create(
        user=trainer,
        module=module,
        title="Live questions with the trainer",
        kind=ActivityKind.LIVE_CLASS,
        required=False,
        body="Bring your questions: attending most of the class completes this activity.",
    )
    tomorrow = (timezone.now() + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    services.liveclass_create(
        actor=trainer,
        space=space,
        course=safety,
        activity=activity,
        title="Live questions with the trainer",
        scheduled_start=tomorrow,
        scheduled_end=tomorrow + timedelta(hours=1),
    )

    # Last week's kick-off: Leo stayed the whole hour, Lina came late and left early.
    kickoff = services.liveclass_create(
        actor=trainer, space=space, course=safety, title="Kick-off: safety at work"
    )
    for person in (trainer, learner, learner2):
        services.liveclass_join(user=person, live_class=kickoff)
    services.liveclass_start(actor=trainer, live_class=kickoff)
    services.liveclass_end(actor=trainer, live_class=kickoff)
    start = (timezone.now() - timedelta(days=7)).replace(hour=14, minute=0, second=0, microsecond=0)
    end = start + timedelta(hours=1)
    LiveClass.objects.filter(pk=kickoff.pk).update(
        status=LiveClassStatus.ENDED,
        scheduled_start=start,
        scheduled_end=end,
        started_at=start,
        ended_at=end,
    )
    stretches = {
        trainer.pk: [(-5, 62)],
        learner.pk: [(0, 60)],
        learner2.pk: [(12, 30), (35, 41)],
    }
    for participant in kickoff.participants.all():
        AttendanceInterval.objects.filter(participant=participant).delete()
        for begin, finish in stretches[participant.user_id]:
            AttendanceInterval.objects.create(
                participant=participant,
                joined_at=start + timedelta(minutes=begin),
                left_at=start + timedelta(minutes=finish),
                last_seen_at=start + timedelta(minutes=finish),
            )
