from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _

from hub.accounts.models import Team
from hub.accounts.selectors import spaces_of
from hub.announcements.selectors import announcements_for, can_announce
from hub.announcements.services import announcement_post


class AnnouncementForm(forms.Form):
    audience = forms.ChoiceField(label=_("To"))
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text (markdown)"),
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        max_length=20000,
    )
    link = forms.URLField(label=_("Link"), required=False, assume_scheme="https")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        spaces = [
            (f"space:{s.pk}", _("Space: %(name)s") % {"name": s.name}) for s in spaces_of(user=user)
        ]
        teams = [
            (f"team:{t.pk}", _("Team: %(name)s") % {"name": t.name})
            for t in Team.objects.filter(space__in=spaces_of(user=user)).select_related("space")
        ]
        self.fields["audience"].choices = spaces + teams


@login_required
def announcement_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(announcements_for(user=request.user), 20).get_page(request.GET.get("page"))
    return render(
        request,
        "announcements/list.html",
        {"page": page, "can_announce": can_announce(user=request.user)},
    )


@login_required
def announcement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    announcement = get_object_or_404(announcements_for(user=request.user), pk=pk)
    return render(request, "announcements/detail.html", {"announcement": announcement})


@login_required
def announcement_new(request: HttpRequest) -> HttpResponse:
    if not can_announce(user=request.user):
        raise PermissionDenied
    form = AnnouncementForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        kind, _sep, pk = form.cleaned_data["audience"].partition(":")
        from hub.accounts.models import Space

        target = (
            {"space": get_object_or_404(Space, pk=pk)}
            if kind == "space"
            else {"team": get_object_or_404(Team, pk=pk)}
        )
        try:
            announcement = announcement_post(
                author=request.user,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                link=form.cleaned_data["link"],
                **target,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect(announcement)
    return render(request, "announcements/new.html", {"form": form})
