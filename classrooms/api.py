"""REST endpoints of classrooms (mounted under /api/v1/): thin, over services/selectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from classrooms import selectors, services
from classrooms.models import (
    GENERIC_KINDS,
    Activity,
    Attempt,
    CompletionRule,
    Course,
    Enrolment,
    LiveClass,
    MediaKind,
    Module,
    Poll,
    Question,
    QuestionKind,
)
from hub.accounts.models import Space, User
from hub.accounts.selectors import is_space_member
from hub.api import DateTimeInRangeField, JSONParser, PrimaryKeysField, validated
from hub.params import parse_id, query_id


# -- serializers (validation; REST, pages and the gateway share them) --------------------------
class CourseWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=["en", "fr"], required=False)
    published = serializers.BooleanField(required=False)
    self_enrolment = serializers.BooleanField(required=False)
    cover = serializers.ImageField(required=False, allow_null=True)


class CourseCreateSerializer(CourseWriteSerializer):
    space = serializers.PrimaryKeyRelatedField(queryset=Space.objects.all())


class CourseUpdateSerializer(CourseWriteSerializer):
    title = serializers.CharField(max_length=200, required=False)
    trainers = PrimaryKeysField(queryset=User.objects.all(), max_length=100, required=False)


class TitleSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)


class ReorderSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), max_length=500)


class ActivityWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    required = serializers.BooleanField(required=False)
    completion_rule = serializers.ChoiceField(choices=CompletionRule.choices, required=False)
    body = serializers.CharField(max_length=100000, required=False, allow_blank=True)
    media_kind = serializers.ChoiceField(
        choices=MediaKind.choices, required=False, allow_blank=True
    )
    media_file = serializers.FileField(required=False, allow_null=True)
    media_url = serializers.URLField(required=False, allow_blank=True)
    pass_mark = serializers.IntegerField(min_value=0, max_value=100, required=False)
    attempt_limit = serializers.IntegerField(min_value=0, max_value=100, required=False)
    time_limit_seconds = serializers.IntegerField(min_value=0, max_value=86400, required=False)
    link_kind = serializers.CharField(max_length=40, required=False, allow_blank=True)
    link_id = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class ActivityCreateSerializer(ActivityWriteSerializer):
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=GENERIC_KINDS)


class ChoiceInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=500)
    is_correct = serializers.BooleanField(default=False)
    feedback = serializers.CharField(max_length=500, required=False, allow_blank=True)


class QuestionCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=QuestionKind.choices)
    text = serializers.CharField(max_length=2000)
    choices = ChoiceInputSerializer(many=True, required=False)
    numeric_answer = serializers.FloatField(required=False, allow_null=True)
    tolerance = serializers.FloatField(required=False, min_value=0, default=0)
    explanation = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class AnswersSerializer(serializers.Serializer):
    """``{"answers": {"<question id>": [choice ids] | choice id | number}}``."""

    answers = serializers.DictField(child=serializers.JSONField(), allow_empty=True)


class EnrolSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )


class SubmissionSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=50000, required=False, allow_blank=True)
    file = serializers.FileField(required=False, allow_null=True)


class AnyObject(serializers.Serializer):
    """Schema placeholder: the payload functions in selectors.py define the fields."""

    id = serializers.IntegerField()


# -- lookups: what the user may not see does not exist for them -----------------------------
def _course(request: Request, pk: int) -> Course:
    return get_object_or_404(selectors.courses_visible_to(user=request.user), pk=pk)


def _content_course(request: Request, course: Course) -> None:
    if not selectors.can_view_content(user=request.user, course=course):
        from django.http import Http404

        raise Http404


def _activity(request: Request, pk: int) -> Activity:
    activity = get_object_or_404(Activity.objects.select_related("course", "module"), pk=pk)
    _content_course(request, activity.course)
    return activity


def _partial(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate a PATCH: only the fields given. A multipart or form body would otherwise
    read an absent list as empty and an absent checkbox as false (a course would lose its
    trainers, an activity its "required"): a partial update keeps what it is not given."""
    serializer = serializer_class(data=data, partial=True)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _module(request: Request, pk: int) -> Module:
    module = get_object_or_404(Module.objects.select_related("course"), pk=pk)
    _content_course(request, module.course)
    return module


