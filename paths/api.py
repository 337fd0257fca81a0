"""REST endpoints of learning paths (under /api/v1/paths/)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from classrooms.models import Activity, Course
from hub.accounts.models import Space, Team, User
from hub.api import DateTimeInRangeField, JSONParser, PrimaryKeysField, validated
from paths import due, selectors, services
from paths.models import PathItem


class PathCreateSerializer(serializers.Serializer):
    space = serializers.PrimaryKeyRelatedField(queryset=Space.objects.all())
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    ordered = serializers.BooleanField(default=True)
    due_date = DateTimeInRangeField(required=False, allow_null=True)
    due_days = serializers.IntegerField(
        min_value=1, max_value=3650, required=False, allow_null=True
    )


class ItemSerializer(serializers.Serializer):
    course = serializers.PrimaryKeyRelatedField(
        queryset=Course.objects.all(), required=False, allow_null=True
    )
    activity = serializers.PrimaryKeyRelatedField(
        queryset=Activity.objects.all(), required=False, allow_null=True
    )
    required = serializers.BooleanField(default=True)
    prerequisites = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=100
    )


class PrerequisitesSerializer(serializers.Serializer):
    prerequisites = serializers.ListField(
        child=serializers.IntegerField(min_value=1), max_length=100, allow_empty=True
    )


class AssignSerializer(serializers.Serializer):
    users = PrimaryKeysField(queryset=User.objects.filter(is_active=True), required=False)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    space = serializers.BooleanField(default=False)
    due_at = DateTimeInRangeField(required=False, allow_null=True)
    again = serializers.BooleanField(
        default=False, help_text="Those who completed the path start a new cycle."
    )


class DueItemObject(serializers.Serializer):
    """A due item (paths/due.py ``DueItem.payload``)."""

    kind = serializers.ChoiceField(choices=["path", "enrolment", "activity"])
    id = serializers.IntegerField()
    user = serializers.IntegerField()
    name = serializers.CharField()
    title = serializers.CharField()
    context = serializers.CharField()
    object = serializers.IntegerField()
    due_at = serializers.DateTimeField()
    completed = serializers.BooleanField()
    completed_at = serializers.DateTimeField(allow_null=True)
    late = serializers.BooleanField()
    overdue = serializers.BooleanField()
    progress = serializers.IntegerField(allow_null=True)
    url = serializers.CharField()


class PathObject(serializers.Serializer):
    """Schema placeholder: paths/selectors.py's payload functions define the fields."""

    id = serializers.IntegerField()


def _path(request: Request, pk: int):
    path = get_object_or_404(selectors.paths_visible_to(user=request.user), pk=pk)
    return path


class PathListView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses={200: PathObject(many=True)})
    def get(self, request: Request) -> Response:
        paths = selectors.paths_visible_to(user=request.user)[:500]
        return Response([{"id": p.pk, "title": p.title, "ordered": p.ordered} for p in paths])

    @extend_schema(request=PathCreateSerializer, responses={201: PathObject})
    def post(self, request: Request) -> Response:
        data = validated(PathCreateSerializer, request.data)
        path = services.path_create(user=request.user, **data)
        return Response(selectors.path_payload(path), status=201)


class PathDetailView(APIView):
    @extend_schema(responses={200: PathObject})
    def get(self, request: Request, pk: int) -> Response:
        return Response(selectors.path_payload(_path(request, pk), user=request.user))


class PathItemsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=ItemSerializer, responses={201: PathObject})
    def post(self, request: Request, pk: int) -> Response:
        path = _path(request, pk)
        data = validated(ItemSerializer, request.data)
        item = services.path_item_add(user=request.user, path=path, **data)
        return Response({"id": item.pk, **selectors.path_payload(path)}, status=201)


class PrerequisitesView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=PrerequisitesSerializer, responses={200: PathObject})
    def put(self, request: Request, pk: int) -> Response:
        item = get_object_or_404(
            PathItem.objects.filter(path__in=selectors.paths_visible_to(user=request.user)), pk=pk
        )
        data = validated(PrerequisitesSerializer, request.data)
        services.path_item_prerequisites_set(user=request.user, item=item, **data)
        return Response(selectors.path_payload(item.path))


class AssignView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=AssignSerializer, responses={201: PathObject(many=True)})
    def post(self, request: Request, pk: int) -> Response:
        path = _path(request, pk)
        data = validated(AssignSerializer, request.data)
        created = services.path_assign(actor=request.user, path=path, **data)
        return Response([selectors.assignment_payload(a) for a in created], status=201)


class MyPathsView(APIView):
    @extend_schema(responses={200: PathObject(many=True)})
    def get(self, request: Request) -> Response:
        return Response(
            [
                {**selectors.assignment_payload(a), "title": a.path.title}
                for a in selectors.assignments_of(user=request.user)
            ]
        )


class TeamOverdueView(APIView):
    """A manager's reports' overdue items (admins: everyone's): path assignments, course
    enrolments and activities (``kind``), the oldest due first."""

    @extend_schema(responses={200: DueItemObject(many=True)})
    def get(self, request: Request) -> Response:
        items = due.team_overdue(manager=request.user)
        paths = {
            a.pk: a
            for a in selectors.team_assignments(manager=request.user, overdue_only=True).filter(
                pk__in=[i.id for i in items if i.kind == "path"]
            )
        }
        rows = []
        for item in items:
            row = item.payload()
            if item.kind == "path" and item.id in paths:
                # A path's row also carries the assignment's own fields (as before).
                row.update(selectors.assignment_payload(paths[item.id]), kind="path")
            rows.append(row)
        return Response(rows)


class DueMineQuerySerializer(serializers.Serializer):
    completed = serializers.BooleanField(default=False)


class MyDueItemsView(APIView):
    """The person's own due items of every kind, by due date (``completed=true``: done
    ones too, with ``late``)."""

    @extend_schema(parameters=[DueMineQuerySerializer], responses={200: DueItemObject(many=True)})
    def get(self, request: Request) -> Response:
        query = validated(DueMineQuerySerializer, request.query_params)
        items = due.due_items_of(user=request.user, include_completed=query["completed"])
        return Response([i.payload() for i in items])
