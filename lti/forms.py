from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from classrooms.models import Course
from hub.accounts.models import Space
from lti.models import Platform


def _formfield(field: Any, **kwargs: Any) -> Any:
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"  # platforms are reached over https
    return field.formfield(**kwargs)


class PlatformForm(forms.ModelForm):
    """Manual registration: the values the platform's administrator hands over."""

    deployment_ids_text = forms.CharField(
        label=_("Deployment IDs"),
        help_text=_("One per line."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    class Meta:
        model = Platform
        formfield_callback = _formfield
        fields = [
            "name",
            "issuer",
            "client_id",
            "auth_login_url",
            "auth_token_url",
            "auth_audience",
            "key_set_url",
            "default_course",
        ]

    def __init__(self, *args: Any, space: Space, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_course"].queryset = Course.objects.filter(space=space)
        if self.instance.pk:
            self.fields["deployment_ids_text"].initial = "\n".join(self.instance.deployment_ids)

    def platform_fields(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["deployment_ids"] = [
            line.strip()
            for line in self.cleaned_data["deployment_ids_text"].splitlines()
            if line.strip()
        ]
        return data

    def validate_unique(self) -> None:
        """The service checks (issuer, client id) across every space."""
