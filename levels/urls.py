from django.urls import path

from levels import api, views

urlpatterns = [
    path("levels/me/", views.mine, name="levels-me"),
    path("levels/me/display/", views.display, name="levels-display"),
]

api_urlpatterns = [
    path("levels/me/", api.MyProgressView.as_view(), name="api-levels-me"),
    path("levels/users/<int:user_id>/", api.UserProgressView.as_view(), name="api-levels-user"),
    path("levels/spaces/<int:space_id>/", api.SpaceLevelsView.as_view(), name="api-levels-space"),
]
