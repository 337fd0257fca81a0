"""Pages: a leaderboard with its podium (live), my points and badges, a person's badges."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hub.accounts.models import User
from hub.accounts.selectors import default_space, spaces_of
from hub.params import parse_id
from leaderboards import ranks, selectors, services


def _space(request: HttpRequest):
    space = spaces_of(user=request.user).first() or default_space()
    if space is None:
        raise Http404
    return space


def _requested_board(request: HttpRequest, space_id: int) -> str:
    """The board key a page asks for: ``?board=<scope>-<id>`` with ``?window=``, or a full
    ``?key=`` (older links), else the space's board of the window."""
    window = request.GET.get("window", "week")
    if window not in ranks.WINDOWS:
        window = "week"
    if request.GET.get("key"):
        return request.GET["key"]
    scope, _dash, ident = request.GET.get("board", "").partition("-")
    board_id = parse_id(ident)
    if scope in ranks.SCOPES and board_id is not None:
        return ranks.board_key(scope, board_id, window)
    return ranks.board_key("space", space_id, window)


@login_required
def board(request: HttpRequest) -> HttpResponse:
    """A board with its podium, my rank and my neighbours, and a picker of the boards the
    viewer may see (their spaces, courses and teams) for this week, this month or all time."""
    space = request.space or _space(request)  # type: ignore[attr-defined]
    key = _requested_board(request, space.pk)
    try:
        parsed = ranks.parse_board(key)
    except ValueError:
        raise Http404 from None
    if not selectors.can_view_board(user=request.user, key=key):
        raise PermissionDenied
    payload = selectors.board_payload(user=request.user, key=key, n=20)
    current = f"{parsed.scope}-{parsed.id}"
    offered = selectors.boards_of(user=request.user, window=parsed.window)
    labels = {"space": _("Spaces"), "course": _("Courses"), "team": _("Teams")}
    groups = [
        {
            "scope": scope,
            "label": labels[scope],
            "boards": [{**b, "current": b["choice"] == current} for b in offered[scope]],
        }
        for scope in ranks.SCOPES
        if offered[scope]
    ]
    return render(
        request,
        "leaderboards/board.html",
        {
            "board": payload,
            "window": parsed.window,
            "space": space,
            "windows": ranks.WINDOWS,
            "current": current,
            "title": selectors.board_name(parsed) or space.name,
            "groups": groups,
        },
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


# -- the wall screen ------------------------------------------------------------------------
@login_required
def wall(request: HttpRequest) -> HttpResponse:
    """A board for a wall screen (the space's, or a team's): large type, rank changes
    animated, refetched on ``board.changed``. ``?key=`` picks the board; managers get
    their teams' boards offered."""
    from hub.accounts.selectors import teams_managed_by

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
    teams = [
        {"name": t.name, "key": ranks.board_key("team", t.pk, parsed.window)}
        for t in teams_managed_by(user=request.user)
    ]
    title = space.name
    if parsed.scope == "team":
        from hub.accounts.models import Team

        title = Team.objects.filter(pk=parsed.id).values_list("name", flat=True).first() or title
    elif parsed.scope == "course":
        from classrooms.models import Course

        title = Course.objects.filter(pk=parsed.id).values_list("title", flat=True).first() or title
    return render(
        request,
        "leaderboards/wall.html",
        {
            "board": selectors.board_payload(user=request.user, key=key, n=15),
            "title": title,
            "window": parsed.window,
            "space_key": ranks.board_key("space", space.pk, parsed.window),
            "teams": teams,
        },
    )


# -- quiz duels -----------------------------------------------------------------------------
@login_required
def duel_lobby(request: HttpRequest) -> HttpResponse:
    """Challenge a course colleague, answer challenges, matchmaking, my rating, recent duels."""
    from classrooms.models import Course
    from leaderboards import duel_selectors as duels

    courses = duels.duel_courses(user=request.user)
    course = None
    course_id = parse_id(request.GET.get("course", ""))
    if course_id is not None:
        course = next((c for c in courses if c.pk == course_id), None)
        if course is None:
            if not Course.objects.filter(pk=course_id).exists():
                raise Http404
            raise PermissionDenied
    course = course or (courses[0] if courses else None)
    history = duels.duels_of(user=request.user, course=course, limit=20) if course else []
    context = {
        "courses": courses,
        "course": course,
        "colleagues": list(duels.colleagues(user=request.user, course=course)[:200])
        if course
        else [],
        "ratings": duels.ratings_payload(user=request.user, course=course) if course else None,
        "incoming": [
            d for d in history if d.status == "pending" and d.opponent_id == request.user.pk
        ],
        "outgoing": [
            d for d in history if d.status == "pending" and d.challenger_id == request.user.pk
        ],
        "active": [d for d in history if d.status == "active"],
        "recent": [
            {"duel": d, "text": duels.result_line(d, viewer=request.user)}
            for d in history
            if d.status not in ("pending", "active")
        ][:10],
        "in_queue": duels.in_queue(user=request.user, course=course) if course else False,
        "lobby_topic": duels.lobby_topic(request.user.pk),
    }
    return render(request, "leaderboards/duel_lobby.html", context)


@login_required
def duel_arena(request: HttpRequest, pk: int) -> HttpResponse:
    """The arena: the state (also on reconnect), then live events of the duel's topic."""
    from leaderboards import duel_selectors as duels
    from leaderboards.models import Duel

    duel = get_object_or_404(
        Duel.objects.select_related("course", "challenger", "opponent", "winner"), pk=pk
    )
    if not duels.is_player(user=request.user, duel=duel):
        raise PermissionDenied
    # No state change on GET: the page renders the duel as stored; once its socket is open
    # the page's script asks for the state (or says "ready"), and that action applies the
    # clock (closes what is overdue, opens the next question).
    return render(
        request,
        "leaderboards/duel_arena.html",
        {
            "duel": duel,
            "state": duels.duel_payload(duel, viewer=request.user),
            "lobby_topic": duels.lobby_topic(request.user.pk),
        },
    )
