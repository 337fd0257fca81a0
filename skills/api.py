"""REST endpoints of skills (under /api/v1/skills/): the framework (read, levels, CSV
import with a preview), links, assessments, targets, a person's skills, the team matrix."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from classrooms.models import Activity, Course
from hub.accounts.models import Role, Space, Team, User
from hub.accounts.selectors import is_space_member, spaces_of
from hub.api import JSONParser, validated
from hub.params import query_id
from leaderboards.models import BadgeDefinition
from sessions.models import Session
from skills import selectors, services
from skills.models import MAX_LEVELS, Assessment, AssessmentKind, Framework, Skill, SkillLink

SPACE_PARAM = OpenApiParameter(
    "space", int, description="The space (default: the caller's first space)."
)


def _space(request: Request) -> Space:
    """``?space=<id>`` among the caller's spaces (404 otherwise), or their first one."""
    space_id = query_id(request, "space")
    spaces = spaces_of(user=request.user)
    space = spaces.filter(pk=space_id).first() if space_id else spaces.first()
    if space is None:
        raise Http404
    return space


def _framework(request: Request) -> Framework:
    framework = selectors.framework_of(space=_space(request))
    if framework is None:
        raise Http404
    return framework


def _skill(request: Request, pk: int) -> Skill:
    """A skill of a space the caller is a member of, else 404 (the same for one that does
    not exist)."""
    skill = get_object_or_404(Skill.objects.select_related("framework"), pk=pk)
    if not is_space_member(user=request.user, space=skill.framework.space_id):
        raise Http404
    return skill


class Obj(serializers.Serializer):
    """Schema placeholder: skills/selectors.py's payloads define the fields."""

    id = serializers.IntegerField()


class ImportSerializer(serializers.Serializer):
    csv = serializers.CharField(max_length=services.MAX_CSV_BYTES, trim_whitespace=False)
    preview = serializers.BooleanField(default=True)


class LevelsSerializer(serializers.Serializer):
    names = serializers.ListField(
        child=serializers.CharField(max_length=60), min_length=2, max_length=MAX_LEVELS
    )


class LinkSerializer(serializers.Serializer):
    level = serializers.IntegerField(min_value=1, max_value=MAX_LEVELS)
    course = serializers.PrimaryKeyRelatedField(
        queryset=Course.objects.all(), required=False, allow_null=True
    )
    activity = serializers.PrimaryKeyRelatedField(
        queryset=Activity.objects.all(), required=False, allow_null=True
    )
    session = serializers.PrimaryKeyRelatedField(
        queryset=Session.objects.all(), required=False, allow_null=True
    )
    badge = serializers.PrimaryKeyRelatedField(
        queryset=BadgeDefinition.objects.all(), required=False, allow_null=True
    )


class AssessmentSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    assessment_kind = serializers.ChoiceField(choices=AssessmentKind.choices, source="kind")
    level = serializers.IntegerField(min_value=1, max_value=MAX_LEVELS)
    comment = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class TargetSerializer(serializers.Serializer):
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    role = serializers.ChoiceField(choices=Role.choices, required=False, allow_blank=True)
    level = serializers.IntegerField(min_value=0, max_value=MAX_LEVELS)


def assessment_payload(a: Assessment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "user": a.user_id,
        "skill": a.skill_id,
        "kind": a.kind,
        "level": a.level,
        "comment": a.comment,
        "assessor": a.assessor_id,
        "at": a.at.isoformat(),
    }


class FrameworkView(APIView):
    @extend_schema(parameters=[SPACE_PARAM], responses={200: Obj})
    def get(self, request: Request) -> Response:
        return Response(selectors.framework_payload(_framework(request)))


class LevelsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(parameters=[SPACE_PARAM], request=LevelsSerializer, responses={200: Obj})
    def put(self, request: Request) -> Response:
        space = _space(request)
        data = validated(LevelsSerializer, request.data)
        framework = services.framework_ensure(user=request.user, space=space)
        services.levels_set(user=request.user, framework=framework, names=data["names"])
        return Response(selectors.framework_payload(framework))


class ImportView(APIView):
    """Preview (``"preview": true``, the default) or apply a skills CSV. Applying is all
    rows or none: one bad row is a 400 naming its line, and nothing changes."""

    parser_classes = [JSONParser]

    @extend_schema(parameters=[SPACE_PARAM], request=ImportSerializer, responses={200: Obj})
    def post(self, request: Request) -> Response:
        space = _space(request)
        data = validated(ImportSerializer, request.data)
        if not selectors.can_edit_framework(user=request.user, space_id=space.pk):
            raise PermissionDenied
        framework = selectors.framework_of(space=space) or services.framework_ensure(
            user=request.user, space=space
        )
        if data["preview"]:
            plan = services.import_preview(user=request.user, framework=framework, data=data["csv"])
            return Response({"errors": plan.errors, "rows": plan.rows})
        count = services.import_apply(user=request.user, framework=framework, data=data["csv"])
        return Response({"applied": count, "framework": selectors.framework_payload(framework)})