def course_detail_payload(course: Course, user: Any) -> dict[str, Any]:
    data = selectors.course_payload(course)
    data["can_edit"] = selectors.can_edit_course(user=user, course=course)
    enrolment = selectors.enrolment_of(user=user, course=course)
    data["enrolment"] = selectors.enrolment_payload(enrolment) if enrolment else None
    data["can_self_enrol"] = selectors.can_self_enrol(user=user, course=course)
    if selectors.can_view_content(user=user, course=course):
        done = selectors.completed_activity_ids(user=user, course=course)
        data["modules"] = [
            {
                **selectors.module_payload(m),
                "activities": [
                    {**selectors.activity_payload(a), "completed": a.pk in done}
                    for a in m.ordered_activities
                ],
            }
            for m in selectors.course_modules(course=course)
        ]
    return data


# -- courses ---------------------------------------------------------------------------------
class CourseListView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses={200: AnyObject(many=True)})
    def get(self, request: Request) -> Response:
        courses = selectors.courses_visible_to(user=request.user).prefetch_related("trainers")
        return Response([selectors.course_payload(c) for c in courses])

    @extend_schema(request=CourseCreateSerializer, responses={201: AnyObject})
    def post(self, request: Request) -> Response:
        data = validated(CourseCreateSerializer, request.data)
        course = services.course_create(author=request.user, **data)
        return Response(course_detail_payload(course, request.user), status=201)


class CourseDetailView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses={200: AnyObject})
    def get(self, request: Request, pk: int) -> Response:
        return Response(course_detail_payload(_course(request, pk), request.user))

    @extend_schema(request=CourseUpdateSerializer, responses={200: AnyObject})
    def patch(self, request: Request, pk: int) -> Response:
        course = _course(request, pk)
        data = _partial(CourseUpdateSerializer, request.data)
        course = services.course_update(user=request.user, course=course, **data)
        return Response(course_detail_payload(course, request.user))


# -- modules and activities ------------------------------------------------------------------
class ModuleCreateView(APIView):
    @extend_schema(request=TitleSerializer, responses={201: AnyObject})
    def post(self, request: Request, pk: int) -> Response:
        course = _course(request, pk)
        data = validated(TitleSerializer, request.data)
        module = services.module_create(user=request.user, course=course, **data)
        return Response(selectors.module_payload(module), status=201)


class ModuleReorderView(APIView):
    @extend_schema(request=ReorderSerializer, responses={204: None})
    def post(self, request: Request, pk: int) -> Response:
        course = _course(request, pk)
        data = validated(ReorderSerializer, request.data)
        services.modules_reorder(user=request.user, course=course, ids=data["ids"])
        return Response(status=204)


class ModuleDetailView(APIView):
    @extend_schema(request=TitleSerializer, responses={200: AnyObject})
    def patch(self, request: Request, pk: int) -> Response:
        module = _module(request, pk)
        data = validated(TitleSerializer, request.data)
        return Response(
            selectors.module_payload(
                services.module_update(user=request.user, module=module, **data)
            )
        )

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.module_delete(user=request.user, module=_module(request, pk))
        return Response(status=204)


class ActivityCreateView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request=ActivityCreateSerializer, responses={201: AnyObject})
    def post(self, request: Request, pk: int) -> Response:
        module = _module(request, pk)
        data = validated(ActivityCreateSerializer, request.data)
        activity = services.activity_create(user=request.user, module=module, **data)
        return Response(selectors.activity_payload(activity), status=201)


class ActivityReorderView(APIView):
    @extend_schema(request=ReorderSerializer, responses={204: None})
    def post(self, request: Request, pk: int) -> Response:
        module = _module(request, pk)
        data = validated(ReorderSerializer, request.data)
        services.activities_reorder(user=request.user, module=module, ids=data["ids"])
        return Response(status=204)


