"""Pages of classrooms: catalogue, course, editor, activities, quizzes, progress, reports."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from classrooms import charts, reports, selectors, services
from classrooms.api import course_detail_payload
from classrooms.models import (
    GENERIC_KINDS,
    Activity,
    ActivityKind,
    Attempt,
    CompletionRule,
    Course,
    Enrolment,
    LiveClass,
    MediaKind,
    Module,
    Question,
    QuestionKind,
    Submission,
)
from hub import sanitize
from hub.accounts.models import Role
from hub.accounts.selectors import reports_of, spaces_of
from hub.params import parse_id, validate_datetime_in_range


# -- forms -----------------------------------------------------------------------------------
class CourseForm(forms.ModelForm):
    class Meta:
        model = Course
        fields = ["space", "title", "summary", "cover", "language", "published", "self_enrolment"]
        widgets = {"summary": forms.Textarea(attrs={"rows": 6, "data-markdown": "1"})}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["space"].queryset = spaces_of(user=user)
        if self.instance.pk:
            del self.fields["space"]


class ActivityForm(forms.ModelForm):
    media_url = forms.URLField(required=False, assume_scheme="https", label=gettext_lazy("Link"))

    class Meta:
        model = Activity
        fields = [
            "title", "required", "completion_rule", "body", "media_kind", "media_file",
            "media_url", "pass_mark", "attempt_limit", "time_limit_seconds", "link_kind",
            "link_id",
        ]  # fmt: skip
        widgets = {"body": forms.Textarea(attrs={"rows": 14, "data-markdown": "1"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.instance.kind
        keep = {"title", "required", "completion_rule", "body"}
        if kind == ActivityKind.MEDIA:
            keep |= {"media_kind", "media_file", "media_url"}
        elif kind == ActivityKind.QUIZ:
            keep |= {"pass_mark", "attempt_limit", "time_limit_seconds"}
        elif kind in (ActivityKind.SESSION, ActivityKind.LIVE_CLASS):
            keep |= {"link_kind", "link_id"}
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]


class NewActivityForm(forms.Form):
    module = forms.ModelChoiceField(queryset=Module.objects.none(), label=gettext_lazy("Module"))
    kind = forms.ChoiceField(choices=GENERIC_KINDS, label=gettext_lazy("Kind"))
    title = forms.CharField(max_length=200, label=gettext_lazy("Title"))
    media_url = forms.URLField(
        required=False,
        label=gettext_lazy("Link (media)"),
        assume_scheme="https",
    )
    package = forms.FileField(
        required=False,
        label=gettext_lazy("Package (SCORM 1.2, SCORM 2004 or cmi5 zip)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )

    def __init__(self, *args: Any, course: Course, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["module"].queryset = course.modules.all()


class QuestionForm(forms.Form):
    kind = forms.ChoiceField(choices=QuestionKind.choices, label=gettext_lazy("Kind"))
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    choices = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label=gettext_lazy("Answers"),
        help_text=gettext_lazy(
            "One per line; start the correct ones with *; add feedback after a |."
        ),
    )
    numeric_answer = forms.FloatField(required=False, label=gettext_lazy("Expected number"))
    tolerance = forms.FloatField(required=False, min_value=0, initial=0)
    explanation = forms.CharField(required=False, max_length=2000)

    @staticmethod
    def initial_for(question: Question) -> dict[str, Any]:
        """The form's fields for an existing question (its answers written back as lines)."""
        lines = [
            ("*" if c.is_correct else "") + c.text + (f" | {c.feedback}" if c.feedback else "")
            for c in question.choices.all()
        ]
        return {
            "kind": question.kind,
            "text": question.text,
            "choices": "\n".join(lines),
            "numeric_answer": question.numeric_answer,
            "tolerance": question.tolerance,
            "explanation": question.explanation,
        }

    def parsed_choices(self) -> list[dict[str, Any]]:
        out = []
        for line in (self.cleaned_data.get("choices") or "").splitlines():
            line = line.strip()
            if not line:
                continue
            correct = line.startswith("*")
            text, _sep, feedback = line.lstrip("*").partition("|")
            out.append({"text": text.strip(), "is_correct": correct, "feedback": feedback.strip()})
        return out


