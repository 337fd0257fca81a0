from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.models import WebhookEventType


class EndpointForm(forms.Form):
    url = forms.CharField(label=_("Endpoint URL"), max_length=500)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEventType.choices,
        widget=forms.CheckboxSelectMultiple,
    )
