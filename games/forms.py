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

    def __init__(self, *args: Any, courses: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["course"].choices = [(c.pk, c.title) for c in courses]
