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
