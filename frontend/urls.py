from django.urls import path, re_path

from frontend import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    re_path(
        r"^home/(?P<role>learner|trainer|coordinator|manager|admin)/$",
        views.home_section,
        name="home-section",
    ),
    re_path(r"^home/charts/(?P<name>[a-z-]{1,40})/$", views.home_chart, name="home-chart"),
    path(
        "notifications/<int:pk>/read/",
        views.notification_mark_read,
        name="notification-read",
    ),
    path("style-guide/", views.style_guide, name="style-guide"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    re_path(r"^brand/(?P<color>[0-9a-f]{6})\.css$", views.brand_css, name="brand-css"),
    # -- offline and push (issue 21) --
    path("sw.js", views.service_worker, name="service-worker"),
    path("offline/", views.offline, name="offline"),
    re_path(
        r"^brand/(?P<color>[0-9a-f]{6})/icon-(?P<size>192|512)\.png$",
        views.app_icon,
        name="app-icon",
    ),
    # -- end offline and push --
]
