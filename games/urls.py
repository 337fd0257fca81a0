"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from games import api, views

urlpatterns = [
    path("games/", views.index, name="games"),
    path("games/join/", views.join, name="games-join"),
    path("games/new/", views.create, name="games-create"),
    path("games/<int:pk>/host/", views.host, name="games-host"),
    path("games/<int:pk>/play/", views.play, name="games-play"),
]

api_urlpatterns = [
    path("games/", api.GameListView.as_view(), name="api-games"),
    path("games/join/", api.GameJoinView.as_view(), name="api-game-join"),
    path("games/<int:pk>/", api.GameDetailView.as_view(), name="api-game"),
    path("games/<int:pk>/answer/", api.GameAnswerView.as_view(), name="api-game-answer"),
    path("games/<int:pk>/streak/", api.GameStreakView.as_view(), name="api-game-streak"),
    path("games/<int:pk>/next/", api.GameNextView.as_view(), name="api-game-next"),
    path("games/<int:pk>/close/", api.GameCloseView.as_view(), name="api-game-close"),
    path("games/<int:pk>/finish/", api.GameFinishView.as_view(), name="api-game-finish"),
]
