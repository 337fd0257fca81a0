"""Pages and LTI 1.3 platform endpoints (``urlpatterns``), REST under /api/v1/."""

from django.urls import path

from externaltools import api, views

urlpatterns = [
    path("externaltools/", views.index, name="externaltools"),
    path("externaltools/spaces/<int:space_id>/", views.tools, name="externaltools-tools"),
    path(
        "externaltools/spaces/<int:space_id>/registrations/",
        views.registration_start,
        name="externaltools-registration-start",
    ),
    path("externaltools/tools/<int:pk>/active/", views.tool_active, name="externaltools-active"),
    path(
        "externaltools/courses/<int:course_id>/add/",
        views.activity_add,
        name="externaltools-activity-add",
    ),
    path(
        "externaltools/modules/<int:module_id>/tools/<int:tool_id>/pick/",
        views.deep_link_start,
        name="externaltools-deep-link-start",
    ),
    path(
        "externaltools/deep-linking/return/",
        views.deep_link_return,
        name="externaltools-deep-link-return",
    ),
    path(
        "externaltools/activities/<int:activity_id>/",
        views.launch_page,
        name="externaltools-launch",
    ),
    path(
        "externaltools/activities/<int:activity_id>/start/",
        views.launch_start,
        name="externaltools-launch-start",
    ),
    # The platform, as LTI 1.3 tools see it.
    path(
        "externaltools/openid-configuration",
        views.openid_configuration,
        name="externaltools-openid-configuration",
    ),
    path(
        "externaltools/spaces/<int:space_id>/openid-configuration",
        views.space_openid_configuration,
        name="externaltools-space-openid-configuration",
    ),
    path(
        "externaltools/spaces/<int:space_id>/register",
        views.register,
        name="externaltools-register",
    ),
    path("externaltools/jwks", views.jwks, name="externaltools-jwks"),
    path("externaltools/authorize", views.authorize, name="externaltools-authorize"),
    path("externaltools/token", views.token, name="externaltools-token"),
    path(
        "externaltools/ags/courses/<int:course_id>/lineitems",
        views.lineitems,
        name="externaltools-lineitems",
    ),
    path(
        "externaltools/ags/courses/<int:course_id>/lineitems/<int:pk>",
        views.lineitem,
        name="externaltools-lineitem",
    ),
    path(
        "externaltools/ags/courses/<int:course_id>/lineitems/<int:pk>/scores",
        views.scores,
        name="externaltools-scores",
    ),
    path(
        "externaltools/ags/courses/<int:course_id>/lineitems/<int:pk>/results",
        views.results,
        name="externaltools-results",
    ),
    path(
        "externaltools/nrps/courses/<int:course_id>/memberships",
        views.memberships,
        name="externaltools-memberships",
    ),
]

api_urlpatterns = [
    path(
        "spaces/<int:pk>/external-tools/",
        api.SpaceToolsView.as_view(),
        name="api-space-external-tools",
    ),
    path(
        "spaces/<int:pk>/external-tools/<int:tool_id>/",
        api.SpaceToolView.as_view(),
        name="api-space-external-tool",
    ),
    path(
        "spaces/<int:pk>/external-tools/registrations/",
        api.RegistrationsView.as_view(),
        name="api-space-external-tool-registrations",
    ),
    path(
        "courses/<int:pk>/external-tools/",
        api.CourseToolsView.as_view(),
        name="api-course-external-tools",
    ),
    path(
        "courses/<int:pk>/external-activities/",
        api.ExternalActivitiesView.as_view(),
        name="api-course-external-activities",
    ),
]
