"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from integrations import api, views

urlpatterns = [
    path("integrations/", views.index, name="integrations"),
    path(
        "integrations/spaces/<int:space_id>/webhooks/", views.webhooks, name="integrations-webhooks"
    ),
    path(
        "integrations/webhooks/<int:pk>/<str:action>/",
        views.endpoint_action,
        name="integrations-endpoint-action",
    ),
    path(
        "integrations/deliveries/<int:pk>/replay/",
        views.delivery_replay,
        name="integrations-delivery-replay",
    ),
]

api_urlpatterns = [
    path("xapi/statements", api.StatementsView.as_view(), name="api-xapi-statements"),
]

api_urlpatterns += [
    # cmi5: the launch's fetch URL and the xAPI resources its AU uses (integrations/cmi5.py).
    path("cmi5/fetch/<str:secret>", api.Cmi5FetchView.as_view(), name="cmi5-fetch"),
    path("cmi5/xapi/", api.Cmi5RootView.as_view(), name="cmi5-xapi-root"),
    path("cmi5/xapi/statements", api.Cmi5StatementsView.as_view(), name="cmi5-statements"),
    path("cmi5/xapi/activities/state", api.Cmi5StateView.as_view(), name="cmi5-state"),
    path("cmi5/xapi/agents/profile", api.Cmi5AgentProfileView.as_view(), name="cmi5-profile"),
]

api_urlpatterns += [
    path(
        "packages/units/<int:pk>/launch/",
        api.PackageLaunchView.as_view(),
        name="api-package-launch",
    ),
    path(
        "packages/attempts/<int:pk>/", api.PackageAttemptView.as_view(), name="api-package-attempt"
    ),
]

urlpatterns += [
    path("packages/activities/<int:pk>/", views.package_player, name="package-player"),
    path("packages/activities/<int:pk>/report/", views.package_report, name="package-report"),
    path(
        "packages/activities/<int:pk>/report.csv",
        views.package_report_csv,
        name="package-report-csv",
    ),
    path("packages/content/<str:token>/", views.package_content, name="package-content-root"),
    path(
        "packages/content/<str:token>/<path:path>",
        views.package_content,
        name="package-content",
    ),
]

api_urlpatterns += [
    path(
        "integrations/spaces/<int:space_id>/webhooks/",
        api.WebhookSubscriptionsView.as_view(),
        name="api-webhook-subscriptions",
    ),
    path(
        "integrations/webhooks/<int:pk>/",
        api.WebhookSubscriptionView.as_view(),
        name="api-webhook-subscription",
    ),
    path(
        "integrations/webhooks/<int:pk>/rotate-secret/",
        api.WebhookRotateSecretView.as_view(),
        name="api-webhook-rotate-secret",
    ),
    path(
        "integrations/webhooks/<int:pk>/ping/",
        api.WebhookPingView.as_view(),
        name="api-webhook-ping",
    ),
    path(
        "integrations/webhooks/<int:pk>/deliveries/",
        api.WebhookDeliveriesView.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "integrations/deliveries/<int:pk>/replay/",
        api.WebhookReplayView.as_view(),
        name="api-webhook-replay",
    ),
]
