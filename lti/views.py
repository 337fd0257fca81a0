"""The tool's protocol endpoints (login initiation, launch, JWKS, dynamic registration) and
the space page with the values the other side needs."""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.lineitem import LineItem

from hub.accounts.models import Space
from hub.csp import allow_framing, csp_override
from lti import framing, selectors, services
from lti.forms import PlatformForm
from lti.models import ContextLink, Platform
from lti.tool import (
    STORAGE_FIELD,
    STORAGE_STATE,
    STORAGE_STATE_TTL,
    LaunchRefused,
    SpaceToolConf,
    ToolLaunch,
    ToolLogin,
    launch_from_cache,
)

log = logging.getLogger(__name__)
BACKEND = settings.AUTHENTICATION_BACKENDS[0]
SESSION_LAUNCHES = "lti_deep_link_launches"


def _space(slug: str) -> Space:
    return get_object_or_404(Space, slug=slug)


def refused(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    response = render(request, "lti/refused.html", {"message": message}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _framable(response: HttpResponse, space: Space) -> HttpResponse:
    """An LTI page of ``space``: the platforms registered there may frame it."""
    allow_framing(response, framing.space_origins(space.pk))
    return response


# Login-initiation parameters carried over by the cookie check and the platform-storage
# fallback (the platform's hint values are opaque to us).
LOGIN_PARAMS = (
    "iss",
    "login_hint",
    "target_link_uri",
    "lti_message_hint",
    "lti_deployment_id",
    "client_id",
    "lti_storage_target",
)
CHECKED = "lyceum_cookies"  # set once the frame has shown it keeps partitioned cookies


# -- protocol endpoints --------------------------------------------------------------------------
@require_GET
def jwks(request: HttpRequest, slug: str) -> JsonResponse:
    """The tool's public keys in this space (platforms verify our signatures with them)."""
    from lti.tool import space_jwks

    response = JsonResponse(space_jwks(_space(slug)))
    response["Cache-Control"] = "public, max-age=300"
    return response


@csrf_exempt  # a form post from the platform: the id token that follows is what is checked
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest, slug: str) -> HttpResponse:
    """OIDC third-party login initiation: back to the platform with state and nonce.

    Inside a frame a page first checks that the browser keeps our (partitioned) cookies
    there, else offers to open the launch in a window of its own. When the platform names
    an ``lti_storage_target`` the state is kept in the platform's storage (LTI Platform
    Storage, postMessage) instead of a cookie.
    """
    space = _space(slug)
    conf = SpaceToolConf(space)
    source = request.POST if request.method == "POST" else request.GET
    params = {k: source.get(k, "")[:2000] for k in LOGIN_PARAMS if source.get(k)}
    # Always our one registered redirect URI: platforms compare it exactly. A deep-linked
    # URL's ``target`` comes back in the id token's target_link_uri claim.
    target = request.build_absolute_uri(reverse("lti-launch", args=[slug]))
    here = request.build_absolute_uri(reverse("lti-login", args=[slug]))
    try:
        platform = conf.platform(params.get("iss", ""), params.get("client_id") or None)
        if framing.framed_request(request) and not source.get(CHECKED):
            return _login_page(
                request,
                space,
                "check",
                {
                    "next": f"{here}?{urlencode({**params, CHECKED: '1'})}",
                    "window": f"{here}?{urlencode({**_no_storage(params), CHECKED: '1'})}",
                },
            )
        storage_target = params.get("lti_storage_target", "")
        if not storage_target:
            return _framable(ToolLogin(request, conf).redirect(target), space)
        auth_url = (
            ToolLogin(request, conf, state_cookie=False)
            .get_redirect_object(target)
            .get_redirect_url()
        )
    except LaunchRefused as exc:
        return _framable(refused(request, str(exc), exc.status), space)
    except (OIDCException, LtiException) as exc:
        return _framable(refused(request, str(exc)), space)
    state = parse_qs(urlsplit(auth_url).query)["state"][0]
    secret = secrets.token_urlsafe(32)
    origin = framing.origin_of(platform.auth_login_url)
    cache.set(
        STORAGE_STATE.format(state),
        {"secret": secret, "target": storage_target, "origin": origin},
        STORAGE_STATE_TTL,
    )
    return _login_page(
        request,
        space,
        "put",
        {
            "target": storage_target,
            "origin": origin,
            "key": f"lyceum_state_{state}",
            "value": secret,
            "next": auth_url,
            # The platform did not answer: start again with the state in a cookie.
            "fallback": f"{here}?{urlencode({**_no_storage(params), CHECKED: '1'})}",
        },
    )


def _no_storage(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k != "lti_storage_target"}


def _login_page(
    request: HttpRequest, space: Space, mode: str, data: dict[str, Any]
) -> HttpResponse:
    """The page that checks cookies, or talks to the platform's storage, then moves on."""
    response = render(request, "lti/frame.html", {"mode": mode, "frame": {"mode": mode, **data}})
    response["Cache-Control"] = "no-store"
    return _framable(response, space)


@csrf_exempt  # the platform's auto-posted form: the signed id token is the proof
@require_POST
def launch(request: HttpRequest, slug: str) -> HttpResponse:
    """A checked launch logs the person in and opens the target, or shows the picker."""
    space = _space(slug)
    conf = SpaceToolConf(space)
    state = request.POST.get("state", "")[:200]
    pending = cache.get(STORAGE_STATE.format(state)) if state else None
    if pending and STORAGE_FIELD not in request.POST:
        # The state is in the platform's storage: our page reads it there and posts back.
        return _login_page(
            request,
            space,
            "get",
            {
                "target": pending["target"],
                "origin": pending["origin"],
                "key": f"lyceum_state_{state}",
                "action": request.build_absolute_uri(reverse("lti-launch", args=[slug])),
                "field": STORAGE_FIELD,
                "state": state,
                "id_token": request.POST.get("id_token", "")[:20000],
            },
        )
    try:
        message = ToolLaunch(request, conf)
        claims = message.get_launch_data()
        platform = message.platform()
        if message.is_deep_link_launch():
            response = _deep_link_start(request, message, platform, claims)
        elif not message.is_resource_launch():
            return _framable(
                refused(request, _("This kind of LTI message is not supported.")), space
            )
        else:
            user, url = services.launch_accept(platform=platform, claims=claims)
            auth_login(request, user, backend=BACKEND)
            response = redirect(url)
    except LaunchRefused as exc:
        return _framable(refused(request, str(exc), exc.status), space)
    except LtiException as exc:
        log.info("LTI launch refused in %s: %s", slug, exc)
        return _framable(refused(request, str(exc)), space)
    if framing.framed_launch(request, claims):
        # This session lives in the platform's frame: partitioned cookies, pages the
        # platform may frame (lti.framing.FramedSessionMiddleware).
        framing.mark_framed_session(request, platform=platform, claims=claims)
    return response


def _deep_link_start(
    request: HttpRequest, message: ToolLaunch, platform: Platform, claims: dict[str, Any]
) -> HttpResponse:
    if not services.is_trainer_role(claims.get(services.CLAIM + "roles")):
        raise LaunchRefused(_("Only an instructor of the platform may pick content."), 403)
    user = services.person_link(
        platform=platform,
        subject=str(claims.get("sub") or ""),
        name=str(claims.get("name") or ""),
        email=str(claims.get("email") or ""),
        trainer=True,
    )
    auth_login(request, user, backend=BACKEND)
    launches = [*request.session.get(SESSION_LAUNCHES, [])[-9:], message.get_launch_id()]
    request.session[SESSION_LAUNCHES] = launches
    return redirect(
        reverse("lti-deep-link", args=[platform.space.slug])
        + "?"
        + urlencode({"launch": message.get_launch_id()})
    )


def _cached_deep_link(request: HttpRequest, space: Space, launch_id: str) -> ToolLaunch:
    if launch_id not in request.session.get(SESSION_LAUNCHES, []):
        raise LaunchRefused(_("This picker was not opened by you."), status=403)
    try:
        message = launch_from_cache(request, SpaceToolConf(space), launch_id)
    except LtiException as exc:
        raise LaunchRefused(_("This picker has expired: start again from your LMS.")) from exc
    if not message.is_deep_link_launch():
        raise LaunchRefused(_("This launch did not ask for content."))
    return message


@login_required
@require_http_methods(["GET", "POST"])
def deep_link(request: HttpRequest, slug: str) -> HttpResponse:
    """The picker: an instructor of the other LMS picks a course or an activity."""
    space = _space(slug)
    launch_id = request.GET.get("launch") or request.POST.get("launch") or ""
    try:
        message = _cached_deep_link(request, space, launch_id)
        settings_claim = message.get_launch_data().get(
            "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings", {}
        )
        if "ltiResourceLink" not in (settings_claim.get("accept_types") or []):
            raise LaunchRefused(_("The platform does not accept LTI links here."))
        items = services.pickable(space=space)
        if request.method == "GET":
            return render(
                request,
                "lti/deep_link.html",
                {"space": space, "items": items, "launch": launch_id, "settings": settings_claim},
            )
        chosen = request.POST.getlist("target")[:20]
        known = {i["target"]: i for i in items}
        if not chosen or any(c not in known for c in chosen):
            messages.error(request, _("Pick something of this space."))
            return redirect(request.get_full_path())
        if settings_claim.get("accept_multiple", True) not in (True, "true"):
            chosen = chosen[:1]
        launch_url = request.build_absolute_uri(reverse("lti-launch", args=[slug]))
        resources = []
        for target in chosen:
            resource = (
                DeepLinkResource()
                .set_url(f"{launch_url}?{urlencode({'target': target})}")
                .set_title(known[target]["title"][:255])
                .set_custom_params({services.TARGET_PARAM: target})
            )
            if known[target].get("graded"):
                # A gradable target asks the platform for a gradebook column (AGS).
                resource.set_lineitem(
                    LineItem()
                    .set_score_maximum(100)
                    .set_label(known[target]["title"][:255])
                    .set_resource_id(target)
                    .set_tag(services.LINEITEM_TAG)
                )
            resources.append(resource)
        jwt_value = message.get_deep_link().get_response_jwt(resources)
    except LaunchRefused as exc:
        return refused(request, str(exc), exc.status)
    return_url = str(settings_claim.get("deep_link_return_url") or "")
    if not return_url.startswith(("https://", "http://")):
        return refused(request, _("The platform gave no address to return to."))
    request.session[SESSION_LAUNCHES] = [
        x for x in request.session.get(SESSION_LAUNCHES, []) if x != launch_id
    ]
    return _post_back(request, return_url, jwt_value)


def _post_back(request: HttpRequest, url: str, jwt_value: str) -> HttpResponse:
    """A page that posts the signed response to the platform (form-action widened to it)."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    policy = dict(settings.SECURE_CSP)
    policy["form-action"] = ["'self'", origin]

    @csp_override(policy)
    def page(request: HttpRequest) -> HttpResponse:
        response = render(request, "lti/deep_link_return.html", {"url": url, "jwt": jwt_value})
        response["Cache-Control"] = "no-store"
        return response

    return page(request)


# -- LTI Dynamic Registration ----------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest, slug: str) -> HttpResponse:
    """Opened by the platform with ``openid_configuration`` and ``registration_token``; an
    administrator of the space confirms with a button (a GET changes nothing).

    The platform often opens it in a frame (Moodle's "Add LTI Advantage" dialog): the page
    may be framed by the origin of its configuration URL. Someone not signed in inside
    that frame is offered the same page in a window of its own, whose "close" message the
    framed page passes on to the platform.
    """
    space = _space(slug)
    source = request.POST if request.method == "POST" else request.GET
    config_url = source.get("openid_configuration", "")[:1000]
    token = source.get("registration_token", "")[:4000]
    config_origin = framing.origin_of(config_url)
    if not request.user.is_authenticated:
        if request.method == "GET" and framing.framed_request(request) and config_origin:
            response = render(
                request,
                "lti/frame.html",
                {
                    "mode": "window",
                    "frame": {
                        "mode": "window",
                        "window": request.build_absolute_uri(),
                        "origin": config_origin,
                    },
                },
            )
            allow_framing(response, [config_origin])
            return response
        return redirect_to_login(request.get_full_path())
    if not services.can_manage(user=request.user, space=space):
        response = refused(request, _("Only an administrator of this space may do this."), 403)
    else:
        context: dict[str, Any] = {"space": space, "config_url": config_url, "token": token}
        status = 200
        if request.method == "POST":
            try:
                context["platform"] = services.platform_register_dynamic(
                    actor=request.user,
                    space=space,
                    openid_configuration=config_url,
                    registration_token=token,
                    urls=selectors.tool_urls(request, space),
                )
            except ValidationError as exc:
                context["error"] = " ".join(exc.messages)
                status = 400
        response = render(request, "lti/register.html", context, status=status)
    if config_origin:
        allow_framing(response, [config_origin])
    return response


# -- the space page --------------------------------------------------------------------------------
def _managed_space(request: HttpRequest, slug: str) -> Space:
    space = _space(slug)
    if not services.can_manage(user=request.user, space=space):
        raise Http404
    return space


@login_required
@require_http_methods(["GET", "POST"])
def space_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """Values for the platform's administrator, the registered platforms, rosters."""
    space = _managed_space(request, slug)
    form = PlatformForm(request.POST or None, space=space)
    if request.method == "POST" and form.is_valid():
        try:
            services.platform_create(actor=request.user, space=space, **form.platform_fields())
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Platform registered."))
            return redirect("lti-settings", slug=slug)
    return render(
        request,
        "lti/settings.html",
        {
            "space": space,
            "urls": selectors.tool_urls(request, space),
            "platforms": selectors.platforms_of(space=space),
            "contexts": selectors.contexts_of(space=space),
            "scores": selectors.recent_scores(space=space),
            "form": form,
        },
    )


@login_required
@require_POST
def platform_action(request: HttpRequest, slug: str, pk: int, action: str) -> HttpResponse:
    space = _managed_space(request, slug)
    platform = get_object_or_404(Platform, pk=pk, space=space)
    try:
        if action == "delete":
            services.platform_delete(actor=request.user, platform=platform)
        elif action in ("pause", "resume"):
            services.platform_update(
                actor=request.user, platform=platform, is_active=action == "resume"
            )
        else:
            raise Http404
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, str(exc))
    return redirect("lti-settings", slug=slug)


@login_required
@require_POST
def roster_pull(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The roster button: the job pulls the members and enrols them."""
    space = _managed_space(request, slug)
    context = get_object_or_404(ContextLink, pk=pk, platform__space=space)
    if not context.memberships_url:
        messages.error(request, _("The platform gave no roster service for this course."))
    else:
        from lti.tasks import lti_roster_job

        lti_roster_job.enqueue(context.pk)
        messages.success(request, _("The roster is being pulled: reload in a moment."))
    return redirect("lti-settings", slug=slug)
