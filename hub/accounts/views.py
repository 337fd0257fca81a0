from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hub.accounts.forms import ProfileForm
from hub.accounts.models import User
from hub.accounts.selectors import can_see_email, can_see_profile, spaces_of
from hub.accounts.services import profile_update, space_switch, time_zone_detected
from hub.params import parse_id


@login_required
@require_POST
def switch_space(request: HttpRequest) -> HttpResponse:
    space_id = parse_id(request.POST.get("space", ""))
    if space_id is None:
        raise Http404
    space = get_object_or_404(spaces_of(user=request.user), pk=space_id)
    space_switch(request=request, space=space)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = "/"
    return redirect(target)


# -- profile ---------------------------------------------------------------------------------
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """The person's own profile: name, e-mail, picture, time zone, language, about me."""
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            data = dict(form.cleaned_data)
            picture = data.pop("avatar") or None
            remove = data.pop("remove_avatar")
            person = User.objects.get(pk=user.pk)
            try:
                profile_update(
                    actor=user, user=person, avatar=picture, remove_avatar=remove, **data
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Your profile is saved."))
                response = redirect("profile")
                if person.language:
                    # The chosen language takes effect now, as the language menu's does.
                    response.set_cookie(
                        settings.LANGUAGE_COOKIE_NAME,
                        person.language,
                        max_age=settings.LANGUAGE_COOKIE_AGE,
                        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                        secure=settings.LANGUAGE_COOKIE_SECURE,
                    )
                return response
        status = 400
    else:
        form = ProfileForm(
            initial={
                "display_name": user.display_name,
                "email": user.email,
                "email_visible": user.email_visible,
                "bio": user.bio,
                "time_zone": user.time_zone or timezone.get_current_timezone_name(),
                "language": user.language,
            }
        )
        status = 200
    return render(
        request,
        "accounts/profile.html",
        {"form": form, "person": request.user, "email_shown": True},
        status=status,
    )


@login_required
@require_POST
def profile_time_zone(request: HttpRequest) -> HttpResponse:
    """The browser's zone, sent once by the shell (shell.js) while none is chosen."""
    try:
        saved = time_zone_detected(user=request.user, zone=request.POST.get("time_zone", ""))
    except ValidationError:
        return JsonResponse(
            {"error": {"code": "invalid", "message": "Unknown time zone."}}, status=400
        )
    return JsonResponse({"saved": saved})


@login_required
def person(request: HttpRequest, pk: int) -> HttpResponse:
    """Another member's profile, as the privacy rules allow (selectors.can_see_profile)."""
    someone = User.objects.filter(pk=pk, is_active=True).first()
    if someone is None or not can_see_profile(viewer=request.user, person=someone):
        raise Http404
    return render(
        request,
        "accounts/person.html",
        {
            "person": someone,
            "email_shown": can_see_email(viewer=request.user, person=someone),
            "is_me": someone.pk == request.user.pk,
            # Identity and access (issue 16): administrators deactivate, revoke tokens.
            "can_deactivate": request.user.has_role("admin"),
        },
    )
