"""A SCIM 2.0 server (RFC 7643/7644) per space: ``/scim/v2/``, bearer tokens per space.

Users are the space's members; Groups are the space's teams. Resources are validated and
patched with ``scim2-models`` against the schemas this server publishes (``/Schemas``):
an attribute a schema does not list is refused (``invalidSyntax``), a wrong type too
(``invalidValue``), an id from another space is not found (404) or refused in a group's
``members`` (``invalidValue``). Writes are atomic; SCIM changes go to the audit log.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

import pydantic
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from scim2_models import (
    Context,
    Group,
    PatchOp,
    Resource,
    ResponseParameters,
    Schema,
    SCIMException,
    User,
)

from hub.accounts.models import Space, SpaceMembership, Team
from identity import hooks, people
from identity.models import ScimGroup, ScimToken, ScimUser, hash_token
from identity.scim_filter import FilterError, bool_field, id_field, parse, text_field

UserModel = get_user_model()

PREFIX = "/scim/v2"
CONTENT_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
MAX_RESULTS = 1000
MAX_BODY = 1_000_000

USER_ATTRIBUTES = {"userName", "name", "displayName", "emails", "active", "groups"}
NAME_SUBS = {"givenName", "familyName", "formatted"}
GROUP_ATTRIBUTES = {"displayName", "members"}


# -- schemas and models ------------------------------------------------------------------
@cache
def user_schema() -> Schema:
    schema = User.to_schema()
    schema.attributes = [a for a in schema.attributes if a.name in USER_ATTRIBUTES]
    for attr in schema.attributes:
        if attr.name == "name":
            attr.sub_attributes = [s for s in attr.sub_attributes if s.name in NAME_SUBS]
    return schema


@cache
def group_schema() -> Schema:
    schema = Group.to_schema()
    schema.attributes = [a for a in schema.attributes if a.name in GROUP_ATTRIBUTES]
    for attr in schema.attributes:
        if attr.name == "members":
            # A member's display name is the person's name, not something a client sets.
            attr.sub_attributes = [s for s in attr.sub_attributes if s.name != "display"]
    return schema


@cache
def user_model() -> type[Resource]:
    return Resource.from_schema(user_schema())


@cache
def group_model() -> type[Resource]:
    return Resource.from_schema(group_schema())


class ScimError(Exception):
    def __init__(self, status: int, detail: str, scim_type: str = "") -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type


def error_response(status: int, detail: str, scim_type: str = "") -> HttpResponse:
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    response = scim_response(body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="scim"'
    return response


def scim_response(body: Any, status: int = 200, location: str | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(body, default=str), status=status, content_type=CONTENT_TYPE)
    if location:
        response["Location"] = location
    return response


def pydantic_error(exc: pydantic.ValidationError) -> ScimError:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    if first.get("type") == "extra_forbidden":
        return ScimError(400, f"Unknown attribute: {where}", "invalidSyntax")
    return ScimError(400, f"{where}: {first.get('msg', 'invalid value')}", "invalidValue")


def validate_payload(model: type[Resource], body: Any, ctx: Context) -> Resource:
    if not isinstance(body, dict):
        raise ScimError(400, "A JSON object is expected.", "invalidSyntax")
    try:
        return model.model_validate(body, scim_ctx=ctx)
    except SCIMException as exc:
        raise ScimError(exc.status, exc.detail, exc.scim_type) from exc
    except pydantic.ValidationError as exc:
        raise pydantic_error(exc) from exc


# -- authentication ----------------------------------------------------------------------
def token_space(request: HttpRequest) -> tuple[ScimToken, Space]:
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise ScimError(401, "A bearer token is required.")
    token = (
        ScimToken.objects.select_related("space", "created_by")
        .filter(token_hash=hash_token(raw.strip()), revoked_at__isnull=True)
        .first()
    )
    if token is None:
        raise ScimError(401, "The bearer token is unknown or revoked.")
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token, token.space


# -- representation ----------------------------------------------------------------------
def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def location(request: HttpRequest, kind: str, pk: Any) -> str:
    return request.build_absolute_uri(f"{PREFIX}/{kind}/{pk}")


def user_resource(request: HttpRequest, space: Space, user: Any) -> dict[str, Any]:
    rec = (
        next((r for r in user.space_scim if r.space_id == space.pk), None)
        if hasattr(user, "space_scim")
        else ScimUser.objects.filter(space=space, user=user).first()
    )
    data = dict(rec.data) if rec else {}
    out: dict[str, Any] = {"schemas": [USER_SCHEMA], "id": str(user.pk)}
    if rec and rec.external_id:
        out["externalId"] = rec.external_id
    out["userName"] = user.username
    name = dict(data.get("name") or {})
    name.pop("givenName", None)
    name.pop("familyName", None)
    if user.first_name:
        name["givenName"] = user.first_name
    if user.last_name:
        name["familyName"] = user.last_name
    if name:
        out["name"] = name
    if user.display_name:
        out["displayName"] = user.display_name
    emails = [dict(e) for e in data.get("emails") or []]
    if user.email and not any(e.get("value", "").lower() == user.email.lower() for e in emails):
        primary = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
        if primary is None:
            emails = [{"value": user.email, "primary": True}]
        else:
            primary["value"] = user.email
    if emails:
        out["emails"] = emails
    # Shown when the client set it (a client may also remove it) or the person is inactive.
    if "active" in data or (not user.is_active and not data.get("active_removed")):
        out["active"] = user.is_active
    teams = getattr(user, "space_teams", None)
    if teams is None:
        teams = list(user.teams.filter(space=space))
    if teams:
        out["groups"] = [
            {"value": str(t.pk), "display": t.name, "$ref": location(request, "Groups", t.pk)}
            for t in teams
        ]
    modified = rec.updated_at if rec else user.date_joined
    out["meta"] = {
        "resourceType": "User",
        "created": iso(rec.created_at if rec else user.date_joined),
        "lastModified": iso(modified),
        "location": location(request, "Users", user.pk),
    }
    return out


def group_resource(request: HttpRequest, space: Space, team: Team) -> dict[str, Any]:
    rec = getattr(team, "scim", None) if hasattr(team, "_state") else None
    try:
        rec = team.scim
    except ScimGroup.DoesNotExist:
        rec = None
    out: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": str(team.pk)}
    if rec and rec.external_id:
        out["externalId"] = rec.external_id
    out["displayName"] = team.name
    members = list(team.members.all())
    if members:
        out["members"] = [
            {
                "value": str(m.pk),
                "$ref": location(request, "Users", m.pk),
                "type": "User",
            }
            for m in members
        ]
    created = rec.created_at if rec else space.created_at
    out["meta"] = {
        "resourceType": "Group",
        "created": iso(created),
        "lastModified": iso(rec.updated_at if rec else created),
        "location": location(request, "Groups", team.pk),
    }
    return out


def shaped(model: type[Resource], body: dict[str, Any], request: HttpRequest) -> dict[str, Any]:
    """``attributes`` / ``excludedAttributes`` applied through the model."""
    attributes = split_list(request.GET.get("attributes"))
    excluded = split_list(request.GET.get("excludedAttributes"))
    return shape(model, body, attributes, excluded)


def shape(
    model: type[Resource], body: dict[str, Any], attributes: list[str], excluded: list[str]
) -> dict[str, Any]:
    resource = model.model_validate(body)
    params = None
    if attributes or excluded:
        try:
            params = ResponseParameters(
                attributes=attributes or None, excluded_attributes=excluded or None
            )
        except (pydantic.ValidationError, SCIMException) as exc:
            raise ScimError(
                400,
                "attributes and excludedAttributes exclude each other, and name attributes.",
                "invalidValue",
            ) from exc
    return resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=params)


def split_list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


# -- queries -----------------------------------------------------------------------------
def users_of(space: Space):
    return (
        UserModel.objects.filter(space_memberships__space=space)
        .prefetch_related(
            Prefetch(
                "scim_records", queryset=ScimUser.objects.filter(space=space), to_attr="space_scim"
            ),
            Prefetch("teams", queryset=Team.objects.filter(space=space), to_attr="space_teams"),
        )
        .order_by("pk")
    )


def user_fields(space: Space) -> dict[str, Any]:
    def external(op: str, value: Any) -> Q:
        inner = text_field("external_id")(op if op != "ne" else "eq", value)
        q = Q(pk__in=ScimUser.objects.filter(inner, space=space).values("user_id"))
        return ~q if op == "ne" else q

    email = text_field("email")
    return {
        "id": id_field("pk"),
        "username": text_field("username"),
        "externalid": external,
        "emails": email,
        "emails.value": email,
        "displayname": text_field("display_name"),
        "name.givenname": text_field("first_name"),
        "name.familyname": text_field("last_name"),
        "active": bool_field("is_active"),
    }


def group_fields(space: Space) -> dict[str, Any]:
    def external(op: str, value: Any) -> Q:
        inner = text_field("external_id")(op if op != "ne" else "eq", value)
        q = Q(pk__in=ScimGroup.objects.filter(inner, team__space=space).values("team_id"))
        return ~q if op == "ne" else q

    return {
        "id": id_field("pk"),
        "displayname": text_field("name"),
        "externalid": external,
        "members": id_field("members__pk"),
        "members.value": id_field("members__pk"),
    }


def list_response(
    request: HttpRequest,
    queryset: Any,
    fields: dict[str, Any],
    render: Any,
    model: type[Resource],
    params: dict[str, Any],
) -> HttpResponse:
    text = params.get("filter")
    if text:
        try:
            queryset = queryset.filter(parse(str(text), fields)).distinct()
        except FilterError as exc:
            raise ScimError(400, str(exc), "invalidFilter") from exc
    try:
        start = max(1, int(params.get("startIndex") or 1))
        count = int(params.get("count") if params.get("count") not in (None, "") else 100)
    except (TypeError, ValueError) as exc:
        raise ScimError(400, "startIndex and count are integers.", "invalidValue") from exc
    count = max(0, min(count, MAX_RESULTS))
    total = queryset.count()
    page = list(queryset[start - 1 : start - 1 + count]) if count else []
    attributes = split_list(params.get("attributes"))
    excluded = split_list(params.get("excludedAttributes"))
    return scim_response(
        {
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(page),
            "Resources": [shape(model, render(obj), attributes, excluded) for obj in page],
        }
    )


# -- writes ------------------------------------------------------------------------------
def primary_email(resource: Any) -> str:
    emails = resource.emails or []
    chosen = next((e for e in emails if e.primary), emails[0] if emails else None)
    value = (chosen.value or "") if chosen else ""
    if value:
        try:
            validate_email(value)
        except ValidationError as exc:
            raise ScimError(400, f"Not an e-mail address: {value}", "invalidValue") from exc
    return value


def stored_data(resource: Any, previous: dict[str, Any] | None) -> dict[str, Any]:
    dumped = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    data = {k: dumped[k] for k in ("name", "emails") if k in dumped}
    if resource.active is not None:
        data["active"] = resource.active
    elif previous is not None and ("active" in previous or previous.get("active_removed")):
        data["active_removed"] = True
    return data


@transaction.atomic
def user_write(
    *, token: ScimToken, space: Space, user: Any | None, resource: Any, request: HttpRequest
) -> tuple[Any, bool]:
    username = (resource.user_name or "").strip()
    if not username:
        raise ScimError(400, "userName is required.", "invalidValue")
    if len(username) > 150:
        raise ScimError(400, "userName is longer than 150 characters.", "invalidValue")
    clash = UserModel.objects.filter(username__iexact=username)
    if user is not None:
        clash = clash.exclude(pk=user.pk)
    if clash.exists():
        raise ScimError(409, f"userName {username!r} is taken.", "uniqueness")
    email = primary_email(resource)
    name = resource.name
    first = (name.given_name if name else None) or ""
    last = (name.family_name if name else None) or ""
    display = resource.display_name or ""
    if len(first) > 150 or len(last) > 150 or len(display) > 150 or len(email) > 254:
        raise ScimError(400, "A name or e-mail is too long.", "invalidValue")
    created = user is None
    if created:
        user = UserModel(username=username)
        user.set_unusable_password()
    user.username, user.email = username, email
    user.first_name, user.last_name, user.display_name = first, last, display
    user.save()
    if created:
        people.roles_replace(user=user, roles=["learner"])
    people.membership_ensure(space=space, user=user)
    record = ScimUser.objects.filter(space=space, user=user).first()
    previous = record.data if record else None
    ScimUser.objects.update_or_create(
        space=space,
        user=user,
        defaults={
            "external_id": resource.external_id or "",
            "data": stored_data(resource, previous),
        },
    )
    active = resource.active
    if active is False and user.is_active:
        hooks.deactivate(user=user, actor=token.created_by, reason="scim")
        user.is_active = False
    elif active is True and not user.is_active:
        hooks.reactivate(user=user, actor=token.created_by)
    hooks.audit(
        action="scim.user_created" if created else "scim.user_updated",
        actor=token.created_by,
        target=user,
        space=space,
        request=request,
        details={"token": token.name, "active": user.is_active},
    )
    return user, created


@transaction.atomic
def user_remove(*, token: ScimToken, space: Space, user: Any, request: HttpRequest) -> None:
    """DELETE: the person leaves the space (its teams too); an account left in no space is
    deactivated."""
    Team.members.through.objects.filter(user_id=user.pk, team__space=space).delete()
    SpaceMembership.objects.filter(space=space, user=user).delete()
    ScimUser.objects.filter(space=space, user=user).delete()
    if not SpaceMembership.objects.filter(user=user).exists():
        hooks.deactivate(user=user, actor=token.created_by, reason="scim-delete")
    hooks.audit(
        action="scim.user_removed",
        actor=token.created_by,
        target=user,
        space=space,
        request=request,
        details={"token": token.name},
    )


def member_ids(space: Space, resource: Any) -> list[int]:
    ids: list[int] = []
    for member in resource.members or []:
        value = str(member.value or "")
        if not (value.isascii() and value.isdigit() and len(value) < 19):
            raise ScimError(400, f"No member {value!r} in this space.", "invalidValue")
        ids.append(int(value))
    ids = sorted(set(ids))
    found = set(
        SpaceMembership.objects.filter(space=space, user_id__in=ids).values_list(
            "user_id", flat=True
        )
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise ScimError(400, f"No member {missing[0]} in this space.", "invalidValue")
    return ids


@transaction.atomic
def group_write(
    *, token: ScimToken, space: Space, team: Team | None, resource: Any, request: HttpRequest
) -> tuple[Team, bool]:
    name = (resource.display_name or "").strip()
    if not name:
        raise ScimError(400, "displayName is required.", "invalidValue")
    if len(name) > 120:
        raise ScimError(400, "displayName is longer than 120 characters.", "invalidValue")
    ids = member_ids(space, resource)
    created = team is None
    if created:
        team = Team.objects.create(space=space, name=name, manager=token.created_by)
    elif team.name != name:
        team.name = name
        team.save(update_fields=["name"])
    before = set(team.members.values_list("pk", flat=True))
    team.members.set(ids)
    ScimGroup.objects.update_or_create(
        team=team, defaults={"external_id": resource.external_id or ""}
    )
    hooks.audit(
        action="scim.group_created" if created else "scim.group_updated",
        actor=token.created_by,
        target=team,
        space=space,
        request=request,
        details={
            "token": token.name,
            "added": sorted(set(ids) - before),
            "removed": sorted(before - set(ids)),
        },
    )
    return team, created


# -- views -------------------------------------------------------------------------------
def read_json(request: HttpRequest) -> Any:
    if len(request.body) > MAX_BODY:
        raise ScimError(413, "The request is too large.")
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ScimError(400, "The body is not JSON.", "invalidSyntax") from exc


def scim_view(fn: Any) -> Any:
    @csrf_exempt
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            token, space = token_space(request)
            return fn(request, token, space, *args, **kwargs)
        except ScimError as exc:
            return error_response(exc.status, exc.detail, exc.scim_type)
        except SCIMException as exc:
            return error_response(exc.status, exc.detail, exc.scim_type)
        except IntegrityError:
            return error_response(409, "The change conflicts with existing data.", "uniqueness")

    view.__name__ = fn.__name__
    return view


def get_user(space: Space, pk: str) -> Any:
    if not (pk.isascii() and pk.isdigit() and len(pk) < 19):
        raise ScimError(404, "No such user.")
    user = users_of(space).filter(pk=int(pk)).first()
    if user is None:
        raise ScimError(404, "No such user.")
    return user


def get_team(space: Space, pk: str) -> Team:
    if not (pk.isascii() and pk.isdigit() and len(pk) < 19):
        raise ScimError(404, "No such group.")
    team = Team.objects.filter(space=space, pk=int(pk)).first()
    if team is None:
        raise ScimError(404, "No such group.")
    return team


def search_params(request: HttpRequest) -> dict[str, Any]:
    body = read_json(request)
    if not isinstance(body, dict):
        raise ScimError(400, "A SearchRequest object is expected.", "invalidSyntax")
    known = {
        "schemas",
        "filter",
        "startIndex",
        "count",
        "attributes",
        "excludedAttributes",
        "sortBy",
        "sortOrder",
    }
    unknown = set(body) - known
    if unknown:
        raise ScimError(400, f"Unknown attribute: {sorted(unknown)[0]}", "invalidSyntax")
    return body


@scim_view
def users(request: HttpRequest, token: ScimToken, space: Space) -> HttpResponse:
    if request.method == "GET":
        return list_response(
            request,
            users_of(space),
            user_fields(space),
            lambda u: user_resource(request, space, u),
            user_model(),
            request.GET,
        )
    if request.method == "POST":
        resource = validate_payload(
            user_model(), read_json(request), Context.RESOURCE_CREATION_REQUEST
        )
        user, _ = user_write(
            token=token, space=space, user=None, resource=resource, request=request
        )
        user = get_user(space, str(user.pk))
        body = user_resource(request, space, user)
        return scim_response(shaped(user_model(), body, request), 201, body["meta"]["location"])
    return error_response(405, "Method not allowed.")


@scim_view
def users_search(request: HttpRequest, token: ScimToken, space: Space) -> HttpResponse:
    if request.method != "POST":
        return error_response(405, "Method not allowed.")
    return list_response(
        request,
        users_of(space),
        user_fields(space),
        lambda u: user_resource(request, space, u),
        user_model(),
        search_params(request),
    )


@scim_view
def user_detail(request: HttpRequest, token: ScimToken, space: Space, pk: str) -> HttpResponse:
    user = get_user(space, pk)
    model = user_model()
    if request.method == "GET":
        return scim_response(shaped(model, user_resource(request, space, user), request))
    if request.method == "DELETE":
        user_remove(token=token, space=space, user=user, request=request)
        return HttpResponse(status=204)
    if request.method == "PUT":
        body = read_json(request)
        resource = validate_payload(model, body, Context.RESOURCE_REPLACEMENT_REQUEST)
        if resource.id not in (None, str(user.pk)):
            raise ScimError(400, "The id cannot change.", "mutability")
    elif request.method == "PATCH":
        resource = model.model_validate(user_resource(request, space, user))
        patch_apply(model, resource, read_json(request))
    else:
        return error_response(405, "Method not allowed.")
    user_write(token=token, space=space, user=user, resource=resource, request=request)
    user = get_user(space, pk)
    return scim_response(shaped(model, user_resource(request, space, user), request))


def patch_apply(model: type[Resource], resource: Any, body: Any) -> None:
    if not isinstance(body, dict):
        raise ScimError(400, "A PatchOp object is expected.", "invalidSyntax")
    try:
        patch = PatchOp[model].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        patch.patch(resource)
        # Validate the result as a replacement would be.
        model.model_validate(
            resource.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST),
            scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST,
        )
    except SCIMException as exc:
        raise ScimError(exc.status, exc.detail, exc.scim_type) from exc
    except pydantic.ValidationError as exc:
        raise pydantic_error(exc) from exc
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ScimError(400, f"The patch cannot be applied: {exc}", "invalidValue") from exc


def teams_of(space: Space):
    return (
        Team.objects.filter(space=space)
        .select_related("scim")
        .prefetch_related("members")
        .order_by("pk")
    )


@scim_view
def groups(request: HttpRequest, token: ScimToken, space: Space) -> HttpResponse:
    if request.method == "GET":
        return list_response(
            request,
            teams_of(space),
            group_fields(space),
            lambda t: group_resource(request, space, t),
            group_model(),
            request.GET,
        )
    if request.method == "POST":
        resource = validate_payload(
            group_model(), read_json(request), Context.RESOURCE_CREATION_REQUEST
        )
        team, _ = group_write(
            token=token, space=space, team=None, resource=resource, request=request
        )
        body = group_resource(request, space, get_team(space, str(team.pk)))
        return scim_response(shaped(group_model(), body, request), 201, body["meta"]["location"])
    return error_response(405, "Method not allowed.")


@scim_view
def groups_search(request: HttpRequest, token: ScimToken, space: Space) -> HttpResponse:
    if request.method != "POST":
        return error_response(405, "Method not allowed.")
    return list_response(
        request,
        teams_of(space),
        group_fields(space),
        lambda t: group_resource(request, space, t),
        group_model(),
        search_params(request),
    )


@scim_view
def group_detail(request: HttpRequest, token: ScimToken, space: Space, pk: str) -> HttpResponse:
    team = get_team(space, pk)
    model = group_model()
    if request.method == "GET":
        return scim_response(shaped(model, group_resource(request, space, team), request))
    if request.method == "DELETE":
        with transaction.atomic():
            hooks.audit(
                action="scim.group_deleted",
                actor=token.created_by,
                target=team,
                space=space,
                request=request,
                details={"name": team.name},
            )
            team.delete()
        return HttpResponse(status=204)
    if request.method == "PUT":
        resource = validate_payload(model, read_json(request), Context.RESOURCE_REPLACEMENT_REQUEST)
    elif request.method == "PATCH":
        resource = model.model_validate(group_resource(request, space, team))
        patch_apply(model, resource, read_json(request))
    else:
        return error_response(405, "Method not allowed.")
    group_write(token=token, space=space, team=team, resource=resource, request=request)
    team = get_team(space, pk)
    return scim_response(shaped(model, group_resource(request, space, team), request))


@csrf_exempt
def root_search(request: HttpRequest) -> HttpResponse:
    return error_response(501, "Searching several resource types at once is not supported.")


# -- discovery ---------------------------------------------------------------------------
def service_provider_config(request: HttpRequest) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": request.build_absolute_uri("/static/docs/SSO.md"),
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A token an administrator of the space makes (one per client).",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": request.build_absolute_uri(f"{PREFIX}/ServiceProviderConfig"),
        },
    }


def resource_types(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": name,
            "name": name,
            "endpoint": f"/{name}s",
            "description": description,
            "schema": schema,
            "meta": {
                "resourceType": "ResourceType",
                "location": request.build_absolute_uri(f"{PREFIX}/ResourceTypes/{name}"),
            },
        }
        for name, schema, description in (
            ("User", USER_SCHEMA, "The people of the space"),
            ("Group", GROUP_SCHEMA, "The teams of the space"),
        )
    ]


def schemas(request: HttpRequest) -> list[dict[str, Any]]:
    out = []
    for schema in (user_schema(), group_schema()):
        body = schema.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        body["meta"] = {
            "resourceType": "Schema",
            "location": request.build_absolute_uri(f"{PREFIX}/Schemas/{schema.id}"),
        }
        out.append(body)
    return out


def listed(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }


@scim_view
def spc_view(request: HttpRequest, token: ScimToken, space: Space) -> HttpResponse:
    if request.method != "GET":
        return error_response(405, "Method not allowed.")
    return scim_response(service_provider_config(request))


@scim_view
def resource_types_view(
    request: HttpRequest, token: ScimToken, space: Space, name: str | None = None
) -> HttpResponse:
    if request.method != "GET":
        return error_response(405, "Method not allowed.")
    items = resource_types(request)
    if name is None:
        return scim_response(listed(items))
    found = next((i for i in items if i["id"] == name), None)
    return scim_response(found) if found else error_response(404, "No such resource type.")


@scim_view
def schemas_view(
    request: HttpRequest, token: ScimToken, space: Space, schema_id: str | None = None
) -> HttpResponse:
    if request.method != "GET":
        return error_response(405, "Method not allowed.")
    items = schemas(request)
    if schema_id is None:
        return scim_response(listed(items))
    found = next((i for i in items if i["id"] == schema_id), None)
    return scim_response(found) if found else error_response(404, "No such schema.")


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return error_response(404, "No such endpoint.")