class DueForm(forms.Form):
    """A course's default enrolment due date or an activity's due date: none, a fixed day
    (due at 23:59 that day, the site's time zone, as paths do), or N days after each
    person's enrolment. The services (``course_due_set``, ``activity_due_set``) decide."""

    NONE, DATE, DAYS = "none", "date", "days"
    mode = forms.ChoiceField(
        choices=[
            (NONE, gettext_lazy("No due date")),
            (DATE, gettext_lazy("On a date")),
            (DAYS, gettext_lazy("A number of days after enrolment")),
        ],
        widget=forms.RadioSelect,
        label=gettext_lazy("Due date"),
        initial=NONE,
    )
    due_date = forms.DateField(
        required=False,
        label=gettext_lazy("Due on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    due_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=services.MAX_DUE_DAYS,
        label=gettext_lazy("Days after enrolment"),
    )

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        # The field of the mode not chosen is ignored, not validated: a stale "0" left in
        # the days box must not stop a date from being saved.
        if data is not None:
            data = data.copy()
            mode = data.get("mode")
            if mode != self.DATE:
                data["due_date"] = ""
            if mode != self.DAYS:
                data["due_days"] = ""
        super().__init__(data, *args, **kwargs)

    @classmethod
    def initial_for(cls, obj: Course | Activity) -> dict[str, Any]:
        """The form's fields for what the course or activity has now."""
        if obj.due_date:
            return {"mode": cls.DATE, "due_date": timezone.localdate(obj.due_date)}
        if obj.due_days:
            return {"mode": cls.DAYS, "due_days": obj.due_days}
        return {"mode": cls.NONE}

    def clean_due_date(self) -> datetime | None:
        return _end_of_day(self.cleaned_data.get("due_date"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        mode = data.get("mode")
        if mode == self.DATE and not data.get("due_date") and "due_date" not in self.errors:
            self.add_error("due_date", _("Choose the day it is due."))
        if mode == self.DAYS and not data.get("due_days") and "due_days" not in self.errors:
            self.add_error("due_days", _("Give the number of days."))
        return data

    def service_kwargs(self) -> dict[str, Any]:
        """``due_date`` / ``due_days`` as the services take them (the other one None)."""
        mode = self.cleaned_data["mode"]
        return {
            "due_date": self.cleaned_data["due_date"] if mode == self.DATE else None,
            "due_days": self.cleaned_data["due_days"] if mode == self.DAYS else None,
        }


class EnrolmentDueForm(forms.Form):
    """One enrolment's own due date (the ``clear`` button: back to the course's default)."""

    due_at = forms.DateField(
        required=False,
        label=gettext_lazy("Due on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, clearing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clearing = clearing
        self.enrolment_id: int | None = None  # the row it belongs to on the progress page

    def clean_due_at(self) -> datetime | None:
        if self.clearing:
            return None
        if not self.cleaned_data.get("due_at"):
            raise ValidationError(_("Choose the day it is due."))
        return _end_of_day(self.cleaned_data["due_at"])


def _end_of_day(day: date | None) -> datetime | None:
    """23:59 of that day in the site's time zone; the dates the services accept only
    (1970 to 2099: beyond, the time-zone arithmetic could overflow)."""
    if day is None:
        return None
    naive = datetime.combine(day, time(23, 59))
    validate_datetime_in_range(naive)
    return timezone.make_aware(naive)


# -- helpers ---------------------------------------------------------------------------------
def _visible_course(request: HttpRequest, pk: int) -> Course:
    return get_object_or_404(selectors.courses_visible_to(user=request.user), pk=pk)


def _editable_course(request: HttpRequest, pk: int) -> Course:
    course = _visible_course(request, pk)
    if not selectors.can_edit_course(user=request.user, course=course):
        raise PermissionDenied
    return course


def _content_activity(request: HttpRequest, pk: int) -> Activity:
    activity = get_object_or_404(Activity.objects.select_related("course", "module"), pk=pk)
    if not selectors.can_view_content(user=request.user, course=activity.course):
        raise Http404
    return activity


def _errors(form: forms.BaseForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errs in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errs)
    else:
        form.add_error(None, exc)


# -- catalogue and course ----------------------------------------------------------------------
@login_required
def course_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    enrolments = list(selectors.enrolments_of(user=user))
    mine = {e.course_id for e in enrolments}
    trained = list(selectors.courses_trained_by(user=user))
    catalogue = [
        c
        for c in selectors.courses_visible_to(user=user).filter(published=True)
        if c.pk not in mine
    ]
    return render(
        request,
        "classrooms/course_list.html",
        {
            "enrolments": enrolments,
            "trained": trained,
            "catalogue": catalogue,
            "can_create": selectors.can_create_course(user=user),
        },
    )


@login_required
def course_new(request: HttpRequest) -> HttpResponse:
    if not selectors.can_create_course(user=request.user):
        raise PermissionDenied
    form = CourseForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            course = services.course_create(author=request.user, **data)
        except ValidationError as exc:
            _errors(form, exc)
        else:
            return redirect("course-edit", course.pk)
    return render(request, "classrooms/course_form.html", {"form": form})


@login_required
def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    course = _visible_course(request, pk)
    data = course_detail_payload(course, request.user)
    return render(
        request,
        "classrooms/course_detail.html",
        {
            "course": course,
            "data": data,
            "can_watch": selectors.can_watch_progress(user=request.user, course=course),
            # Links only where the reader may go (a manager watching reports may not
            # enter their class: no link that answers 404).
            "live_classes": selectors.live_classes_open_to(user=request.user, course=course),
            "joinable": (
                selectors.joinable_live_class_activities(user=request.user, course=course)
                if data.get("modules") is not None and not data["can_edit"]
                else set()
            ),
            "ended_live_classes": (
                selectors.ended_live_classes_of_course(course=course) if data["can_edit"] else []
            ),
        },
    )


@login_required
@require_POST
def course_enrol(request: HttpRequest, pk: int) -> HttpResponse:
    course = _visible_course(request, pk)
    try:
        services.enrolment_create(actor=request.user, user=request.user, course=course)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("You are enrolled."))
    return redirect(course)


@login_required
@require_POST
def course_enrol_other(request: HttpRequest, pk: int) -> HttpResponse:
    """A trainer or a manager enrols someone (the people picker on the progress page)."""
    course = _visible_course(request, pk)
    from hub.accounts.models import User

    learner = get_object_or_404(User, pk=request.POST.get("user") or 0, is_active=True)
    try:
        services.enrolment_create(actor=request.user, user=learner, course=course)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(name)s is enrolled.") % {"name": learner.name})
    return redirect(request.POST.get("next") or reverse("course-progress", args=[course.pk]))


# -- editor ----------------------------------------------------------------------------------
@login_required
def course_edit(request: HttpRequest, pk: int) -> HttpResponse:
    course = _editable_course(request, pk)
    form = CourseForm(
        request.POST or None, request.FILES or None, instance=course, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k in services.COURSE_FIELDS}
        if fields.get("cover") is False:  # "clear" ticked
            fields["cover"] = ""
        course.refresh_from_db()
        try:
            services.course_update(user=request.user, course=course, **fields)
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, _("Course saved."))
            return redirect("course-edit", course.pk)
    return _course_edit_page(request, course, form=form)


def _course_edit_page(
    request: HttpRequest,
    course: Course,
    *,
    form: CourseForm | None = None,
    due_form: DueForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The editor page; each of its forms is bound when it is the one that came back."""
    return render(
        request,
        "classrooms/course_edit.html",
        {
            "course": course,
            "form": form or CourseForm(instance=course, user=request.user),
            "due_form": due_form
            or DueForm(initial=DueForm.initial_for(course), auto_id="course-due-%s"),
            "modules": selectors.course_modules(course=course),
            "new_activity": NewActivityForm(course=course),
            "kinds": GENERIC_KINDS,
        },
        status=status,
    )


@login_required
@require_POST
def course_due(request: HttpRequest, pk: int) -> HttpResponse:
    """The course's default enrolment due date, through the same service as REST."""
    course = _editable_course(request, pk)
    form = DueForm(request.POST, auto_id="course-due-%s")
    if form.is_valid():
        try:
            services.course_due_set(actor=request.user, course=course, **form.service_kwargs())
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, _("Due date saved."))
            return redirect(reverse("course-edit", args=[course.pk]) + "#due-title")
    return _course_edit_page(request, course, due_form=form, status=400)


@login_required
@require_POST
def module_add(request: HttpRequest, pk: int) -> HttpResponse:
    course = _editable_course(request, pk)
    try:
        services.module_create(
            user=request.user, course=course, title=request.POST.get("title", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("course-edit", course.pk)


@login_required
@require_POST
def activity_add(request: HttpRequest, pk: int) -> HttpResponse:
    course = _editable_course(request, pk)
    form = NewActivityForm(request.POST, request.FILES, course=course)
    if not form.is_valid():
        messages.error(request, _("Choose a module, a kind and a title."))
        return redirect("course-edit", course.pk)
    data = form.cleaned_data
    extra: dict[str, Any] = {}
    if data["kind"] == ActivityKind.MEDIA:
        extra = {"media_url": data["media_url"], "media_kind": MediaKind.VIDEO}
    if data["kind"] == ActivityKind.PACKAGE:
        return _package_activity_add(request, course, data)
    try:
        activity = services.activity_create(
            user=request.user,
            module=data["module"],
            title=data["title"],
            kind=data["kind"],
            **extra,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("course-edit", course.pk)
    return redirect("activity-edit", activity.pk)


def _package_activity_add(
    request: HttpRequest, course: Course, data: dict[str, Any]
) -> HttpResponse:
    """A package activity: the zip is checked (integrations/packages.py) and unpacked with
    the activity in one transaction; a refused zip leaves no activity behind."""
    from django.db import transaction

    from integrations.scorm import package_add

    upload = data.get("package")
    if not upload:
        messages.error(request, _("Choose the package's zip file."))
        return redirect("course-edit", course.pk)
    try:
        with transaction.atomic():
            activity = services.activity_create(
                user=request.user, module=data["module"], title=data["title"], kind=data["kind"]
            )
            package_add(user=request.user, activity=activity, upload=upload, size=upload.size)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("course-edit", course.pk)
    messages.success(request, _("Package added."))
    return redirect("activity-detail", activity.pk)


@login_required
@require_POST
def outline_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a module or an activity one place up or down (the form fallback of reorder)."""
    course = _editable_course(request, pk)
    what, target, direction = (
        request.POST.get("what"),
        request.POST.get("id"),
        request.POST.get("dir"),
    )
    step = -1 if direction == "up" else 1
    if what == "module":
        ids = list(course.modules.values_list("id", flat=True))
        container = None
    else:
        activity = get_object_or_404(Activity, pk=target or 0, course=course)
        container = activity.module
        ids = list(container.activities.values_list("id", flat=True))
    try:
        i = ids.index(int(target or 0))
    except ValueError:
        raise Http404 from None
    j = i + step
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
        if container is None:
            services.modules_reorder(user=request.user, course=course, ids=ids)
        else:
            services.activities_reorder(user=request.user, module=container, ids=ids)
    return redirect(reverse("course-edit", args=[course.pk]) + f"#{what}-{target}")


@login_required
@require_POST
def outline_delete(request: HttpRequest, pk: int) -> HttpResponse:
    course = _editable_course(request, pk)
    if request.POST.get("what") == "module":
        module = get_object_or_404(Module, pk=request.POST.get("id") or 0, course=course)
        services.module_delete(user=request.user, module=module)
    else:
        activity = get_object_or_404(Activity, pk=request.POST.get("id") or 0, course=course)
        services.activity_delete(user=request.user, activity=activity)
    return redirect("course-edit", course.pk)


@login_required
def activity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _content_activity(request, pk)
    course = activity.course
    if not selectors.can_edit_course(user=request.user, course=course):
        raise PermissionDenied
    form = ActivityForm(request.POST or None, request.FILES or None, instance=activity)
    bank = list(course.questions.all()) if activity.kind == ActivityKind.QUIZ else []
    if request.method == "POST" and form.is_valid():
        fields = dict(form.cleaned_data)
        if fields.get("media_file") is False:
            fields["media_file"] = ""
        activity = Activity.objects.select_related("course").get(pk=activity.pk)
        try:
            services.activity_update(user=request.user, activity=activity, **fields)
            if activity.kind == ActivityKind.QUIZ:
                picked = (parse_id(i) for i in request.POST.getlist("questions"))
                ids = [i for i in picked if i is not None]
                services.activity_questions_set(
                    user=request.user, activity=activity, question_ids=ids
                )
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, _("Activity saved."))
            return redirect("course-edit", course.pk)
    return _activity_edit_page(request, activity, form=form, bank=bank)


def _activity_edit_page(
    request: HttpRequest,
    activity: Activity,
    *,
    form: ActivityForm | None = None,
    due_form: DueForm | None = None,
    bank: list[Question] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The activity's editor page; each of its forms is bound when it is the one that came
    back."""
    course = activity.course
    if bank is None:
        bank = list(course.questions.all()) if activity.kind == ActivityKind.QUIZ else []
    chosen = set(activity.questions.values_list("id", flat=True))
    return render(
        request,
        "classrooms/activity_edit.html",
        {
            "activity": activity,
            "course": course,
            "form": form or ActivityForm(instance=activity),
            "due_form": due_form
            or DueForm(initial=DueForm.initial_for(activity), auto_id="activity-due-%s"),
            "bank": bank,
            "chosen": chosen,
        },
        status=status,
    )


@login_required
@require_POST
def activity_due(request: HttpRequest, pk: int) -> HttpResponse:
    """The activity's due date for everyone enrolled, through the same service as REST."""
    activity = _content_activity(request, pk)
    if not selectors.can_edit_course(user=request.user, course=activity.course):
        raise PermissionDenied
    form = DueForm(request.POST, auto_id="activity-due-%s")
    if form.is_valid():
        try:
            activity = services.activity_due_set(
                actor=request.user, activity=activity, **form.service_kwargs()
            )
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, _("Due date saved."))
            return redirect(reverse("activity-edit", args=[activity.pk]) + "#due-title")
    return _activity_edit_page(request, activity, due_form=form, status=400)


@login_required
@require_POST
def markdown_preview(request: HttpRequest) -> JsonResponse:
    """The editor's live preview: the same sanitising policy that stores the text.

    A text longer than any the editor stores (an activity's body) is a 400, not rendered.
    """
    if not selectors.can_create_course(user=request.user):
        raise PermissionDenied
    text = request.POST.get("text", "")
    try:
        html = sanitize.markdown(text, max_chars=services.BODY_MAX_CHARS, field="text")
    except ValidationError as exc:
        error = {"code": "invalid", "message": exc.messages[0], "details": exc.message_dict}
        return JsonResponse({"error": error}, status=400)
    return JsonResponse({"html": html})


@login_required
def question_bank(request: HttpRequest, pk: int) -> HttpResponse:
    """The course's question bank: add, edit (``?edit=<id>``, then a POST naming the
    question) and delete questions. Editors only."""
    course = _editable_course(request, pk)
    editing: Question | None = None
    edit_id = parse_id(request.POST.get("question") or request.GET.get("edit") or "")
    if edit_id is not None:
        editing = get_object_or_404(course.questions.prefetch_related("choices"), pk=edit_id)
    if request.method == "POST":
        form = QuestionForm(request.POST)
        if request.POST.get("delete"):
            question = get_object_or_404(
                Question, pk=parse_id(request.POST["delete"]) or 0, course=course
            )
            services.question_delete(user=request.user, question=question)
            return redirect("question-bank", course.pk)
        if form.is_valid():
            fields = {
                "kind": form.cleaned_data["kind"],
                "text": form.cleaned_data["text"],
                "choices": form.parsed_choices(),
                "numeric_answer": form.cleaned_data["numeric_answer"],
                "tolerance": form.cleaned_data["tolerance"] or 0,
                "explanation": form.cleaned_data["explanation"],
            }
            try:
                if editing is not None:
                    services.question_update(user=request.user, question=editing, **fields)
                else:
                    services.question_create(user=request.user, course=course, **fields)
            except ValidationError as exc:
                _errors(form, exc)
            else:
                messages.success(request, _("Question saved.") if editing else _("Question added."))
                return redirect("question-bank", course.pk)
    else:
        form = QuestionForm(initial=QuestionForm.initial_for(editing) if editing else None)
    questions = course.questions.prefetch_related("choices")
    return render(
        request,
        "classrooms/question_bank.html",
        {"course": course, "form": form, "questions": questions, "editing": editing},
    )


# -- learner flow ----------------------------------------------------------------------------
@login_required
def activity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The activity's page. A GET changes nothing: a lesson or media item completed by
    viewing is marked done by the page's own script, which POSTs once the page is shown
    (an ``<img src="/activities/15/">`` in someone's chat message completes nothing)."""
    activity = _content_activity(request, pk)
    user = request.user
    enrolment = selectors.enrolment_of(user=user, course=activity.course)
    done = activity.pk in selectors.completed_activity_ids(user=user, course=activity.course)
    context: dict[str, Any] = {
        "activity": activity,
        "course": activity.course,
        "enrolment": enrolment,
        "done": done,
        "can_edit": selectors.can_edit_course(user=user, course=activity.course),
        # Done before but asked again (a new cycle of a learning path): viewed again counts.
        "complete_on_view": (
            enrolment is not None
            and activity.completion_rule == CompletionRule.VIEWED
            and (not done or selectors.to_do_again(user=user, activity=activity))
        ),
    }
    # Lessons are no dead ends: the previous and next activity in the course's reading order.
    in_order = selectors.ordered_activities(course=activity.course)
    here = next(i for i, a in enumerate(in_order) if a.pk == activity.pk)
    context["previous_activity"] = in_order[here - 1] if here > 0 else None
    context["next_activity"] = in_order[here + 1] if here + 1 < len(in_order) else None
    if activity.kind == ActivityKind.QUIZ:
        attempts = list(Attempt.objects.filter(user=user, activity=activity))
        context["attempts"] = attempts
        used = selectors.attempts_used(user=user, activity=activity)
        context["attempts_left"] = (
            max(activity.attempt_limit - used, 0) if activity.attempt_limit else None
        )
    if activity.kind == ActivityKind.ASSIGNMENT:
        context["submission"] = (
            Submission.objects.filter(user=user, activity=activity).order_by("-number").first()
        )
    return render(request, "classrooms/activity_detail.html", context)


@login_required
@require_POST
def submission_post(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _content_activity(request, pk)
    try:
        services.submission_create(
            user=request.user,
            activity=activity,
            text=request.POST.get("text", "")[:50000],
            file=request.FILES.get("file"),
        )
    except (ValidationError, services.Conflict) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc.detail)])))
    else:
        messages.success(request, _("Submitted."))
    return redirect(activity)


@login_required
@require_POST
def attempt_new(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _content_activity(request, pk)
    try:
        attempt = services.attempt_start(user=request.user, activity=activity)
    except services.Conflict as exc:
        messages.error(request, str(exc.detail))
        return redirect(activity)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(activity)
    return redirect("attempt", attempt.pk)


def _answers_from_post(post: Any, questions: list[Question]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for q in questions:
        key = f"q{q.pk}"
        if q.kind == QuestionKind.NUMERIC:
            value = post.get(key, "").strip()
            if value:
                answers[str(q.pk)] = value
        else:
            picked = post.getlist(key)
            if picked:
                try:
                    answers[str(q.pk)] = [int(v) for v in picked]
                except ValueError:
                    answers[str(q.pk)] = picked  # rejected by the service as invalid
    return answers


@login_required
def attempt_page(request: HttpRequest, pk: int) -> HttpResponse:
    attempt = get_object_or_404(
        Attempt.objects.select_related("activity__course"), pk=pk, user=request.user
    )
    by_id = {
        q.pk: q
        for q in Question.objects.filter(pk__in=attempt.question_ids).prefetch_related("choices")
    }
    questions = [by_id[i] for i in attempt.question_ids if i in by_id]
    error = None
    if request.method == "POST":
        try:
            attempt = services.attempt_submit(
                user=request.user,
                attempt=attempt,
                answers=_answers_from_post(request.POST, questions),
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        except services.Conflict as exc:
            error = str(exc.detail)
        else:
            return redirect("attempt", attempt.pk)
    return render(
        request,
        "classrooms/attempt.html",
        {
            "attempt": attempt,
            "activity": attempt.activity,
            "course": attempt.activity.course,
            # Before submission only text and choices reach the page: never the answers.
            "questions": [selectors.question_payload(q) for q in questions],
            "results": (attempt.answers or {}).get("results", []),
            "error": error,
        },
    )


# -- progress and reports --------------------------------------------------------------------
def grid_html(grid: dict[str, Any], *, user_ids: set[int] | None = None) -> str:
    """The progress grid's table, built in one pass (500 x 40 cells in a few ms).

    Names and titles go through ``escape``; everything else is a number.
    """
    activities = grid["activities"]
    scores = grid["scores"]
    parts = [
        '<table class="data grid-table" id="progress-grid" data-testid="progress-grid">'
        f'<thead><tr><th scope="col">{escape(_("Learner"))}</th>'
        f'<th scope="col">{escape(_("Progress"))}</th>'
    ]
    for a in activities:
        parts.append(
            f'<th scope="col" data-activity="{a.pk}" data-kind="{a.kind}"'
            f' title="{escape(a.title)}">{escape(a.title)}</th>'
        )
    parts.append("</tr></thead><tbody>")
    # Cells carry no attributes: the column of an activity is found from its header.
    done_cell, todo_cell = '<td class="done">✔</td>', "<td></td>"
    quiz_ids = {a.pk for a in activities if a.kind == ActivityKind.QUIZ}
    for row in grid["rows"]:
        user, e, done = row["user"], row["enrolment"], row["done"]
        if user_ids is not None and user.pk not in user_ids:
            continue
        parts.append(
            f'<tr data-user="{user.pk}"><th scope="row">{escape(user.name)}</th>'
            f'<td class="pct">{e.progress} %</td>'
        )
        for a in activities:
            pk = a.pk
            if pk in quiz_ids and (score := scores.get((user.pk, pk))) is not None:
                state = ' class="done">✔ ' if pk in done else ">"
                parts.append(f"<td{state}{score} %</td>")
            else:
                parts.append(done_cell if pk in done else todo_cell)
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return mark_safe("".join(parts))


@login_required
def course_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The trainer's live grid (managers see their reports' rows)."""
    course = _visible_course(request, pk)
    if not selectors.can_watch_progress(user=request.user, course=course):
        raise PermissionDenied
    return _course_progress_page(request, course)


# The due date table under the grid lists at most this many enrolments (as the enrol picker).
DUE_ROWS = 500


def _due_rows(
    request: HttpRequest, course: Course, *, editor: bool, bound: EnrolmentDueForm | None = None
) -> list[dict[str, Any]]:
    """The enrolments whose due date this person may set: every one for the course's
    editors, their reports' for a manager. ``bound`` is the form of the row that came back
    with an error."""
    enrolments = Enrolment.objects.filter(course=course).select_related("user")
    if not editor:
        enrolments = enrolments.filter(user__in=reports_of(manager=request.user))
    rows = []
    for e in enrolments.order_by("user__username")[:DUE_ROWS]:
        form = bound if bound is not None and bound.enrolment_id == e.pk else None
        if form is None:
            initial = {"due_at": timezone.localdate(e.due_at)} if e.due_overridden else {}
            form = EnrolmentDueForm(initial=initial, auto_id=f"enrolment-{e.pk}-%s")
        rows.append({"enrolment": e, "form": form})
    return rows


def _course_progress_page(
    request: HttpRequest,
    course: Course,
    *,
    bound: EnrolmentDueForm | None = None,
    status: int = 200,
) -> HttpResponse:
    editor = selectors.can_edit_course(user=request.user, course=course)
    user_ids = (
        None if editor else set(reports_of(manager=request.user).values_list("id", flat=True))
    )
    grid = selectors.progress_grid(course=course)
    if editor:
        last_id = course.completions.order_by("-id").values_list("id", flat=True).first() or 0
        topics = [f"{course.progress_topic}:{last_id}"]
    else:  # a manager: their teams' topics carry their reports only
        last_id = selectors.last_team_completion_id(manager=request.user)
        topics = [f"{t}:{last_id}" for t in selectors.team_progress_topics(manager=request.user)]
    enrollable = []
    if editor:
        from hub.accounts.models import User

        enrollable = list(
            User.objects.filter(space_memberships__space=course.space, is_active=True)
            .exclude(enrolments__course=course)
            .order_by("username")
            .only("id", "username", "display_name", "first_name", "last_name")[:500]
        )
    elif request.user.has_role(Role.MANAGER):
        enrolled = {r["user"].pk for r in grid["rows"]}
        enrollable = [u for u in reports_of(manager=request.user) if u.pk not in enrolled]
    return render(
        request,
        "classrooms/course_progress.html",
        {
            "course": course,
            "grid": grid_html(grid, user_ids=user_ids),
            "learners": len(grid["rows"]) if user_ids is None else len(user_ids),
            "topics": topics,
            "editor": editor,
            "enrollable": enrollable,
            "due_rows": _due_rows(request, course, editor=editor, bound=bound),
            "now": timezone.now(),
        },
        status=status,
    )


@login_required
@require_POST
def enrolment_due(request: HttpRequest, pk: int) -> HttpResponse:
    """One enrolment's own due date, or ``clear`` (back to the course's default): the
    course's editors and the person's manager, through the same service as REST. Someone
    the viewer may not watch is a 404, as over REST."""
    enrolment = get_object_or_404(Enrolment.objects.select_related("course", "user"), pk=pk)
    course = enrolment.course
    if not selectors.can_see_progress_of(
        viewer=request.user, learner=enrolment.user, course=course
    ) or not selectors.can_watch_progress(user=request.user, course=course):
        raise Http404
    form = EnrolmentDueForm(
        request.POST, clearing="clear" in request.POST, auto_id=f"enrolment-{pk}-%s"
    )
    form.enrolment_id = enrolment.pk
    if form.is_valid():
        try:
            services.enrolment_due_set(
                actor=request.user, enrolment=enrolment, due_at=form.cleaned_data["due_at"]
            )
        except ValidationError as exc:
            _errors(form, exc)
        else:
            if form.clearing:
                messages.success(
                    request,
                    _("%(name)s follows the course's due date again.")
                    % {"name": enrolment.user.name},
                )
            else:
                messages.success(
                    request, _("%(name)s's due date is saved.") % {"name": enrolment.user.name}
                )
            url = reverse("course-progress", args=[course.pk])
            return redirect(f"{url}#enrolment-{enrolment.pk}")
    return _course_progress_page(request, course, bound=form, status=400)


def _csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def course_export(request: HttpRequest, pk: int) -> HttpResponse:
    course = _visible_course(request, pk)
    if not selectors.can_watch_progress(user=request.user, course=course):
        raise PermissionDenied
    user_ids = None
    if not selectors.can_edit_course(user=request.user, course=course):
        user_ids = set(reports_of(manager=request.user).values_list("id", flat=True))
    return _csv_response(
        reports.course_csv(course=course, user_ids=user_ids), f"course-{course.pk}-progress.csv"
    )


@login_required
def course_report(request: HttpRequest, pk: int) -> HttpResponse:
    course = _visible_course(request, pk)
    if not selectors.can_watch_progress(user=request.user, course=course):
        raise PermissionDenied
    enrolments = Enrolment.objects.filter(course=course)
    if not selectors.can_edit_course(user=request.user, course=course):
        enrolments = enrolments.filter(user__in=reports_of(manager=request.user))
    return render(
        request,
        "classrooms/report.html",
        {
            "course": course,
            "title": course.title,
            **_charts(enrolments),
            "export_url": reverse("course-export", args=[course.pk]),
        },
    )


def _charts(enrolments) -> dict[str, Any]:
    total = enrolments.count()
    completed = enrolments.filter(completed_at__isnull=False).count()
    return {
        "total": total,
        "completed": completed,
        "completion_chart": mark_safe(
            charts.line_chart(
                reports.completions_over_time(enrolments=enrolments),
                label=_("Completed enrolments over time"),
            )
        ),
        "score_chart": mark_safe(
            charts.histogram(
                reports.best_scores_of(enrolments=enrolments), label=_("Quiz score distribution")
            )
        ),
    }


@login_required
def team_progress(request: HttpRequest) -> HttpResponse:
    """The manager's team view: each report's courses and progress, live."""
    if not request.user.has_role(Role.MANAGER, Role.ADMIN):
        raise PermissionDenied
    enrolments = list(selectors.team_enrolments(manager=request.user))
    # The team topics resume from the newest completion at render time (never from 0: a
    # long history would be replayed, or cut and flagged truncated).
    last = selectors.last_team_completion_id(manager=request.user)
    topics = [f"{t}:{last}" for t in selectors.team_progress_topics(manager=request.user)]
    qs = Enrolment.objects.filter(pk__in=[e.pk for e in enrolments])
    return render(
        request,
        "classrooms/team_progress.html",
        {"enrolments": enrolments, "topics": topics, **_charts(qs)},
    )


@login_required
def team_export(request: HttpRequest) -> HttpResponse:
    if not request.user.has_role(Role.MANAGER, Role.ADMIN):
        raise PermissionDenied
    return _csv_response(
        reports.enrolments_csv(enrolments=selectors.team_enrolments(manager=request.user)),
        "team-progress.csv",
    )


# -- live classes ----------------------------------------------------------------------------
def _live_class(request: HttpRequest, pk: int) -> LiveClass:
    live_class = get_object_or_404(LiveClass.objects.select_related("course"), pk=pk)
    if selectors.liveclass_role(request.user, live_class) is None:
        raise Http404
    return live_class


@login_required
def liveclass_room(request: HttpRequest, pk: int) -> HttpResponse:
    """The room (lobby before the start, the report link after the end). The page joins
    through the API, so a refused join (locked, full, removed) shows its reason."""
    live_class = _live_class(request, pk)
    return render(
        request,
        "classrooms/liveclass.html",
        {
            "live_class": live_class,
            "state": selectors.liveclass_state(live_class, viewer=request.user),
            "is_trainer": selectors.is_liveclass_trainer(request.user, live_class),
            "reactions": services.REACTIONS,
        },
    )


@login_required
def liveclass_recording(request: HttpRequest, pk: int) -> HttpResponse:
    """The class's recording with its chat replayed beside it and its chapters: only the
    class's people (404 for anyone else, as for a class they cannot see)."""
    live_class = get_object_or_404(LiveClass.objects.select_related("course"), pk=pk)
    if not selectors.can_watch_recording(request.user, live_class):
        raise Http404
    return render(
        request,
        "classrooms/liveclass_recording.html",
        {
            "live_class": live_class,
            "chapters": selectors.recording_chapters(live_class),
            "started_at": (live_class.recording_started_at or timezone.now()).isoformat(),
        },
    )


@login_required
@require_POST
def liveclass_new(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Start a live class" on the course page: a trainer opens an ad hoc class now."""
    course = _editable_course(request, pk)
    title = request.POST.get("title", "").strip() or _("%(course)s: live class") % {
        "course": course.title
    }
    live_class = services.liveclass_create(
        actor=request.user, space=course.space, course=course, title=title
    )
    services.liveclass_join(user=request.user, live_class=live_class)
    services.liveclass_start(actor=request.user, live_class=live_class)
    return redirect(live_class)


@login_required
def activity_liveclass(request: HttpRequest, pk: int) -> HttpResponse:
    """The join link of a course activity of kind live class. ``POST`` (its trainers):
    open a class for the activity when it has none."""
    activity = _content_activity(request, pk)
    if activity.kind != ActivityKind.LIVE_CLASS:
        raise Http404
    live_class = selectors.live_class_of_activity(activity=activity)
    if request.method == "POST" and (live_class is None or live_class.status == "ended"):
        if not selectors.can_edit_course(user=request.user, course=activity.course):
            raise PermissionDenied
        live_class = services.liveclass_create(
            actor=request.user,
            space=activity.course.space,
            course=activity.course,
            activity=activity,
            title=activity.title,
        )
    if live_class is None:
        messages.info(request, _("No live class is planned for this activity yet."))
        return redirect(activity.course)
    return redirect(live_class)


def _require_attendance_viewer(request: HttpRequest, live_class: LiveClass) -> None:
    if not selectors.is_liveclass_trainer(request.user, live_class):
        raise PermissionDenied


@login_required
def liveclass_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    live_class = _live_class(request, pk)
    _require_attendance_viewer(request, live_class)
    return render(
        request,
        "classrooms/liveclass_attendance.html",
        {"live_class": live_class, "rows": selectors.attendance_rows(live_class)},
    )


ATTENDANCE_CSV_HEADER = [
    "participant",
    "role",
    "joined_at",
    "left_at",
    "seconds_present",
    "seconds_in_class",
    "percent_of_class",
    "removed",
]


def _attendance_csv(live_class: LiveClass) -> str:
    """One line per presence interval of each participant."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ATTENDANCE_CSV_HEADER)
    for row in selectors.attendance_rows(live_class):
        totals = [row["seconds_present"], row["seconds_in_class"], row["percent"], row["removed"]]
        for interval in row["intervals"] or [{"joined_at": None, "left_at": None}]:
            joined, left = interval["joined_at"], interval["left_at"]
            joined_text = joined.isoformat() if joined else ""
            left_text = left.isoformat() if left else ""
            writer.writerow(
                [
                    reports.spreadsheet_cell(row["name"]),
                    row["display_role"],
                    joined_text,
                    left_text,
                    *totals,
                ]
            )
    return out.getvalue()


@login_required
def liveclass_attendance_csv(request: HttpRequest, pk: int) -> HttpResponse:
    live_class = _live_class(request, pk)
    _require_attendance_viewer(request, live_class)
    return _csv_response(
        _attendance_csv(live_class),
        f"liveclass-{live_class.pk}-attendance.csv",
    )