class ActivityDetailView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses={200: AnyObject})
    def get(self, request: Request, pk: int) -> Response:
        return Response(selectors.activity_payload(_activity(request, pk)))

    @extend_schema(request=ActivityWriteSerializer, responses={200: AnyObject})
    def patch(self, request: Request, pk: int) -> Response:
        activity = _activity(request, pk)
        data = _partial(ActivityWriteSerializer, request.data)
        activity = services.activity_update(user=request.user, activity=activity, **data)
        return Response(selectors.activity_payload(activity))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.activity_delete(user=request.user, activity=_activity(request, pk))
        return Response(status=204)


class ActivityCompleteView(APIView):
    """The learner viewed the activity (completes activities whose rule is ``viewed``)."""

    @extend_schema(request=None, responses={200: AnyObject})
    def post(self, request: Request, pk: int) -> Response:
        activity = _activity(request, pk)
        completion = services.activity_view(user=request.user, activity=activity)
        enrolment = selectors.enrolment_of(user=request.user, course=activity.course)
        return Response(
            {
                "completed": completion is not None,
                "progress": enrolment.progress if enrolment else None,
            }
        )


class SubmissionView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request=SubmissionSerializer, responses={201: AnyObject})
    def post(self, request: Request, pk: int) -> Response:
        activity = _activity(request, pk)
        data = validated(SubmissionSerializer, request.data)
        submission = services.submission_create(user=request.user, activity=activity, **data)
        return Response({"id": submission.pk, "submitted_at": submission.submitted_at}, status=201)


