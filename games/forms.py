from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class JoinForm(forms.Form):
    code = forms.RegexField(
        label=_("Join code"),
        regex=r"^\s*\d{6}\s*$",
        max_length=12,
        error_messages={"invalid": _("A join code has six digits.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class CreateForm(forms.Form):
    course = forms.TypedChoiceField(label=_("Course"), coerce=int)
    questions = forms.IntegerField(label=_("Questions"), min_value=1, max_value=50, initial=10)
    seconds = forms.IntegerField(
        label=_("Seconds per question"), min_value=5, max_value=120, initial=20
    )
    team_mode = forms.BooleanField(label=_("Team mode"), required=False)
    team_count = forms.IntegerField(label=_("Teams"), min_value=2, max_value=6, initial=4)
    quiz = forms.TypedChoiceField(
        label=_("Play one of the course's quizzes"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_(
            "Its questions are played, and players who reach its pass mark complete it. "
            "Leave empty to draw from the whole question bank."
        ),
    )
    live_class = forms.TypedChoiceField(
        label=_("In a live class"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("The class's people are told, and may join."),
    )

    def __init__(
        self,
        *args: Any,
        courses: list[Any],
        quizzes: list[Any] = (),
        live_classes: list[Any] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Kept: the view turns the chosen ids back into these objects.
        self.quizzes, self.live_classes = list(quizzes), list(live_classes)
        self.fields["course"].choices = [(c.pk, c.title) for c in courses]
        titles = {c.pk: c.title for c in courses}
        self.fields["quiz"].choices = [("", _("None: the whole bank"))] + [
            (q.pk, f"{titles[q.course_id]} · {q.title}") for q in quizzes
        ]
        self.fields["live_class"].choices = [("", _("None: on its own"))] + [
            (lc.pk, f"{titles[lc.course_id]} · {lc.title}") for lc in live_classes
        ]
