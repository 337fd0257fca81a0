"""HTTP routes. WebSockets are routed in hub/asgi.py."""

from importlib import import_module

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from hub import files, push_api  # push_api: offline and push (issue 21)
from hub import views as hub_views
from hub.accounts import api as accounts_api
from hub.accounts import views as accounts_views
from hub.announcements import api as announcements_api
from hub.announcements import views as announcements_views
from hub.notifications_api import NotificationViewSet

router = DefaultRouter()
router.register("notifications", NotificationViewSet, basename="api-notification")
router.register("announcements", announcements_api.AnnouncementViewSet, basename="api-announcement")

# Feature apps: each app's urls.py has its pages (``urlpatterns``) and its REST endpoints
# (``api_urlpatterns``, mounted under /api/v1/).
_feature_urls = [import_module(f"{app}.urls") for app in settings.LYCEUM_FEATURE_APPS]

api_v1 = [
    path("auth/token/", accounts_api.TokenView.as_view(), name="api-token"),
    path("me/", accounts_api.MeView.as_view(), name="api-me"),
    *router.urls,
    # -- offline and push (issue 21) --
    path("push/", push_api.PushView.as_view(), name="api-push"),
    path("push/subscriptions/", push_api.SubscriptionView.as_view(), name="api-push-subscription"),
    path("push/subscriptions/renew/", push_api.RenewView.as_view(), name="api-push-renew"),
    # -- end offline and push --
    *(path("", include(m.api_urlpatterns)) for m in _feature_urls),
]

urlpatterns = [
    path("", include("frontend.urls")),
    *(path("", include(m.urlpatterns)) for m in _feature_urls),
    path("healthz", hub_views.healthz, name="healthz"),
    path("", include("hub.audit.urls")),  # identity and access (issue 16)
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    # Accounts
    # Identity and access (issue 16): login with a second factor, reset, invitations, ...
    path("", include("hub.accounts.urls")),
    path("", include("hub.passkeys.urls")),  # passkeys as a second factor (issue 16)
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(template_name="accounts/password_change.html"),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="accounts/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path("spaces/switch/", accounts_views.switch_space, name="space-switch"),
    # -- profiles (design system, docs/INTERFACE.md)
    path("accounts/profile/", accounts_views.profile, name="profile"),
    path("accounts/profile/time-zone/", accounts_views.profile_time_zone, name="profile-time-zone"),
    path("people/<int:pk>/", accounts_views.person, name="person"),
    # -- end profiles
    # Notifications and announcements
    path("notifications/", hub_views.notifications_page, name="notifications"),
    path(
        "notifications/read-all/",
        hub_views.notifications_mark_all_read,
        name="notifications-read-all",
    ),
    path("notifications/settings/", hub_views.notification_settings, name="notification-settings"),
    path("announcements/", announcements_views.announcement_list, name="announcements"),
    path("announcements/new/", announcements_views.announcement_new, name="announcement-new"),
    path(
        "announcements/<int:pk>/",
        announcements_views.announcement_detail,
        name="announcement-detail",
    ),
    # API
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's set-up script as a file (?script), not inline: the
    # page runs under the same strict CSP as every other.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="frontend/swagger_ui.html"
        ),
        name="api-docs",
    ),
    # Uploaded files, each read through the permission check of its kind (hub/files.py);
    # in services mode the proxy sends the bytes (LYCEUM_FILE_ACCEL).
    path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", files.media, name="media"),
]

# Errors raised outside a DRF view (an unknown /api/ URL, a 500, a body Django refused) are
# answered in the API's JSON format under /api/, as pages elsewhere.
handler400 = "hub.views.bad_request"
handler403 = "hub.views.permission_denied"
handler404 = "hub.views.page_not_found"
handler500 = "hub.views.server_error"
