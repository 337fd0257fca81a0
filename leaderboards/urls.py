"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from leaderboards import api, views

urlpatterns = [
    path("leaderboards/", views.board, name="leaderboards"),
    path("leaderboards/me/", views.my_points, name="leaderboards-me"),
    path("leaderboards/me/visibility/", views.my_visibility, name="leaderboards-visibility"),
    path("leaderboards/badges/<int:user_id>/", views.badges_of, name="leaderboards-badges-of"),
]

api_urlpatterns = [
    path("leaderboards/me/points/", api.MyPointsView.as_view(), name="api-my-points"),
    path("leaderboards/me/visibility/", api.MyVisibilityView.as_view(), name="api-my-visibility"),
    path("leaderboards/me/badges/", api.MyBadgesView.as_view(), name="api-my-badges"),
    path("leaderboards/boards/<str:key>/", api.BoardView.as_view(), name="api-board"),
    path(
        "leaderboards/badges/<int:pk>/awards/",
        api.BadgeAwardManualView.as_view(),
        name="api-badge-award",
    ),
    path(
        "leaderboards/badge-awards/<int:pk>/assertion/",
        api.BadgeAssertionView.as_view(),
        name="api-badge-assertion",
    ),
]
