from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from hub.accounts.selectors import spaces_of
from hub.accounts.services import space_switch
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
