from django import forms
from django.utils.translation import gettext_lazy as _

from externaltools.models import Presentation


class ToolForm(forms.Form):
    """Registering a tool: what its administrator gives us."""

    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), max_length=500, required=False)
    login_url = forms.URLField(
        label=_("Login initiation URL"), max_length=500, assume_scheme="https"
    )
    launch_url = forms.URLField(
        label=_("Launch (target link) URL"), max_length=500, assume_scheme="https"
    )
    deep_linking_url = forms.URLField(
        label=_("Deep linking URL"), max_length=500, assume_scheme="https", required=False
    )
    redirect_uris = forms.CharField(
        label=_("Other redirect URLs (one a line)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    jwks_url = forms.URLField(
        label=_("The tool's JWKS URL"), max_length=500, assume_scheme="https", required=False
    )
    public_key = forms.CharField(
        label=_("Or its public key (PEM)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    share_name = forms.BooleanField(label=_("Send the person's name"), required=False, initial=True)
    share_email = forms.BooleanField(label=_("Send the person's e-mail address"), required=False)
    custom = forms.CharField(
        label=_("Custom parameters (name=value, one a line)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )


class RegistrationStartForm(forms.Form):
    """LTI Dynamic Registration: the tool's registration URL, and what it may be given."""

    initiation_url = forms.URLField(
        label=_("The tool's registration URL"), max_length=500, assume_scheme="https"
    )
    allow_grades = forms.BooleanField(
        label=_("Let it send scores (Assignment and Grade Services)"), required=False, initial=True
    )
    allow_roster = forms.BooleanField(
        label=_("Let it read course rosters (Names and Role Provisioning)"),
        required=False,
        initial=True,
    )
    share_name = forms.BooleanField(label=_("Send the person's name"), required=False, initial=True)
    share_email = forms.BooleanField(label=_("Send the person's e-mail address"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("prefix", "registration")
        super().__init__(*args, **kwargs)


class ExternalActivityForm(forms.Form):
    """A trainer adds an external tool activity to a module by hand."""

    module = forms.TypedChoiceField(label=_("Module"), coerce=int)
    tool = forms.TypedChoiceField(label=_("Tool"), coerce=int)
    title = forms.CharField(label=_("Title"), max_length=200)
    url = forms.URLField(
        label=_("Link in the tool (empty: its launch URL)"),
        max_length=500,
        assume_scheme="https",
        required=False,
    )
    presentation = forms.ChoiceField(
        label=_("Open"), choices=Presentation.choices, initial=Presentation.IFRAME
    )
    pass_percent = forms.IntegerField(
        label=_("Score that completes it (%)"), min_value=0, max_value=100, initial=0
    )
    custom = forms.CharField(
        label=_("Custom parameters (name=value, one a line)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )

    def __init__(self, *args, modules=(), tools=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["module"].choices = [(m.pk, m.title) for m in modules]
        self.fields["tool"].choices = [(t.pk, t.name) for t in tools]