# -- quizzes ---------------------------------------------------------------------------------
class QuestionListView(APIView):
    """The course's question bank, answers included: editors only."""

    def _editable(self, request: Request, pk: int) -> Course:
        course = _course(request, pk)
        if not selectors.can_edit_course(user=request.user, course=course):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("Only the course's trainers see its question bank.")
        return course

    @extend_schema(responses={200: AnyObject(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        course = self._editable(request, pk)
        questions = course.questions.prefetch_related("choices")
        return Response([selectors.question_payload(q, with_answers=True) for q in questions])

    @extend_schema(request=QuestionCreateSerializer, responses={201: AnyObject})
    def post(self, request: Request, pk: int) -> Response:
        course = _course(request, pk)
        data = validated(QuestionCreateSerializer, request.data)
        question = services.question_create(user=request.user, course=course, **data)
        return Response(selectors.question_payload(question, with_answers=True), status=201)


class QuestionDetailView(APIView):
    @extend_schema(request=QuestionCreateSerializer, responses={200: AnyObject})
    def put(self, request: Request, pk: int) -> Response:
        """Replace the question (kind, text, answers...), validated as a new one is."""
        question = get_object_or_404(Question.objects.select_related("course"), pk=pk)
        _course(request, question.course_id)
        data = validated(QuestionCreateSerializer, request.data)
        question = services.question_update(user=request.user, question=question, **data)
        question = Question.objects.prefetch_related("choices").get(pk=question.pk)
        return Response(selectors.question_payload(question, with_answers=True))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        question = get_object_or_404(Question.objects.select_related("course"), pk=pk)
        _course(request, question.course_id)
        services.question_delete(user=request.user, question=question)
        return Response(status=204)


def _attempt_response(attempt: Attempt, code: int = 200) -> Response:
    questions = None
    if attempt.submitted_at is None:
        by_id = {
            q.pk: q
            for q in Question.objects.filter(pk__in=attempt.question_ids).prefetch_related(
                "choices"
            )
        }
        questions = [by_id[i] for i in attempt.question_ids if i in by_id]
    else:
        questions = []
    return Response(selectors.attempt_payload(attempt, questions=questions), status=code)


class AttemptListView(APIView):
    @extend_schema(responses={200: AnyObject(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        activity = _activity(request, pk)
        attempts = Attempt.objects.filter(user=request.user, activity=activity)
        return Response([selectors.attempt_payload(a) for a in attempts])

    @extend_schema(request=None, responses={201: AnyObject})
    def post(self, request: Request, pk: int) -> Response:
        attempt = services.attempt_start(user=request.user, activity=_activity(request, pk))
        return _attempt_response(attempt, status.HTTP_201_CREATED)


def _own_attempt(request: Request, pk: int) -> Attempt:
    return get_object_or_404(Attempt.objects.select_related("activity"), pk=pk, user=request.user)


class AttemptDetailView(APIView):
    @extend_schema(responses={200: AnyObject})
    def get(self, request: Request, pk: int) -> Response:
        return _attempt_response(_own_attempt(request, pk))


class AttemptSubmitView(APIView):
    @extend_schema(request=AnswersSerializer, responses={200: AnyObject})
    def post(self, request: Request, pk: int) -> Response:
        attempt = _own_attempt(request, pk)
        data = validated(AnswersSerializer, request.data)
        attempt = services.attempt_submit(
            user=request.user, attempt=attempt, answers=data["answers"]
        )
        return _attempt_response(attempt)


# -- enrolments and progress -----------------------------------------------------------------
class EnrolmentListView(APIView):
    @extend_schema(responses={200: AnyObject(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        """Editors see everyone; managers their reports; a learner themselves."""
        course = _course(request, pk)
        qs = Enrolment.objects.filter(course=course).select_related("user")
        if not selectors.can_edit_course(user=request.user, course=course):
            reports = selectors.team_enrolments(manager=request.user).filter(course=course)
            qs = qs.filter(pk__in=reports.values("pk")) | qs.filter(user=request.user)
        return Response([selectors.enrolment_payload(e) for e in qs.order_by("user__username")])

    @extend_schema(request=EnrolSerializer, responses={201: AnyObject})
    def post(self, request: Request, pk: int) -> Response:
        """Enrol yourself (no ``user``) or someone else."""
        course = _course(request, pk)
        data = validated(EnrolSerializer, request.data)
        learner = data.get("user") or request.user
        enrolment = services.enrolment_create(actor=request.user, user=learner, course=course)
        return Response(selectors.enrolment_payload(enrolment), status=201)


class EnrolmentDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        enrolment = get_object_or_404(Enrolment.objects.select_related("course", "user"), pk=pk)
        if not selectors.can_see_progress_of(
            viewer=request.user, learner=enrolment.user, course=enrolment.course
        ):
            from django.http import Http404

            raise Http404
        services.enrolment_delete(actor=request.user, enrolment=enrolment)
        return Response(status=204)


class MyEnrolmentsView(APIView):
    @extend_schema(responses={200: AnyObject(many=True)})
    def get(self, request: Request) -> Response:
        rows = selectors.enrolments_of(user=request.user).select_related("user")
        return Response([selectors.enrolment_payload(e) for e in rows])


class ProgressView(APIView):
    """Each learner's progress and completed activities; learners see only their own row."""

    @extend_schema(responses={200: AnyObject})
    def get(self, request: Request, pk: int) -> Response:
        course = _course(request, pk)
        grid = selectors.progress_grid(course=course)
        if selectors.can_edit_course(user=request.user, course=course):
            rows = grid["rows"]
        else:
            report_ids = set(
                selectors.team_enrolments(manager=request.user)
                .filter(course=course)
                .values_list("user_id", flat=True)
            )
            report_ids.add(request.user.pk)
            rows = [r for r in grid["rows"] if r["user"].pk in report_ids]
        return Response(
            {
                "course": course.pk,
                "activities": [
                    {"id": a.pk, "title": a.title, "kind": a.kind, "required": a.required}
                    for a in grid["activities"]
                ],
                "learners": [
                    {
                        "user": {"id": r["user"].pk, "name": r["user"].name},
                        "progress": r["enrolment"].progress,
                        "status": r["enrolment"].status,
                        "completed": sorted(r["done"]),
                        "scores": {
                            str(a.pk): grid["scores"][(r["user"].pk, a.pk)]
                            for a in grid["activities"]
                            if (r["user"].pk, a.pk) in grid["scores"]
                        },
                    }
                    for r in rows
                ],
            }
        )


# -- live classes ----------------------------------------------------------------------------
MAX_STROKE_POINTS = 1000


class LiveClassCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    course = serializers.IntegerField(required=False, allow_null=True, default=None)
    space = serializers.IntegerField(required=False, allow_null=True, default=None)
    activity = serializers.IntegerField(required=False, allow_null=True, default=None)
    scheduled_start = DateTimeInRangeField(required=False, allow_null=True, default=None)
    scheduled_end = DateTimeInRangeField(required=False, allow_null=True, default=None)
    min_presence_percent = serializers.IntegerField(min_value=0, max_value=100, default=75)
    capacity = serializers.IntegerField(
        min_value=2, max_value=1000, required=False, allow_null=True, default=None
    )


class HandLowerSerializer(serializers.Serializer):
    user = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    everyone = serializers.BooleanField(default=False)


class LiveReactionSerializer(serializers.Serializer):
    emoji = serializers.ChoiceField(choices=services.REACTIONS)


class ControlSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=[
            "mute",
            "mute_all",
            "spotlight",
            "unspotlight",
            "lock",
            "unlock",
            "remove",
            "webinar_on",
            "webinar_off",
            "promote",
            "demote",
        ]
    )
    user = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)


class RecordingSerializer(serializers.Serializer):
    on = serializers.BooleanField()


class PollCreateSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=300)
    choices = serializers.ListField(
        child=serializers.CharField(max_length=200), min_length=2, max_length=10
    )
    anonymous = serializers.BooleanField(default=False)


class PollVoteChoiceSerializer(serializers.Serializer):
    choice = serializers.IntegerField(min_value=0, max_value=9)


class PollVoteSerializer(PollVoteChoiceSerializer):
    poll = serializers.IntegerField(min_value=1)


class PollRefSerializer(serializers.Serializer):
    poll = serializers.IntegerField(min_value=1)


class PointField(serializers.ListField):
    """``[x, y]`` in board coordinates (0..1 of the board's width and height)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(
            child=serializers.FloatField(min_value=0, max_value=1), min_length=2, max_length=2
        )
        super().__init__(**kwargs)


class StrokeSerializer(serializers.Serializer):
    points = serializers.ListField(child=PointField(), min_length=1, max_length=MAX_STROKE_POINTS)
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", default="#222222")
    width = serializers.IntegerField(min_value=1, max_value=40, default=3)


class BreakoutOpenSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=1, max_value=services.MAX_BREAKOUT_ROOMS)
    minutes = serializers.IntegerField(min_value=0, max_value=240, default=0)
    # {"<user id>": <room number>}; everyone not listed is placed at random.
    assignments = serializers.DictField(
        child=serializers.IntegerField(min_value=1), required=False, default=dict
    )

    def validate_assignments(self, value: dict[str, int]) -> dict[int, int]:
        try:
            return {int(k): v for k, v in value.items()}
        except ValueError:
            raise serializers.ValidationError("keys must be user ids") from None


class BreakoutMessageSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=500)


class BreakoutSaySerializer(serializers.Serializer):
    body = serializers.CharField(max_length=1000)


def _live_class(request: Request, pk: int) -> LiveClass:
    """A class the user has a role in; any other does not exist for them."""
    live_class = get_object_or_404(LiveClass.objects.select_related("course"), pk=pk)
    if selectors.liveclass_role(request.user, live_class) is None:
        raise Http404
    return live_class


def _poll(request: Request, pk: int, poll_pk: int) -> Poll:
    return get_object_or_404(Poll, pk=poll_pk, live_class=_live_class(request, pk))


class LiveClassListView(APIView):
    """``GET ?course=<id>``: the classes of a course (not ended first); ``POST``: a trainer
    creates one (ad hoc, or planned with a schedule)."""

    @extend_schema(responses={200: AnyObject(many=True)})
    def get(self, request: Request) -> Response:
        course_id = query_id(request, "course", required=True)
        course = _course(request, course_id)
        _content_course(request, course)
        classes = LiveClass.objects.filter(course=course).prefetch_related("trainers")
        return Response([selectors.liveclass_payload(c) for c in classes])

    @extend_schema(request=LiveClassCreateSerializer, responses={201: AnyObject})
    def post(self, request: Request) -> Response:
        data = validated(LiveClassCreateSerializer, request.data)
        course_id = data.pop("course")
        course = _course(request, course_id) if course_id else None
        space_id = data.pop("space")
        if course is None:
            if not space_id:
                raise serializers.ValidationError({"space": "give a course or a space"})
            space = get_object_or_404(Space, pk=space_id)
        else:
            space = course.space
        activity_id = data.pop("activity")
        activity = get_object_or_404(Activity, pk=activity_id) if activity_id else None
        live_class = services.liveclass_create(
            actor=request.user, space=space, course=course, activity=activity, **data
        )
        return Response(selectors.liveclass_payload(live_class), status=201)


class LiveClassDetailView(APIView):
    @extend_schema(responses={200: AnyObject})
    def get(self, request: Request, pk: int) -> Response:
        return Response(selectors.liveclass_payload(_live_class(request, pk)))


class LiveClassStateView(APIView):
    """Everything the room shows at once; follow the topic from ``last_event_id``."""

    @extend_schema(responses={200: AnyObject})
    def get(self, request: Request, pk: int) -> Response:
        live_class = _live_class(request, pk)
        return Response(selectors.liveclass_state(live_class, viewer=request.user))


class LiveClassAttendanceView(APIView):
    """Join and leave times per participant (trainers of the class)."""

    @extend_schema(responses={200: AnyObject(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        live_class = _live_class(request, pk)
        if not selectors.is_liveclass_trainer(request.user, live_class):
            raise PermissionDenied(_("Only the trainers of this class may see its attendance."))
        return Response(selectors.attendance_rows(live_class))


def _live_action(
    name: str,
    run: Any,
    serializer: type[serializers.Serializer] | None = None,
    *,
    status_code: int = 200,
) -> type[APIView]:
    """A ``POST`` endpoint over one live-class service: the same serializer and service as
    the topic's ``act`` of the same name."""

    class LiveClassActionView(APIView):
        @extend_schema(
            operation_id=f"liveclass_{name}",
            request=serializer,
            responses={status_code: AnyObject},
        )
        def post(self, request: Request, pk: int, **kwargs: Any) -> Response:
            data = validated(serializer, request.data) if serializer else {}
            result = run(request, pk, data, **kwargs)
            return Response(result if result is not None else {}, status=status_code)

    LiveClassActionView.__name__ = LiveClassActionView.__qualname__ = (
        "LiveClass" + "".join(p.title() for p in name.split("_")) + "View"
    )
    return LiveClassActionView


def _join(request: Request, pk: int, data: dict[str, Any]) -> dict[str, Any]:
    """A member of the class's space who has no place in it (a session's waiting list, a
    cancelled registration) is told so (403, from the service); anyone else gets a 404."""
    live_class = get_object_or_404(LiveClass.objects.select_related("course"), pk=pk)
    if not is_space_member(user=request.user, space=live_class.space_id):
        raise Http404
    services.liveclass_join(user=request.user, live_class=live_class)
    return selectors.liveclass_state(live_class, viewer=request.user)


def _leave(request: Request, pk: int, data: dict[str, Any]) -> None:
    services.liveclass_leave(user=request.user, live_class=_live_class(request, pk))


def _start(request: Request, pk: int, data: dict[str, Any]) -> dict[str, Any]:
    live_class = services.liveclass_start(actor=request.user, live_class=_live_class(request, pk))
    return selectors.liveclass_payload(live_class)


def _end(request: Request, pk: int, data: dict[str, Any]) -> dict[str, Any]:
    live_class = services.liveclass_end(actor=request.user, live_class=_live_class(request, pk))
    return selectors.liveclass_payload(live_class)


def _hand_raise(request: Request, pk: int, data: dict[str, Any]) -> dict[str, Any]:
    return {"hands": services.hand_raise(user=request.user, live_class=_live_class(request, pk))}


def _hand_lower(request: Request, pk: int, data: dict[str, Any]) -> dict[str, Any]:
    hands = services.hand_lower(
        actor=request.user,
        live_class=_live_class(request, pk),
        user_id=data["user"],
        everyone=data["everyone"],
    )
    return {"hands": hands}


def _react(request: Request, pk: int, data: dict[str, Any]) -> None:
    services.liveclass_react(
        user=request.user, live_class=_live_class(request, pk), emoji=data["emoji"]
    )


def _control(request: Request, pk: int, data: dict[str, Any]) -> dict[str, Any]:
    live_class = _live_class(request, pk)
    if data["action"] == "remove":
        target = get_object_or_404(User, pk=data["user"] or 0)
        services.liveclass_remove(actor=request.user, live_class=live_class, user=target)
    else:
        live_class = services.liveclass_control(
            actor=request.user, live_class=live_class, action=data["action"], user_id=data["user"]
        )
    return selectors.liveclass_payload(live_class)


def _recording(request: Request, pk: int, data: dict[str, Any]) -> dict[str, Any]:
    live_class = services.liveclass_set_recording(
        actor=request.user, live_class=_live_class(request, pk), on=data["on"]
    )
    return selectors.liveclass_payload(live_class)


def _poll_vote(request: Request, pk: int, data: dict[str, Any], poll_pk: int) -> dict[str, Any]:
    poll = services.poll_vote(
        user=request.user, poll=_poll(request, pk, poll_pk), choice=data["choice"]
    )
    return selectors.poll_payload(poll, viewer=request.user)


def _poll_close(request: Request, pk: int, data: dict[str, Any], poll_pk: int) -> dict[str, Any]:
    poll = services.poll_close(actor=request.user, poll=_poll(request, pk, poll_pk))
    return selectors.poll_payload(poll, viewer=request.user)


def _room_param(request: Request) -> int:
    room = parse_id(request.query_params.get("room", "0"), maximum=services.MAX_BREAKOUT_ROOMS)
    if room is None:
        raise serializers.ValidationError({"room": "a breakout room number, or 0"})
    return room


def _stroke_undo(request: Request, pk: int, data: dict[str, Any]) -> dict[str, Any]:
    removed = services.stroke_undo(
        user=request.user, live_class=_live_class(request, pk), room=_room_param(request)
    )
    return {"removed": removed}


def _breakout_broadcast(request: Request, pk: int, data: dict[str, Any]) -> None:
    services.breakout_broadcast(
        actor=request.user, live_class=_live_class(request, pk), message=data["message"]
    )


def _breakout_close(request: Request, pk: int, data: dict[str, Any]) -> dict[str, Any]:
    live_class = services.breakout_close(actor=request.user, live_class=_live_class(request, pk))
    return selectors.liveclass_payload(live_class)


def _breakout_open(request: Request, pk: int, data: dict[str, Any]) -> dict[str, Any]:
    live_class = services.breakout_open(
        actor=request.user, live_class=_live_class(request, pk), **data
    )
    return selectors.liveclass_payload(live_class)


LiveClassJoinView = _live_action("join", _join)
LiveClassLeaveView = _live_action("leave", _leave)
LiveClassStartView = _live_action("start", _start)
LiveClassEndView = _live_action("end", _end)
HandRaiseView = _live_action("hand_raise", _hand_raise)
HandLowerView = _live_action("hand_lower", _hand_lower, HandLowerSerializer)
ReactionView = _live_action("react", _react, LiveReactionSerializer)
ControlView = _live_action("control", _control, ControlSerializer)
RecordingView = _live_action("recording", _recording, RecordingSerializer)
PollVoteView = _live_action("poll_vote", _poll_vote, PollVoteChoiceSerializer)
PollCloseView = _live_action("poll_close", _poll_close)
StrokeUndoView = _live_action("stroke_undo", _stroke_undo)
BreakoutBroadcastView = _live_action(
    "breakout_broadcast", _breakout_broadcast, BreakoutMessageSerializer
)
BreakoutCloseView = _live_action("breakout_close", _breakout_close)
BreakoutOpenView = _live_action(
    "breakout_open", _breakout_open, BreakoutOpenSerializer, status_code=201
)


class PollListView(APIView):
    @extend_schema(responses={200: AnyObject(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        live_class = _live_class(request, pk)
        return Response(
            [selectors.poll_payload(p, viewer=request.user) for p in live_class.polls.all()]
        )

    @extend_schema(request=PollCreateSerializer, responses={201: AnyObject})
    def post(self, request: Request, pk: int) -> Response:
        data = validated(PollCreateSerializer, request.data)
        poll = services.poll_create(actor=request.user, live_class=_live_class(request, pk), **data)
        return Response(selectors.poll_payload(poll, viewer=request.user), status=201)


class WhiteboardView(APIView):
    """``?room=<n>`` for a breakout room's board (0: the main one)."""

    @extend_schema(responses={200: AnyObject(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        live_class = _live_class(request, pk)
        room = _room_param(request)
        participant = selectors.participant_of(request.user, live_class)
        if room and not (
            selectors.is_liveclass_trainer(request.user, live_class)
            or (participant is not None and participant.breakout_room == room)
        ):
            raise PermissionDenied(_("You are not in this breakout room."))
        return Response(selectors.board_strokes(live_class, room))

    @extend_schema(request=StrokeSerializer, responses={201: AnyObject})
    def post(self, request: Request, pk: int) -> Response:
        data = validated(StrokeSerializer, request.data)
        stroke = services.stroke_add(
            user=request.user,
            live_class=_live_class(request, pk),
            data=data,
            room=_room_param(request),
        )
        return Response(selectors.stroke_payload(stroke), status=201)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.board_clear(
            actor=request.user, live_class=_live_class(request, pk), room=_room_param(request)
        )
        return Response(status=204)


# -- due dates -------------------------------------------------------------------------------
class DueDefaultSerializer(serializers.Serializer):
    """A fixed date or a number of days after the enrolment (both null: no due date)."""

    due_date = DateTimeInRangeField(required=False, allow_null=True, default=None)
    due_days = serializers.IntegerField(
        min_value=1, max_value=services.MAX_DUE_DAYS, required=False, allow_null=True, default=None
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("due_date") and data.get("due_days"):
            raise serializers.ValidationError(_("Give a due date or a number of days, not both."))
        return data


class EnrolmentDueSerializer(serializers.Serializer):
    """This enrolment's own due date; null: back to the course's default."""

    due_at = DateTimeInRangeField(allow_null=True)


def _due_payload(obj: Course | Activity) -> dict[str, Any]:
    return {
        "id": obj.pk,
        "due_date": obj.due_date.isoformat() if obj.due_date else None,
        "due_days": obj.due_days,
    }


class DueDefaultView(APIView):
    """The one shape of a default due date set over REST (a fixed date or a number of days
    after each enrolment, the course's editors): a subclass names how it finds its object
    (``find``, a 404 for what the caller may not see) and the service that sets it
    (``apply``, given the object as its ``target`` keyword); the body, the validation and
    the answer are the same."""

    parser_classes = [JSONParser]
    find: Callable[[Request, int], Course | Activity]
    apply: Callable[..., Course | Activity]
    target: str

    @extend_schema(request=DueDefaultSerializer, responses={200: AnyObject})
    def put(self, request: Request, pk: int) -> Response:
        obj = type(self).find(request, pk)
        data = validated(DueDefaultSerializer, request.data)
        saved = type(self).apply(actor=request.user, **{self.target: obj}, **data)
        return Response(_due_payload(saved))


class CourseDueView(DueDefaultView):
    """The course's default due date of its enrolments (its editors)."""

    find = staticmethod(_course)
    apply = staticmethod(services.course_due_set)
    target = "course"


class ActivityDueView(DueDefaultView):
    """An activity's due date for everyone enrolled (the course's editors)."""

    find = staticmethod(_activity)
    apply = staticmethod(services.activity_due_set)
    target = "activity"


class EnrolmentDueView(APIView):
    """One enrolment's due date: the course's editors, the person's manager."""

    parser_classes = [JSONParser]

    @extend_schema(request=EnrolmentDueSerializer, responses={200: AnyObject})
    def put(self, request: Request, pk: int) -> Response:
        enrolment = get_object_or_404(Enrolment.objects.select_related("course", "user"), pk=pk)
        if not selectors.can_see_progress_of(
            viewer=request.user, learner=enrolment.user, course=enrolment.course
        ):
            raise Http404
        data = validated(EnrolmentDueSerializer, request.data)
        enrolment = services.enrolment_due_set(
            actor=request.user, enrolment=enrolment, due_at=data["due_at"]
        )
        return Response(selectors.enrolment_payload(enrolment))
