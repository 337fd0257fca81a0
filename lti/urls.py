"""Pages and protocol endpoints (``urlpatterns``), REST under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from lti import api, views

urlpatterns = [
    path("lti/<slug:slug>/login/", views.login, name="lti-login"),
    path("lti/<slug:slug>/launch/", views.launch, name="lti-launch"),
    path("lti/<slug:slug>/jwks/", views.jwks, name="lti-jwks"),
    path("lti/<slug:slug>/deep-link/", views.deep_link, name="lti-deep-link"),
    path("lti/<slug:slug>/register/", views.register, name="lti-register"),
    path("lti/<slug:slug>/settings/", views.space_settings, name="lti-settings"),
    path(
        "lti/<slug:slug>/platforms/<int:pk>/<str:action>/",
        views.platform_action,
        name="lti-platform-action",
    ),
    path("lti/<slug:slug>/contexts/<int:pk>/roster/", views.roster_pull, name="lti-roster"),
]

api_urlpatterns = [
    path("lti/platforms/", api.PlatformListView.as_view(), name="api-lti-platforms"),
    path("lti/platforms/<int:pk>/", api.PlatformDetailView.as_view(), name="api-lti-platform"),
]
