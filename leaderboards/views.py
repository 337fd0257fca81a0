"""Pages: a leaderboard with its podium (live), my points and badges, a person's badges."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from hub.accounts.models import User
from hub.accounts.selectors import default_space, spaces_of
from leaderboards import ranks, selectors, services


def _space(request: HttpRequest):
    space = spaces_of(user=request.user).first() or default_space()
    if space is None:
        raise Http404
    return space


@login_required
def board(request: HttpRequest) -> HttpResponse:
    space = _space(request)
    window = request.GET.get("window", "week")
    if window not in ranks.WINDOWS:
        window = "week"
    key = request.GET.get("key") or ranks.board_key("space", space.pk, window)
    try:
        parsed = ranks.parse_board(key)
    except ValueError:
        raise Http404 from None
    if not selectors.can_view_board(user=request.user, key=key):
        raise PermissionDenied
    payload = selectors.board_payload(user=request.user, key=key, n=20)
    return render(
        request,
        "leaderboards/board.html",
        {"board": payload, "window": parsed.window, "space": space, "windows": ranks.WINDOWS},
    )


@login_required
def my_points(request: HttpRequest) -> HttpResponse:
    space = _space(request)
    return render(
        request,
        "leaderboards/me.html",
        {
            "space": space,
            "points": selectors.points_of(user=request.user, space_id=space.pk),
            "awards": selectors.awards_of(user=request.user, space_id=space.pk, limit=20),
            "badges": selectors.badges_of(user=request.user),
            "hidden": selectors.is_hidden(user=request.user),
        },
    )


@login_required
@require_POST
def my_visibility(request: HttpRequest) -> HttpResponse:
    if request.POST.get("hidden") == "1":
        services.ranking_hide(user=request.user)
    else:
        services.ranking_show(user=request.user)
    return redirect("leaderboards-me")


@login_required
def badges_of(request: HttpRequest, user_id: int) -> HttpResponse:
    person = get_object_or_404(User, pk=user_id)
    if not selectors.can_see_badges_of(viewer=request.user, user=person):
        raise PermissionDenied
    return render(
        request,
        "leaderboards/badges.html",
        {"person": person, "badges": selectors.badges_of(user=person)},
    )
