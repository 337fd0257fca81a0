"""Pages of live quiz games: the games page (join with a code; hosts launch), the host's
screen and the player's phone screen. No state change on GET: joining happens by a POST
(the form) or the play page's ``join`` action once its socket is open."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from classrooms.services import Conflict
from games import selectors as sel
from games import services
from games.forms import CreateForm, JoinForm
from games.models import Game


def _index(
    request: HttpRequest, join: JoinForm | None = None, create: CreateForm | None = None
) -> HttpResponse:
    courses = sel.hostable_courses(user=request.user)
    if create is None and courses:
        create = _create_form(request, courses)
    return render(
        request,
        "games/index.html",
        {
            "join_form": join or JoinForm(initial={"code": request.GET.get("code", "")[:6]}),
            "create_form": create if courses else None,
            "hosted": sel.games_hosted(user=request.user),
            "played": sel.games_played(user=request.user),
        },
    )


def _create_form(request: HttpRequest, courses: list[Any], data: Any = None) -> CreateForm:
    quizzes, live_classes = sel.launch_options(user=request.user, courses=courses)
    return CreateForm(data, courses=courses, quizzes=quizzes, live_classes=live_classes)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    return _index(request)


@login_required
@require_POST
def join(request: HttpRequest) -> HttpResponse:
    form = JoinForm(request.POST)
    if form.is_valid():
        game = sel.open_game_by_code(form.cleaned_data["code"])
        if game is None:
            form.add_error("code", _("No open game has this code."))
        else:
            try:
                services.game_join(user=request.user, game=game)
            except (PermissionDenied, Conflict) as exc:
                form.add_error("code", str(getattr(exc, "detail", exc)) or _("You may not join."))
            else:
                return redirect("games-play", game.pk)
    return _index(request, join=form)


@login_required
@require_POST
def create(request: HttpRequest) -> HttpResponse:
    courses = sel.hostable_courses(user=request.user)
    if not courses:
        raise PermissionDenied
    form = _create_form(request, courses, data=request.POST)
    if form.is_valid():
        data = form.cleaned_data
        course = next(c for c in courses if c.pk == data["course"])
        # The choices were the user's own: these are found (the service checks the course).
        quiz = next((q for q in form.quizzes if q.pk == data["quiz"]), None)
        live_class = next((lc for lc in form.live_classes if lc.pk == data["live_class"]), None)
        try:
            game = services.game_create(
                host=request.user,
                course=course,
                questions=data["questions"],
                seconds=data["seconds"],
                team_mode=data["team_mode"],
                team_count=data["team_count"],
                quiz=quiz,
                live_class=live_class,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("games-host", game.pk)
    return _index(request, create=form)


@login_required
def host(request: HttpRequest, pk: int) -> HttpResponse:
    game = get_object_or_404(Game.objects.select_related("course", "live_class"), pk=pk)
    if not sel.is_host(user=request.user, game=game):
        raise Http404
    return render(
        request,
        "games/host.html",
        {
            "game": game,
            "state": sel.game_state(game.pk, viewer=request.user),
            "join_url": request.build_absolute_uri(reverse("games") + f"?code={game.code}"),
        },
    )


@login_required
def play(request: HttpRequest, pk: int) -> HttpResponse:
    game = get_object_or_404(Game.objects.select_related("course", "live_class"), pk=pk)
    if not sel.can_join(user=request.user, game=game):
        raise Http404
    return render(
        request,
        "games/play.html",
        {"game": game, "state": sel.game_state(game.pk, viewer=request.user)},
    )
