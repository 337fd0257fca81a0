from django.urls import path

from frontend import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path(
        "notifications/<int:pk>/read/",
        views.notification_mark_read,
        name="notification-read",
    ),
    path("manifest.webmanifest", views.manifest, name="manifest"),
]