class LinksView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses={200: Obj(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        skill = _skill(request, pk)
        return Response([selectors.link_payload(x) for x in selectors.links_of(skill=skill)])

    @extend_schema(request=LinkSerializer, responses={201: Obj})
    def post(self, request: Request, pk: int) -> Response:
        skill = _skill(request, pk)
        data = validated(LinkSerializer, request.data)
        link = services.link_add(user=request.user, skill=skill, **data)
        return Response(selectors.link_payload(link), status=201)


class LinkView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        link = get_object_or_404(SkillLink.objects.select_related("skill__framework"), pk=pk)
        if not is_space_member(user=request.user, space=link.skill.framework.space_id):
            raise Http404
        services.link_remove(user=request.user, link=link)
        return Response(status=204)


class AssessmentsView(APIView):
    """A person's assessments of a skill (``?user=``, default the caller): the person,
    their managers, the space's coordinators and admins only (404 to anyone else)."""

    parser_classes = [JSONParser]

    @extend_schema(
        parameters=[OpenApiParameter("user", int, description="Whose (default: mine).")],
        responses={200: Obj(many=True)},
    )
    def get(self, request: Request, pk: int) -> Response:
        skill = _skill(request, pk)
        user_id = query_id(request, "user") or request.user.pk
        person = get_object_or_404(User, pk=user_id)
        if not selectors.can_see_person(
            viewer=request.user, person=person, space_id=skill.framework.space_id
        ):
            raise Http404
        rows = Assessment.objects.filter(user=person, skill=skill)[:500]
        return Response([assessment_payload(a) for a in rows])

    @extend_schema(request=AssessmentSerializer, responses={201: Obj})
    def post(self, request: Request, pk: int) -> Response:
        skill = _skill(request, pk)
        data = validated(AssessmentSerializer, request.data)
        person = data["user"]
        if not selectors.can_see_person(
            viewer=request.user, person=person, space_id=skill.framework.space_id
        ):
            raise Http404
        a = services.assessment_record(
            assessor=request.user,
            person=person,
            skill=skill,
            kind=data["kind"],
            level=data["level"],
            comment=data.get("comment", ""),
        )
        return Response(assessment_payload(a), status=201)


class TargetView(APIView):
    """Set (``level`` 1..n) or remove (``level`` 0) a team's or a role's target."""

    parser_classes = [JSONParser]

    @extend_schema(request=TargetSerializer, responses={200: Obj})
    def put(self, request: Request, pk: int) -> Response:
        skill = _skill(request, pk)
        data = validated(TargetSerializer, request.data)
        target = services.target_set(
            user=request.user,
            skill=skill,
            level=data["level"],
            team=data.get("team"),
            role=data.get("role") or "",
        )
        return Response(
            {
                "skill": skill.pk,
                "team": target.team_id if target else data.get("team") and data["team"].pk,
                "role": target.role if target else data.get("role") or "",
                "level": target.level if target else 0,
            }
        )


def matrix_payload(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "skills": [
            {"id": s.pk, "name": s.name, "group": s.group.name, "levels": m["levels"][s.pk]}
            for s in m["skills"]
        ],
        "people": [
            {
                "id": row["user"].pk,
                "username": row["user"].username,
                "name": row["user"].name,
                "cells": row["cells"],
            }
            for row in m["rows"]
        ],
        "gaps": m["gaps"],
    }


def matrix_scope(*, user: Any, space: Space, team_id: int | None) -> tuple[Team | None, bool]:
    """The team asked for (a manager: one of theirs; coordinators and admins: any of the
    space's) or, for coordinators and admins without one, everyone in the space."""
    manages = selectors.can_edit_framework(user=user, space_id=space.pk)
    if team_id is not None:
        team = selectors.matrix_teams(user=user, space=space).filter(pk=team_id).first()
        if team is None:
            raise Http404
        return team, manages
    if manages:
        return None, True
    team = selectors.matrix_teams(user=user, space=space).first()
    if team is None:
        raise PermissionDenied
    return team, False


class MatrixView(APIView):
    @extend_schema(
        parameters=[
            SPACE_PARAM,
            OpenApiParameter("team", int, description="A team (default: the first)."),
        ],
        responses={200: Obj},
    )
    def get(self, request: Request) -> Response:
        space = _space(request)
        team, _all = matrix_scope(user=request.user, space=space, team_id=query_id(request, "team"))
        framework = selectors.framework_of(space=space)
        if framework is None:
            raise Http404
        m = selectors.matrix(
            framework=framework, people=selectors.matrix_people(space=space, team=team)
        )
        return Response({"team": team.pk if team else None, **matrix_payload(m)})


class PersonView(APIView):
    """A person's skills: levels, target, gap, evidence, assessments, suggested courses."""

    @extend_schema(parameters=[SPACE_PARAM], responses={200: Obj})
    def get(self, request: Request, pk: int) -> Response:
        space = _space(request)
        person = get_object_or_404(User, pk=pk)
        if not selectors.can_see_person(viewer=request.user, person=person, space_id=space.pk):
            raise Http404
        framework = selectors.framework_of(space=space)
        if framework is None:
            raise Http404
        items = selectors.person_skills(person=person, framework=framework)
        return Response(
            {
                "user": person.pk,
                "skills": [
                    {
                        "skill": i["skill"].pk,
                        "name": i["skill"].name,
                        "evidenced": i["evidenced"],
                        "self": i["self"],
                        "manager": i["manager"],
                        "target": i["target"],
                        "gap": i["gap"],
                        "evidence": [
                            {
                                "level": e.level,
                                "kind": e.kind,
                                "label": e.label,
                                "at": e.at.isoformat(),
                            }
                            for e in i["evidence"]
                        ],
                        "assessments": [assessment_payload(a) for a in i["assessments"]],
                        "suggested": [{"id": c.pk, "title": c.title} for c in i["suggested"]],
                    }
                    for i in items
                ],
            }
        )
