"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from sessions import api, views

urlpatterns = [
    path("sessions/", views.session_list, name="sessions"),
    path("sessions/<int:pk>/", views.session_detail, name="session-detail"),
    path("sessions/<int:pk>/register/", views.session_register, name="session-register"),
    path("sessions/<int:pk>/cancel/", views.session_cancel_mine, name="session-cancel"),
]
api_urlpatterns = [
    path("sessions/", api.SessionListView.as_view(), name="api-session-list"),
    path("sessions/<int:pk>/", api.SessionDetailView.as_view(), name="api-session-detail"),
    path(
        "sessions/<int:pk>/cancel-session/",
        api.SessionCancelSessionView.as_view(),
        name="api-session-cancel-session",
    ),
    path("sessions/<int:pk>/register/", api.RegisterView.as_view(), name="api-session-register"),
    path("sessions/<int:pk>/cancel/", api.CancelView.as_view(), name="api-session-cancel"),
    path(
        "sessions/<int:pk>/registrations/",
        api.RegistrationListView.as_view(),
        name="api-session-registrations",
    ),
    path(
        "sessions/<int:pk>/waitlist/reorder/",
        api.WaitlistReorderView.as_view(),
        name="api-session-waitlist-reorder",
    ),
]
