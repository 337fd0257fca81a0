"""Every write of the external tools app, and the LTI messages it builds and checks.

The launch, as LTI 1.3 has it: our page sends the browser to the tool's login initiation
URL (third-party initiated login) with a signed ``lti_message_hint``; the tool sends it
back to our authorization endpoint with its ``nonce`` and ``state``; we answer with an
auto-posted form carrying the ``id_token`` we sign. Nothing here trusts the browser: the
hint is signed by us and bound to the person signed in, the redirect URL must be one the
tool registered, and what a tool sends us is checked against its own keys.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from classrooms import services as classrooms_services
from classrooms.models import Activity, Course, Module
from classrooms.selectors import can_edit_course
from externaltools import lti, registration, selectors
from externaltools.lti import LTIError
from externaltools.models import (
    AccessToken,
    ExternalActivity,
    LineItem,
    Presentation,
    RegistrationToken,
    Score,
    Tool,
)
from hub import realtime, sanitize
from hub.accounts.models import Space, User

KIND = "external_tool"
HINT_SALT = "externaltools.launch"
DEEP_LINK_SALT = "externaltools.deep-link"
HINT_MAX_AGE = 600
TOKEN_TTL = 3600
MAX_CUSTOM = 50
LTI_VERSION = "1.3.0"
ACTIVITY_PROGRESS = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
GRADING_PROGRESS = {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}


# -- tool registrations ---------------------------------------------------------------------
def _clean_custom(value: Any) -> dict[str, str]:
    """Custom parameters: a dict of short strings, or ``name=value`` lines."""
    if isinstance(value, str):
        pairs: dict[str, str] = {}
        for line in value.splitlines():
            if not line.strip():
                continue
            name, sep, val = line.partition("=")
            if not sep or not name.strip():
                raise ValidationError({"custom": _("Write one name=value a line.")})
            pairs[name.strip()] = val.strip()
        value = pairs
    if not isinstance(value, dict) or len(value) > MAX_CUSTOM:
        raise ValidationError({"custom": _("At most 50 custom parameters.")})
    clean: dict[str, str] = {}
    for name, val in value.items():
        if not isinstance(name, str) or not isinstance(val, str | int | float | bool):
            raise ValidationError({"custom": _("Custom parameters are names and texts.")})
        if len(name) > 100 or len(str(val)) > 1000:
            raise ValidationError({"custom": _("A custom parameter is too long.")})
        clean[name] = str(val)
    return clean


TOOL_FIELDS = {
    "name", "description", "login_url", "launch_url", "deep_linking_url", "redirect_uris",
    "jwks_url", "public_key", "share_name", "share_email", "custom", "is_active",
}  # fmt: skip


def _apply_tool_fields(tool: Tool, fields: dict[str, Any]) -> None:
    unknown = set(fields) - TOOL_FIELDS
    if unknown:
        raise ValidationError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    for name, value in fields.items():
        if name == "custom":
            value = _clean_custom(value)
        elif name in {"name", "description"}:
            value = sanitize.plain(value or "").strip()
        setattr(tool, name, value)
    if not tool.jwks_url and not tool.public_key.strip():
        raise ValidationError({"jwks_url": _("Give the tool's JWKS URL or its public key.")})
    if tool.public_key.strip():
        try:
            lti.tool_keys(tool)
        except LTIError as exc:
            raise ValidationError({"public_key": _("This is not an RSA public key.")}) from exc


def _new_tool(*, space: Space, actor: User) -> Tool:
    """A tool of ``space`` with the client id and deployment id we assign."""
    return Tool(
        space=space,
        created_by=actor,
        client_id=uuid.uuid4().hex,
        deployment_id=f"lyceum-{space.pk}-{secrets.token_hex(4)}",
    )


@transaction.atomic
def tool_create(*, actor: User, space: Space, **fields: Any) -> Tool:
    """Register a tool in ``space``; we assign its client id and deployment id."""
    if not selectors.can_manage_tools(user=actor, space_id=space.pk):
        raise PermissionDenied(_("Only administrators register external tools."))
    tool = _new_tool(space=space, actor=actor)
    _apply_tool_fields(tool, fields)
    tool.full_clean()
    tool.save()
    lti.key_ensure()
    return tool


@transaction.atomic
def tool_update(*, actor: User, tool: Tool, **fields: Any) -> Tool:
    if not selectors.can_manage_tools(user=actor, space_id=tool.space_id):
        raise PermissionDenied(_("Only administrators change external tools."))
    _apply_tool_fields(tool, fields)
    if tool.is_active:
        tool.pending = False  # activated: a registered tool like any other
    tool.full_clean()
    tool.save()
    return tool


# -- LTI Dynamic Registration ----------------------------------------------------------------
REGISTRATION_TTL = 600


def registration_start(
    *,
    actor: User,
    space: Space,
    initiation_url: str,
    allow_grades: bool = True,
    allow_roster: bool = True,
    share_name: bool = True,
    share_email: bool = False,
) -> tuple[str, str, RegistrationToken]:
    """An administrator starts a tool's dynamic registration: a one-time registration
    token (10 minutes, bound to ``space`` and ``actor``) and the URL to open, the tool's
    registration initiation URL with our space's ``openid_configuration`` and the token.
    Returns (that URL, the token, its row)."""
    if not selectors.can_manage_tools(user=actor, space_id=space.pk):
        raise PermissionDenied(_("Only administrators register external tools."))
    problem = registration.url_problem(initiation_url)
    if problem:
        raise ValidationError({"initiation_url": _("This is not a URL Lyceum can open.")})
    scopes = [
        *(lti.AGS_SCOPES if allow_grades else ()),
        *([lti.NRPS_SCOPE] if allow_roster else ()),
    ]
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    RegistrationToken.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    row = RegistrationToken.objects.create(
        token_hash=_hash(token),
        space=space,
        created_by=actor,
        initiation_url=initiation_url,
        scopes=scopes,
        share_name=share_name,
        share_email=share_email,
        expires_at=now + timedelta(seconds=REGISTRATION_TTL),
    )
    params = {
        "openid_configuration": lti.absolute("externaltools-space-openid-configuration", space.pk),
        "registration_token": token,
    }
    separator = "&" if "?" in initiation_url else "?"
    return f"{initiation_url}{separator}{urlencode(params)}", token, row


def _registration_token(*, space_id: int, header: str) -> RegistrationToken:
    """The unspent, unexpired registration token of ``Authorization: Bearer``, for this
    space, whose administrator may still register tools there."""
    kind, _sep, token = (header or "").partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise registration.RegistrationError(
            "A registration token is required.", error="invalid_token", status=401
        )
    row = (
        RegistrationToken.objects.select_related("space", "created_by")
        .filter(token_hash=_hash(token.strip()), space_id=space_id)
        .first()
    )
    if (
        row is None
        or row.used_at is not None
        or row.expires_at <= timezone.now()
        or not selectors.can_manage_tools(user=row.created_by, space_id=space_id)
    ):
        raise registration.RegistrationError(
            "The registration token is unknown, spent or expired.",
            error="invalid_token",
            status=401,
        )
    return row


def registration_complete(*, space_id: int, header: str, body: bytes) -> dict[str, Any]:
    """A tool's registration request (LTI Dynamic Registration): with a valid token, the
    tool is registered in the token's space **awaiting an administrator's activation**
    (inactive until then), with the scopes both it asked for and the administrator
    allowed, and the token is spent. Returns the registration to answer with; raises
    :class:`registration.RegistrationError` (nothing written) otherwise."""
    row = _registration_token(space_id=space_id, header=header)
    request = registration.parse(body)
    claims = set(request.claims) if request.claims is not None else None
    wants_name = claims is None or bool(claims & registration.NAME_CLAIMS)
    wants_email = claims is None or "email" in claims
    tool = _new_tool(space=row.space, actor=row.created_by)
    tool.is_active, tool.pending = False, True
    tool.scopes = [s for s in lti.SCOPES if s in request.scopes and s in row.scopes]
    try:
        _apply_tool_fields(
            tool,
            {
                "name": request.name,
                "description": request.description,
                "login_url": request.login_url,
                "launch_url": request.launch_url,
                "deep_linking_url": request.deep_linking_url,
                "redirect_uris": "\n".join(request.redirect_uris),
                "jwks_url": request.jwks_url,
                "share_name": row.share_name and wants_name,
                "share_email": row.share_email and wants_email,
                "custom": request.custom,
            },
        )
        if not tool.name:
            raise ValidationError({"name": "client_name is empty."})
        tool.full_clean()
    except ValidationError as exc:
        raise registration.RegistrationError("; ".join(exc.messages)) from exc
    with transaction.atomic():
        # Spent here, at most once: of two requests racing with one token, one registers.
        spent = RegistrationToken.objects.filter(
            pk=row.pk, used_at__isnull=True, expires_at__gt=timezone.now()
        ).update(used_at=timezone.now())
        if not spent:
            raise registration.RegistrationError(
                "The registration token is spent or expired.", error="invalid_token", status=401
            )
        tool.save()
        RegistrationToken.objects.filter(pk=row.pk).update(tool=tool)
        lti.key_ensure()
    return registration.response(tool, request)


# -- external tool activities ---------------------------------------------------------------
@transaction.atomic
def external_activity_create(
    *,
    user: User,
    module: Module,
    tool: Tool,
    title: str,
    url: str = "",
    custom: Any = None,
    presentation: str = Presentation.IFRAME,
    pass_percent: int = 0,
    score_maximum: float = 100,
    resource_id: str = "",
) -> ExternalActivity:
    """A course activity that launches ``tool`` (at ``url``, else its launch URL), with a
    line item its scores come back to."""
    course = module.course
    if not can_edit_course(user=user, course=course):
        raise PermissionDenied(_("Only the trainers of this course may change it."))
    if tool.space_id != course.space_id or not tool.is_active:
        raise ValidationError({"tool": _("This tool is not available in this course's space.")})
    if presentation not in Presentation.values:
        raise ValidationError({"presentation": _("Open in a frame or in a new window.")})
    if not 0 <= int(pass_percent) <= 100:
        raise ValidationError({"pass_percent": _("A pass mark is from 0 to 100.")})
    if not (isinstance(score_maximum, int | float) and 0 < score_maximum <= 1_000_000):
        raise ValidationError({"score_maximum": _("The maximum score must be positive.")})
    activity = classrooms_services.activity_create(user=user, module=module, title=title, kind=KIND)
    external = ExternalActivity(
        activity=activity,
        tool=tool,
        url=url or "",
        custom=_clean_custom(custom or {}),
        presentation=presentation,
        pass_percent=int(pass_percent),
    )
    external.full_clean()
    external.save()
    LineItem.objects.create(
        tool=tool,
        course=course,
        activity=external,
        label=activity.title,
        score_maximum=float(score_maximum),
        resource_id=str(resource_id)[:200],
    )
    return external


# -- the launch -----------------------------------------------------------------------------
def login_initiation_url(
    *,
    user: User,
    tool: Tool,
    external: ExternalActivity | None = None,
    module: Module | None = None,
) -> str:
    """Where to send the browser to start a launch (``external``) or a deep linking
    request (``module``): the tool's login initiation URL with our signed hint. Writes
    nothing: the hint carries what the authorization endpoint needs."""
    if external is not None:
        if not selectors.can_launch(user=user, external=external):
            raise PermissionDenied(_("You may not open this activity."))
        hint = {"u": user.pk, "t": tool.pk, "x": external.pk}
        target = external.target_link_uri
    else:
        if module is None or not tool.deep_linking_url:
            raise ValidationError(_("This tool offers no content to pick."))
        if not can_edit_course(user=user, course=module.course):
            raise PermissionDenied(_("Only the trainers of this course may change it."))
        if tool.space_id != module.course.space_id or not tool.is_active:
            raise PermissionDenied(_("This tool is not available in this course's space."))
        hint = {"u": user.pk, "t": tool.pk, "m": module.pk}
        target = tool.deep_linking_url
    params = {
        "iss": lti.issuer(),
        "login_hint": str(user.pk),
        "target_link_uri": target,
        "lti_message_hint": signing.dumps(hint, salt=HINT_SALT),
        "client_id": tool.client_id,
        "lti_deployment_id": tool.deployment_id,
    }
    separator = "&" if "?" in tool.login_url else "?"
    return f"{tool.login_url}{separator}{urlencode(params)}"


def _user_claims(user: User, tool: Tool) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    if tool.share_name:
        claims["name"] = user.name
        if user.first_name:
            claims["given_name"] = user.first_name
        if user.last_name:
            claims["family_name"] = user.last_name
    if tool.share_email and user.email:
        claims["email"] = user.email
    return claims


def _context_claim(course: Course) -> dict[str, Any]:
    return {
        "id": str(course.pk),
        "label": course.title[:60],
        "title": course.title,
        "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
    }


def _substitute(custom: dict[str, str], user: User, course: Course) -> dict[str, str]:
    """LTI variable substitution for the few variables we know."""
    values = {
        "$User.id": str(user.pk),
        "$User.username": user.username,
        "$Context.id": str(course.pk),
        "$Context.title": course.title,
    }
    return {k: values.get(v, v) for k, v in custom.items()}


def _service_claims(tool: Tool, course: Course, line_item: LineItem | None) -> dict[str, Any]:
    """The AGS and NRPS claims, each only if the tool was granted its scopes."""
    claims: dict[str, Any] = {}
    ags_scopes = [s for s in lti.AGS_SCOPES if s in tool.scopes]
    if ags_scopes:
        ags: dict[str, Any] = {
            "scope": ags_scopes,
            "lineitems": lti.absolute("externaltools-lineitems", course.pk),
        }
        if line_item is not None:
            ags["lineitem"] = lti.absolute("externaltools-lineitem", course.pk, line_item.pk)
        claims[lti.AGS] = ags
    if lti.NRPS_SCOPE in tool.scopes:
        claims[lti.NRPS] = {
            "context_memberships_url": lti.absolute("externaltools-memberships", course.pk),
            "service_versions": ["2.0"],
        }
    return claims


def id_token_for(
    *,
    user: User,
    client_id: str,
    redirect_uri: str,
    login_hint: str,
    message_hint: str,
    nonce: str,
) -> tuple[Tool, str]:
    """The authorization endpoint's work: check the tool's authentication request against
    our signed hint and the person signed in, and sign the id_token. Writes nothing."""
    try:
        hint = signing.loads(message_hint, salt=HINT_SALT, max_age=HINT_MAX_AGE)
    except signing.BadSignature as exc:
        raise LTIError("The launch has expired or was not started here.") from exc
    if str(hint.get("u")) != str(user.pk) or login_hint != str(user.pk):
        raise LTIError("The launch was started by someone else.")
    tool = Tool.objects.filter(pk=hint.get("t"), is_active=True).first()
    if tool is None or tool.client_id != client_id:
        raise LTIError("Unknown client.")
    if not nonce or len(nonce) > 200:
        raise LTIError("The request has no nonce.")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": lti.issuer(),
        "aud": tool.client_id,
        "azp": tool.client_id,
        "sub": str(user.pk),
        "iat": now,
        "exp": now + lti.ID_TOKEN_TTL,
        "nonce": nonce,
        lti.LTI + "version": LTI_VERSION,
        lti.LTI + "deployment_id": tool.deployment_id,
        "https://purl.imsglobal.org/spec/lti/claim/tool_platform": {
            "guid": lti.issuer(),
            "name": "Lyceum",
            "product_family_code": "lyceum",
        },
        lti.LTI + "launch_presentation": {"locale": user.language or "en"},
        **_user_claims(user, tool),
    }
    if "x" in hint:
        external = (
            ExternalActivity.objects.select_related("activity__course", "tool")
            .filter(pk=hint["x"], tool=tool)
            .first()
        )
        if external is None or not selectors.can_launch(user=user, external=external):
            raise LTIError("You may not open this activity.")
        course = external.activity.course
        activity = external.activity
        claims.update(
            {
                lti.LTI + "message_type": "LtiResourceLinkRequest",
                lti.LTI + "target_link_uri": external.target_link_uri,
                lti.LTI + "resource_link": {
                    "id": f"activity-{activity.pk}",
                    "title": activity.title,
                },
                lti.LTI + "custom": _substitute({**tool.custom, **external.custom}, user, course),
                **_service_claims(tool, course, external.line_items.first()),
            }
        )
        claims[lti.LTI + "launch_presentation"]["document_target"] = external.presentation
        claims[lti.LTI + "launch_presentation"]["return_url"] = lti.issuer() + (
            activity.get_absolute_url()
        )
    else:
        module = Module.objects.select_related("course").filter(pk=hint.get("m")).first()
        if module is None or not can_edit_course(user=user, course=module.course):
            raise LTIError("You may not change this course.")
        course = module.course
        data = signing.dumps(
            {"u": user.pk, "t": tool.pk, "m": module.pk, "n": secrets.token_hex(8)},
            salt=DEEP_LINK_SALT,
        )
        claims.update(
            {
                lti.LTI + "message_type": "LtiDeepLinkingRequest",
                lti.LTI + "target_link_uri": tool.deep_linking_url,
                lti.DL + "deep_linking_settings": {
                    "deep_link_return_url": lti.absolute("externaltools-deep-link-return"),
                    "accept_types": ["ltiResourceLink"],
                    "accept_presentation_document_targets": ["iframe", "window"],
                    "accept_multiple": True,
                    "auto_create": True,
                    "title": course.title,
                    "data": data,
                },
                lti.LTI + "custom": _substitute(dict(tool.custom), user, course),
                **_service_claims(tool, course, None),
            }
        )
    # The registered URLs, or the launch's own target link (the tool's launch URL or a link
    # it gave us in a signed deep linking response).
    target = claims[lti.LTI + "target_link_uri"]
    if redirect_uri not in tool.allowed_redirects() | {target}:
        raise LTIError("This redirect URL is not registered for the tool.")
    claims[lti.LTI + "roles"] = selectors.lti_roles(user=user, course=course)
    claims[lti.LTI + "context"] = _context_claim(course)
    return tool, lti.sign(claims)


# -- deep linking ---------------------------------------------------------------------------
MAX_ITEMS = 20


def deep_link_response(*, token: str, user: Any) -> tuple[Module, list[ExternalActivity]]:
    """The tool's LtiDeepLinkingResponse: checked (signature against the tool's keys,
    issuer, audience, expiry, nonce not seen before, our ``data`` back untouched and
    unused, the same person), then each ``ltiResourceLink`` becomes an activity of the
    module. All or nothing."""
    issuer = lti.unverified_claims(token).get("iss")
    tool = Tool.objects.filter(client_id=str(issuer), is_active=True).first()
    if tool is None:
        raise LTIError("The response does not come from a registered tool.")
    claims = lti.verify_tool_jwt(tool, token, audience=lti.issuer())
    if claims.get(lti.LTI + "message_type") != "LtiDeepLinkingResponse":
        raise LTIError("This is not a deep linking response.")
    if claims.get(lti.LTI + "version") != LTI_VERSION:
        raise LTIError("Unsupported LTI version.")
    if claims.get(lti.LTI + "deployment_id") != tool.deployment_id:
        raise LTIError("Unknown deployment.")
    try:
        data = signing.loads(
            str(claims.get(lti.DL + "data")), salt=DEEP_LINK_SALT, max_age=lti.MAX_MESSAGE_AGE
        )
    except signing.BadSignature as exc:
        raise LTIError("The response does not answer a request of ours.") from exc
    if data.get("t") != tool.pk:
        raise LTIError("The response answers another tool's request.")
    if getattr(user, "is_authenticated", False) and user.pk != data.get("u"):
        raise LTIError("The response answers someone else's request.")
    items = claims.get(lti.DL + "content_items") or []
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise LTIError("Too many content items.")
    with transaction.atomic():
        lti.nonce_use(tool, claims.get("nonce"))
        lti.nonce_use(tool, "dl-data:" + str(data.get("n")))
        module = Module.objects.select_related("course").get(pk=data["m"])
        author = User.objects.get(pk=data["u"])
        created = []
        for item in items:
            if not isinstance(item, dict) or item.get("type") != "ltiResourceLink":
                continue
            created.append(_activity_from_item(author, module, tool, item))
    return module, created


def _activity_from_item(
    user: User, module: Module, tool: Tool, item: dict[str, Any]
) -> ExternalActivity:
    line_item = item.get("lineItem") if isinstance(item.get("lineItem"), dict) else {}
    # The tool says where its content is best shown: a window, else a frame.
    window_only = "window" in item and "iframe" not in item
    presentation = Presentation.WINDOW if window_only else Presentation.IFRAME
    url = item.get("url") or ""
    if not isinstance(url, str) or len(url) > 500:
        raise LTIError("A content item's URL is not acceptable.")
    try:
        maximum = float(line_item.get("scoreMaximum", 100))
        return external_activity_create(
            user=user,
            module=module,
            tool=tool,
            title=str(item.get("title") or tool.name)[:200],
            url=url,
            custom=item.get("custom") or {},
            presentation=presentation,
            score_maximum=maximum,
            resource_id=str(line_item.get("resourceId", "")),
        )
    except (ValidationError, PermissionDenied, TypeError, ValueError) as exc:
        raise LTIError("A content item is not acceptable.") from exc


# -- OAuth 2 client credentials (AGS and NRPS) ----------------------------------------------
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_issue(*, assertion_type: str, assertion: str, scope: str) -> tuple[str, list[str]]:
    """A bearer token for a tool that proved itself with a JWT signed by its key (sub =
    iss = its client id, aud = our token endpoint, a ``jti`` never seen before)."""
    if assertion_type != CLIENT_ASSERTION_TYPE:
        raise LTIError("Unsupported client assertion type.")
    subject = lti.unverified_claims(assertion).get("sub")
    tool = Tool.objects.filter(client_id=str(subject), is_active=True).first()
    if tool is None:
        raise LTIError("Unknown client.")
    claims = lti.verify_tool_jwt(
        tool, assertion, audience=[lti.absolute("externaltools-token"), lti.issuer()]
    )
    if claims.get("sub") != tool.client_id:
        raise LTIError("The assertion's subject is not the tool.")
    # The known scopes asked for, among those the tool was granted at its registration.
    granted = [s for s in (scope or "").split() if s in lti.SCOPES and s in tool.scopes]
    if not granted:
        raise LTIError("No scope this platform grants was asked for.")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        lti.nonce_use(tool, "jti:" + str(claims.get("jti") or ""))
        AccessToken.objects.filter(expires_at__lt=timezone.now()).delete()
        AccessToken.objects.create(
            tool=tool,
            token_hash=_hash(token),
            scopes=granted,
            expires_at=timezone.now() + timedelta(seconds=TOKEN_TTL),
        )
    return token, granted


def token_check(*, header: str, scopes: set[str]) -> Tool:
    """The tool behind ``Authorization: Bearer <token>``, if the token grants one of
    ``scopes``; PermissionDenied otherwise."""
    kind, _sep, token = (header or "").partition(" ")
    if kind.lower() != "bearer" or not token:
        raise PermissionDenied("A bearer token is required.")
    row = (
        AccessToken.objects.select_related("tool")
        .filter(token_hash=_hash(token.strip()), expires_at__gt=timezone.now())
        .first()
    )
    if row is None or not row.tool.is_active:
        raise PermissionDenied("The token is unknown or has expired.")
    if not scopes & set(row.scopes):
        raise PermissionDenied("The token does not grant this.")
    return row.tool


# -- Assignment and Grade Services ----------------------------------------------------------
def line_item_create(*, tool: Tool, course: Course, data: dict[str, Any]) -> LineItem:
    """A line item the tool makes itself (``resourceLinkId`` ties it to one of its
    activities in the course)."""
    label = data.get("label")
    maximum = data.get("scoreMaximum")
    if not isinstance(label, str) or not label.strip() or len(label) > 200:
        raise ValidationError({"label": "A label is required."})
    if not isinstance(maximum, int | float) or isinstance(maximum, bool) or maximum <= 0:
        raise ValidationError({"scoreMaximum": "A positive scoreMaximum is required."})
    external = None
    link = data.get("resourceLinkId")
    if link is not None:
        pk = str(link).removeprefix("activity-")
        external = ExternalActivity.objects.filter(
            activity_id=int(pk) if pk.isdigit() else 0, tool=tool, activity__course=course
        ).first()
        if external is None:
            raise ValidationError({"resourceLinkId": "Unknown resource link."})
    return LineItem.objects.create(
        tool=tool,
        course=course,
        activity=external,
        label=sanitize.plain(label)[:200],
        score_maximum=float(maximum),
        resource_id=str(data.get("resourceId") or "")[:200],
        tag=str(data.get("tag") or "")[:200],
    )


def _timestamp(value: Any) -> datetime:
    when = parse_datetime(value) if isinstance(value, str) else None
    if when is None or when.tzinfo is None:
        raise ValidationError({"timestamp": "An ISO 8601 timestamp with a time zone."})
    return when


@transaction.atomic
def score_post(*, tool: Tool, line_item: LineItem, data: dict[str, Any]) -> Score:
    """A learner's score from the tool. Older than the one kept: refused (409, LTI AGS).
    A completed or fully graded score at or above the activity's pass mark completes the
    activity for the learner, through classrooms' completion service (progress, course
    completion and the live progress grid follow)."""
    user_id = data.get("userId")
    user = User.objects.filter(pk=int(user_id)).first() if str(user_id).isdigit() else None
    course = line_item.course
    if user is None or not selectors.is_member(user=user, course=course):
        raise ValidationError({"userId": "Not a member of this course."})
    activity_progress = data.get("activityProgress")
    grading_progress = data.get("gradingProgress")
    if activity_progress not in ACTIVITY_PROGRESS or grading_progress not in GRADING_PROGRESS:
        raise ValidationError({"activityProgress": "Unknown activityProgress or gradingProgress."})
    given, maximum = data.get("scoreGiven"), data.get("scoreMaximum")
    for name, value in (("scoreGiven", given), ("scoreMaximum", maximum)):
        if value is not None and (
            not isinstance(value, int | float) or isinstance(value, bool) or value < 0
        ):
            raise ValidationError({name: "A number, 0 or more."})
    if given is not None and not maximum:
        raise ValidationError({"scoreMaximum": "A scoreGiven needs a positive scoreMaximum."})
    when = _timestamp(data.get("timestamp"))
    comment = data.get("comment") or ""
    if not isinstance(comment, str) or len(comment) > 5000:
        raise ValidationError({"comment": "At most 5000 characters."})
    score = Score.objects.select_for_update().filter(line_item=line_item, user=user).first()
    if score is not None and when <= score.timestamp:
        raise classrooms_services.Conflict("A newer score is already kept.")
    score = score or Score(line_item=line_item, user=user)
    score.score_given = float(given) if given is not None else None
    score.score_maximum = float(maximum) if maximum is not None else None
    score.activity_progress = activity_progress
    score.grading_progress = grading_progress
    score.comment = sanitize.plain(comment)
    score.timestamp = when
    score.save()
    if line_item.activity is not None and score.percent is not None:
        # The progress grid shows it in the activity's cell (as a quiz's best score).
        realtime.publish(
            course.progress_topic,
            "activity.scored",
            {
                "course": course.pk,
                "activity": line_item.activity.activity_id,
                "user": {"id": user.pk, "name": user.name},
                "score": score.percent,
            },
        )
    external = line_item.activity
    finished = activity_progress == "Completed" or grading_progress == "FullyGraded"
    if external is not None and finished:
        percent = score.percent
        if percent is None or percent >= external.pass_percent:
            classrooms_services.activity_complete(
                user=user, activity=external.activity, source="lti_score"
            )
    return score


def line_item_payload(item: LineItem) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": lti.absolute("externaltools-lineitem", item.course_id, item.pk),
        "label": item.label,
        "scoreMaximum": item.score_maximum,
    }
    if item.activity_id:
        data["resourceLinkId"] = f"activity-{item.activity.activity_id}"
    if item.resource_id:
        data["resourceId"] = item.resource_id
    if item.tag:
        data["tag"] = item.tag
    return data


def result_payload(score: Score) -> dict[str, Any]:
    item = score.line_item
    base = lti.absolute("externaltools-lineitem", item.course_id, item.pk)
    data: dict[str, Any] = {
        "id": f"{base}/results/{score.user_id}",
        "scoreOf": base,
        "userId": str(score.user_id),
    }
    if score.score_given is not None:
        data["resultScore"] = score.score_given
        data["resultMaximum"] = score.score_maximum
    if score.comment:
        data["comment"] = score.comment
    return data


def activity_of(activity: Activity) -> ExternalActivity | None:
    return ExternalActivity.objects.select_related("tool").filter(activity=activity).first()
