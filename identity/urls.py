"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path, re_path

from identity import import_views, scim, views

_scim = [
    path("scim/v2/ServiceProviderConfig", scim.spc_view, name="scim-spc"),
    path("scim/v2/ResourceTypes", scim.resource_types_view, name="scim-resource-types"),
    path("scim/v2/ResourceTypes/<str:name>", scim.resource_types_view),
    path("scim/v2/Schemas", scim.schemas_view, name="scim-schemas"),
    path("scim/v2/Schemas/<str:schema_id>", scim.schemas_view),
    path("scim/v2/Users", scim.users, name="scim-users"),
    path("scim/v2/Users/.search", scim.users_search),
    path("scim/v2/Users/<str:pk>", scim.user_detail, name="scim-user"),
    path("scim/v2/Groups", scim.groups, name="scim-groups"),
    path("scim/v2/Groups/.search", scim.groups_search),
    path("scim/v2/Groups/<str:pk>", scim.group_detail, name="scim-group"),
    path("scim/v2/.search", scim.root_search),
    re_path(r"^scim/v2/(?P<rest>.*)$", scim.not_found),
]

urlpatterns = [
    *_scim,
    *views.urlpatterns,
    *import_views.urlpatterns,
]

api_urlpatterns: list = []
