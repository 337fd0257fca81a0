"""Pages (register a tool, add an external tool activity, the launch) and the LTI 1.3
platform endpoints (OpenID configuration, JWKS, authorization, token, deep linking
return, AGS line items and scores, NRPS memberships).

The LTI service endpoints are plain Django views, not DRF: they speak the IMS media types
and authenticate tools with OAuth 2 bearer tokens of their own, not Lyceum's API tokens.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from classrooms.models import Course, Module
from classrooms.selectors import can_edit_course, course_modules
from classrooms.services import Conflict
from externaltools import lti, registration, selectors, services
from externaltools.forms import ExternalActivityForm, RegistrationStartForm, ToolForm
from externaltools.lti import LTIError
from externaltools.models import ExternalActivity, LineItem, Presentation, Score, Tool
from hub.accounts.models import Space
from hub.client_address import client_address
from hub.csp import HEADER as CSP_HEADER
from hub.csp import build_policy

logger = logging.getLogger(__name__)

LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
RESULTS_TYPE = "application/vnd.ims.lis.v2.resultcontainer+json"
MEMBERS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_BODY = 64 * 1024
# Requests a client address may make a minute to the token endpoint (a tool asks for a
# token an hour, per scope set: this is generous) and to the deep linking return.
TOKEN_RATE = 60


def _flooded(request: HttpRequest, kind: str, limit: int) -> bool:
    """A fixed one-minute window per client address (as the trusted proxies report it)."""
    key = f"externaltools:rate:{kind}:{client_address(request)}"
    cache.add(key, 0, 60)
    try:
        return cache.incr(key) > limit
    except ValueError:  # expired between add and incr
        return False


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _with_policy(response: HttpResponse, **changes: list[str]) -> HttpResponse:
    """The site's policy with ``changes`` (a tool's origin where we post or frame it)."""
    response[CSP_HEADER] = build_policy(
        {**settings.SECURE_CSP, **{k.replace("_", "-"): v for k, v in changes.items()}}
    )
    return response


# -- pages: tool registrations (administrators) ---------------------------------------------
def _space(request: HttpRequest, space_id: int) -> Space:
    space = get_object_or_404(Space, pk=space_id)
    if not selectors.can_manage_tools(user=request.user, space_id=space.pk):
        raise Http404
    return space


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    spaces = list(selectors.managed_spaces(user=request.user))
    if not spaces:
        raise Http404
    if len(spaces) == 1:
        return redirect("externaltools-tools", spaces[0].pk)
    return render(request, "externaltools/index.html", {"spaces": spaces})


def _tools_page(
    request: HttpRequest,
    space: Space,
    *,
    form: ToolForm | None = None,
    registration_form: RegistrationStartForm | None = None,
    registration_url: str = "",
    status: int = 200,
) -> HttpResponse:
    """A space's tools page; with ``registration_url``, a tool's registration page in a
    frame of it (and that tool's origin allowed in the page's ``frame-src``)."""
    response = render(
        request,
        "externaltools/tools.html",
        {
            "space": space,
            "form": form or ToolForm(),
            "registration_form": registration_form or RegistrationStartForm(),
            "registration_url": registration_url,
            "tools": selectors.tools_of(space_id=space.pk),
            "platform": lti.openid_configuration(),
            "configuration_url": lti.absolute("externaltools-space-openid-configuration", space.pk),
        },
        status=status,
    )
    if registration_url:
        response = _with_policy(response, frame_src=["'self'", _origin(registration_url)])
    return response


@login_required
@require_http_methods(["GET", "POST"])
def tools(request: HttpRequest, space_id: int) -> HttpResponse:
    """A space's tools, the values a tool's administrator needs, and the forms to add one
    (by its registration URL, or by hand)."""
    space = _space(request, space_id)
    form = ToolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tool = services.tool_create(actor=request.user, space=space, **form.cleaned_data)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc)
        else:
            messages.success(
                request, _("Tool registered: give its administrator the values below.")
            )
            return redirect(f"{request.path}#tool-{tool.pk}")
    return _tools_page(request, space, form=form)


@login_required
@require_POST
def registration_start(request: HttpRequest, space_id: int) -> HttpResponse:
    """LTI Dynamic Registration: the tool's registration URL opens in a frame of the page
    with our space's OpenID configuration and a one-time registration token; the tool
    registers itself and says ``org.imsglobal.lti.close`` (registration.js reloads)."""
    space = _space(request, space_id)
    form = RegistrationStartForm(request.POST)
    if form.is_valid():
        try:
            url, _token, _row = services.registration_start(
                actor=request.user, space=space, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            return _tools_page(request, space, registration_form=form, registration_url=url)
    return _tools_page(request, space, registration_form=form, status=400)


@login_required
@require_POST
def tool_active(request: HttpRequest, pk: int) -> HttpResponse:
    tool = get_object_or_404(Tool, pk=pk)
    _space(request, tool.space_id)
    active = request.POST.get("active") == "1"
    services.tool_update(actor=request.user, tool=tool, is_active=active)
    messages.success(request, _("Tool enabled.") if active else _("Tool disabled."))
    return redirect("externaltools-tools", tool.space_id)


# -- pages: external tool activities (trainers) ---------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def activity_add(request: HttpRequest, course_id: int) -> HttpResponse:
    """Add an external tool activity: by hand, or by picking content in the tool."""
    course = get_object_or_404(Course, pk=course_id)
    if not can_edit_course(user=request.user, course=course):
        raise Http404
    modules = course_modules(course=course)
    tools_available = list(selectors.tools_for_course(course=course))
    form = ExternalActivityForm(request.POST or None, modules=modules, tools=tools_available)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        module = next(m for m in modules if m.pk == data["module"])
        tool = next(t for t in tools_available if t.pk == data["tool"])
        try:
            external = services.external_activity_create(
                user=request.user,
                module=module,
                tool=tool,
                title=data["title"],
                url=data["url"],
                custom=data["custom"],
                presentation=data["presentation"],
                pass_percent=data["pass_percent"],
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("Activity added."))
            return redirect(external.activity)
    return render(
        request,
        "externaltools/activity_add.html",
        {
            "course": course,
            "form": form,
            "modules": modules,
            "pickers": [t for t in tools_available if t.deep_linking_url],
        },
    )


@login_required
@require_GET
def deep_link_start(request: HttpRequest, module_id: int, tool_id: int) -> HttpResponse:
    """Off to the tool to pick content for ``module`` (an LtiDeepLinkingRequest)."""
    module = get_object_or_404(Module.objects.select_related("course"), pk=module_id)
    tool = get_object_or_404(Tool, pk=tool_id)
    try:
        url = services.login_initiation_url(user=request.user, tool=tool, module=module)
    except (PermissionDenied, ValidationError) as exc:
        raise Http404 from exc
    return HttpResponseRedirect(url)


@csrf_exempt
@require_POST
@xframe_options_sameorigin
def deep_link_return(request: HttpRequest) -> HttpResponse:
    """The tool posts its signed LtiDeepLinkingResponse here (a form post from the tool's
    page: no CSRF token can exist, the tool's signature stands in for it)."""
    if _flooded(request, "deep-link", TOKEN_RATE):
        return render(
            request,
            "externaltools/error.html",
            {"message": _("Too many requests: try again in a minute.")},
            status=429,
        )
    try:
        module, created = services.deep_link_response(
            token=request.POST.get("JWT", ""), user=request.user
        )
    except LTIError as exc:
        logger.info("deep linking response refused: %s", exc)
        return render(request, "externaltools/error.html", {"message": str(exc)}, status=400)
    return render(
        request,
        "externaltools/deep_link_done.html",
        {"course": module.course, "module": module, "created": created},
    )


# -- pages: the launch ----------------------------------------------------------------------
def _external(request: HttpRequest, activity_id: int) -> ExternalActivity:
    external = get_object_or_404(
        ExternalActivity.objects.select_related("activity__course", "tool"),
        activity_id=activity_id,
    )
    if not selectors.can_launch(user=request.user, external=external):
        raise Http404
    return external


@login_required
@require_GET
def launch_page(request: HttpRequest, activity_id: int) -> HttpResponse:
    """The activity's page: the tool in a frame, or a button that opens it in a window."""
    external = _external(request, activity_id)
    response = render(
        request,
        "externaltools/launch.html",
        {
            "external": external,
            "activity": external.activity,
            "course": external.activity.course,
            "framed": external.presentation == Presentation.IFRAME,
            "can_edit": can_edit_course(user=request.user, course=external.activity.course),
        },
    )
    origins = {_origin(external.tool.login_url), _origin(external.target_link_uri)}
    return _with_policy(response, frame_src=["'self'", *sorted(origins)])


@login_required
@require_GET
@xframe_options_sameorigin
def launch_start(request: HttpRequest, activity_id: int) -> HttpResponse:
    """Third-party initiated login: to the tool's login URL, with our signed hint."""
    external = _external(request, activity_id)
    try:
        url = services.login_initiation_url(
            user=request.user, tool=external.tool, external=external
        )
    except PermissionDenied as exc:
        raise Http404 from exc
    return HttpResponseRedirect(url)


# -- the platform's OpenID endpoints --------------------------------------------------------
@require_GET
def openid_configuration(request: HttpRequest) -> JsonResponse:
    return JsonResponse(lti.openid_configuration())


@require_GET
def space_openid_configuration(request: HttpRequest, space_id: int) -> JsonResponse:
    """A space's platform configuration: the site's, with that space's registration
    endpoint (LTI Dynamic Registration's ``openid_configuration``). Public: tools read it
    from their servers."""
    space = get_object_or_404(Space, pk=space_id)
    return JsonResponse(lti.openid_configuration(space.pk))


@csrf_exempt
@never_cache
@require_POST
def register(request: HttpRequest, space_id: int) -> JsonResponse:
    """The registration endpoint: a tool posts its client metadata with the registration
    token it was given; 201 with its registration, or an RFC 7591 error (401 for the
    token, 400 for the metadata, 413 too large) and nothing registered."""
    if _flooded(request, "register", TOKEN_RATE):
        return JsonResponse({"error": "slow_down"}, status=429)
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    try:
        if declared > registration.MAX_BODY:
            raise registration.RegistrationError(
                "The registration request is too large.", status=413
            )
        result = services.registration_complete(
            space_id=space_id,
            header=request.headers.get("Authorization", ""),
            body=request.body,
        )
    except registration.RegistrationError as exc:
        logger.info("tool registration refused in space %s: %s", space_id, exc)
        response = JsonResponse(
            {"error": exc.error, "error_description": str(exc)}, status=exc.status
        )
        if exc.status == 401:
            response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    return JsonResponse(result, status=201)


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    return JsonResponse(lti.public_jwks())


@csrf_exempt
@never_cache
@xframe_options_sameorigin
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """The OIDC authentication request of a tool, answered with an auto-posted id_token.
    Writes nothing; a request we cannot answer safely is a 400 page."""
    params = request.GET if request.method == "GET" else request.POST
    problem = None
    if params.get("scope") != "openid" or params.get("response_type") != "id_token":
        problem = "Only scope=openid and response_type=id_token are supported."
    elif params.get("response_mode") != "form_post":
        problem = "Only response_mode=form_post is supported."
    elif not request.user.is_authenticated:
        problem = "Sign in to Lyceum, then start the activity again."
    if problem is None:
        redirect_uri = params.get("redirect_uri", "")
        try:
            _tool, id_token = services.id_token_for(
                user=request.user,
                client_id=params.get("client_id", ""),
                redirect_uri=redirect_uri,
                login_hint=params.get("login_hint", ""),
                message_hint=params.get("lti_message_hint", ""),
                nonce=params.get("nonce", ""),
            )
        except LTIError as exc:
            problem = str(exc)
    if problem is not None:
        return render(request, "externaltools/error.html", {"message": problem}, status=400)
    response = render(
        request,
        "externaltools/autopost.html",
        {
            "action": redirect_uri,
            "fields": {"id_token": id_token, "state": params.get("state", "")},
        },
    )
    return _with_policy(
        response, form_action=["'self'", _origin(redirect_uri)], frame_ancestors=["'self'"]
    )


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> JsonResponse:
    """OAuth 2 client credentials with a JWT client assertion (RFC 7523), LTI's way."""
    if _flooded(request, "token", TOKEN_RATE):
        return JsonResponse({"error": "slow_down"}, status=429)
    if request.POST.get("grant_type") != "client_credentials":
        return JsonResponse({"error": "unsupported_grant_type"}, status=400)
    try:
        access, scopes = services.token_issue(
            assertion_type=request.POST.get("client_assertion_type", ""),
            assertion=request.POST.get("client_assertion", ""),
            scope=request.POST.get("scope", ""),
        )
    except LTIError as exc:
        return JsonResponse({"error": "invalid_client", "error_description": str(exc)}, status=401)
    return JsonResponse(
        {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": services.TOKEN_TTL,
            "scope": " ".join(scopes),
        }
    )


# -- AGS and NRPS ---------------------------------------------------------------------------
def _problem(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _tool_course(request: HttpRequest, course_id: int, scopes: set[str]) -> tuple[Tool, Course]:
    """The tool behind the bearer token, and the course if that tool was given it (an
    activity of the tool in the course); PermissionDenied / Http404 otherwise."""
    tool = services.token_check(header=request.headers.get("Authorization", ""), scopes=scopes)
    course = Course.objects.filter(pk=course_id, space_id=tool.space_id).first()
    if course is None or not selectors.tool_has_course(tool=tool, course_id=course.pk):
        raise Http404
    return tool, course


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY:
        raise ValidationError("The body is too large.")
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("The body is not JSON.") from exc
    if not isinstance(data, dict):
        raise ValidationError("The body is not a JSON object.")
    return data


def _service(view):
    """LTI service errors as JSON: 401/403 token, 404 not yours, 400 bad body, 409."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return _problem(401, str(exc) or "Unauthorized.")
        except Http404:
            return _problem(404, "Not found.")
        except ValidationError as exc:
            return _problem(400, "; ".join(exc.messages))
        except Conflict as exc:
            return _problem(409, str(exc.detail))

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return csrf_exempt(wrapped)


READ_ITEMS = {lti.AGS_SCOPES[0], lti.AGS_SCOPES[1]}


@_service
@require_http_methods(["GET", "POST"])
def lineitems(request: HttpRequest, course_id: int) -> HttpResponse:
    if request.method == "POST":
        tool, course = _tool_course(request, course_id, {lti.AGS_SCOPES[0]})
        item = services.line_item_create(tool=tool, course=course, data=_json_body(request))
        return JsonResponse(
            services.line_item_payload(item), status=201, content_type=LINEITEM_TYPE
        )
    tool, course = _tool_course(request, course_id, READ_ITEMS)
    items = selectors.line_items_of(tool=tool, course_id=course.pk).select_related("activity")
    link = request.GET.get("resource_link_id")
    if link:
        pk = link.removeprefix("activity-")
        items = items.filter(activity__activity_id=int(pk) if pk.isdigit() else 0)
    if request.GET.get("resource_id"):
        items = items.filter(resource_id=request.GET["resource_id"])
    if request.GET.get("tag"):
        items = items.filter(tag=request.GET["tag"])
    return JsonResponse(
        [services.line_item_payload(i) for i in items[:1000]],
        safe=False,
        content_type=LINEITEMS_TYPE,
    )


def _line_item(tool: Tool, course: Course, pk: int) -> LineItem:
    item = LineItem.objects.select_related("activity").filter(pk=pk, tool=tool, course=course)
    found = item.first()
    if found is None:
        raise Http404
    return found


@_service
@require_http_methods(["GET", "PUT", "DELETE"])
def lineitem(request: HttpRequest, course_id: int, pk: int) -> HttpResponse:
    scopes = READ_ITEMS if request.method == "GET" else {lti.AGS_SCOPES[0]}
    tool, course = _tool_course(request, course_id, scopes)
    item = _line_item(tool, course, pk)
    if request.method == "DELETE":
        if item.activity_id:
            raise ValidationError("This line item belongs to an activity of the course.")
        item.delete()
        return HttpResponse(status=204)
    if request.method == "PUT":
        data = _json_body(request)
        label, maximum = data.get("label", item.label), data.get("scoreMaximum", item.score_maximum)
        if not isinstance(label, str) or not label.strip() or len(label) > 200:
            raise ValidationError("A label is required.")
        if not isinstance(maximum, int | float) or isinstance(maximum, bool) or maximum <= 0:
            raise ValidationError("A positive scoreMaximum is required.")
        item.label, item.score_maximum = label, float(maximum)
        item.save(update_fields=["label", "score_maximum"])
    return JsonResponse(services.line_item_payload(item), content_type=LINEITEM_TYPE)


@_service
@require_POST
def scores(request: HttpRequest, course_id: int, pk: int) -> HttpResponse:
    tool, course = _tool_course(request, course_id, {lti.AGS_SCOPES[3]})
    item = _line_item(tool, course, pk)
    services.score_post(tool=tool, line_item=item, data=_json_body(request))
    return HttpResponse(status=204)


@_service
@require_GET
def results(request: HttpRequest, course_id: int, pk: int) -> HttpResponse:
    tool, course = _tool_course(request, course_id, {lti.AGS_SCOPES[2]})
    item = _line_item(tool, course, pk)
    rows = Score.objects.filter(line_item=item).select_related("line_item")
    if request.GET.get("user_id", "").isdigit():
        rows = rows.filter(user_id=int(request.GET["user_id"]))
    return JsonResponse(
        [services.result_payload(s) for s in rows[:1000]], safe=False, content_type=RESULTS_TYPE
    )


@_service
@require_GET
def memberships(request: HttpRequest, course_id: int) -> HttpResponse:
    """NRPS: the course's roster (trainers and enrolled learners), names and e-mails only
    as the tool's privacy settings allow; ``role`` filters."""
    tool, course = _tool_course(request, course_id, {lti.NRPS_SCOPE})
    wanted = request.GET.get("role", "")
    members = []
    for person, roles in selectors.roster(course=course):
        if wanted and not any(r == wanted or r.endswith("#" + wanted) for r in roles):
            continue
        member: dict[str, Any] = {"status": "Active", "user_id": str(person.pk), "roles": roles}
        if tool.share_name:
            member["name"] = person.name
            if person.first_name:
                member["given_name"] = person.first_name
            if person.last_name:
                member["family_name"] = person.last_name
        if tool.share_email and person.email:
            member["email"] = person.email
        members.append(member)
    return JsonResponse(
        {
            "id": request.build_absolute_uri(),
            "context": {"id": str(course.pk), "label": course.title[:60], "title": course.title},
            "members": members,
        },
        content_type=MEMBERS_TYPE,
    )
