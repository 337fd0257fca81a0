"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from leaderboards import api, duel_api, views

urlpatterns = [
    path("leaderboards/", views.board, name="leaderboards"),
    path("leaderboards/me/", views.my_points, name="leaderboards-me"),
    path("leaderboards/me/visibility/", views.my_visibility, name="leaderboards-visibility"),
    path("leaderboards/badges/<int:user_id>/", views.badges_of, name="leaderboards-badges-of"),
    path("leaderboards/wall/", views.wall, name="leaderboards-wall"),
    path("leaderboards/duels/", views.duel_lobby, name="leaderboards-duels"),
    path("leaderboards/duels/<int:pk>/", views.duel_arena, name="leaderboards-duel"),
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
    path(
        "leaderboards/spaces/<int:space_id>/point-rules/",
        api.PointRulesView.as_view(),
        name="api-point-rules",
    ),
    path(
        "leaderboards/spaces/<int:space_id>/point-rules/<str:reason>/",
        api.PointRuleView.as_view(),
        name="api-point-rule",
    ),
    path("leaderboards/badges/", api.BadgeDefinitionListView.as_view(), name="api-badges"),
    path(
        "leaderboards/badges/<int:pk>/",
        api.BadgeDefinitionDetailView.as_view(),
        name="api-badge",
    ),
    path(
        "leaderboards/users/<int:user_id>/badges/",
        api.UserBadgesView.as_view(),
        name="api-user-badges",
    ),
    # Open Badges 2.0 hosted objects: public once something was issued.
    path(
        "leaderboards/badges/<int:pk>/badge-class/",
        api.BadgeClassView.as_view(),
        name="api-badge-class",
    ),
    path(
        "leaderboards/badges/<int:pk>/image.svg",
        api.BadgeImageView.as_view(),
        name="api-badge-image",
    ),
    path(
        "leaderboards/spaces/<int:pk>/issuer/",
        api.IssuerView.as_view(),
        name="api-badge-issuer",
    ),
    path("leaderboards/duels/", duel_api.DuelListView.as_view(), name="api-duels"),
    path("leaderboards/duels/queue/", duel_api.DuelQueueView.as_view(), name="api-duel-queue"),
    path(
        "leaderboards/duels/ratings/", duel_api.DuelRatingsView.as_view(), name="api-duel-ratings"
    ),
    path(
        "leaderboards/duels/colleagues/",
        duel_api.DuelColleaguesView.as_view(),
        name="api-duel-colleagues",
    ),
    path("leaderboards/duels/<int:pk>/", duel_api.DuelDetailView.as_view(), name="api-duel"),
    path(
        "leaderboards/duels/<int:pk>/accept/",
        duel_api.DuelAcceptView.as_view(),
        name="api-duel-accept",
    ),
    path(
        "leaderboards/duels/<int:pk>/decline/",
        duel_api.DuelDeclineView.as_view(),
        name="api-duel-decline",
    ),
    path(
        "leaderboards/duels/<int:pk>/cancel/",
        duel_api.DuelCancelView.as_view(),
        name="api-duel-cancel",
    ),
    path(
        "leaderboards/duels/<int:pk>/ready/",
        duel_api.DuelReadyView.as_view(),
        name="api-duel-ready",
    ),
    path(
        "leaderboards/duels/<int:pk>/answer/",
        duel_api.DuelAnswerView.as_view(),
        name="api-duel-answer",
    ),
    path(
        "leaderboards/duels/<int:pk>/rematch/",
        duel_api.DuelRematchView.as_view(),
        name="api-duel-rematch",
    ),
]
