"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from paths import api, views

urlpatterns = [
    path("paths/", views.mine, name="paths-mine"),
    path("paths/all/", views.path_list, name="paths-list"),
    path("paths/new/", views.path_new, name="paths-new"),
    path("paths/team/", views.team, name="paths-team"),
    path("paths/<int:pk>/", views.detail, name="paths-detail"),
    path("paths/<int:pk>/items/", views.item_add, name="paths-item-add"),
    path(
        "paths/items/<int:pk>/prerequisites/",
        views.prerequisites,
        name="paths-prerequisites",
    ),
    path("paths/<int:pk>/assign/", views.assign, name="paths-assign"),
]

api_urlpatterns = [
    path("paths/", api.PathListView.as_view(), name="api-paths"),
    path("paths/mine/", api.MyPathsView.as_view(), name="api-paths-mine"),
    path("paths/team/overdue/", api.TeamOverdueView.as_view(), name="api-paths-overdue"),
    path("due/mine/", api.MyDueItemsView.as_view(), name="api-due-mine"),
    path("paths/<int:pk>/", api.PathDetailView.as_view(), name="api-path"),
    path("paths/<int:pk>/items/", api.PathItemsView.as_view(), name="api-path-items"),
    path("paths/<int:pk>/assign/", api.AssignView.as_view(), name="api-path-assign"),
    path(
        "paths/items/<int:pk>/prerequisites/",
        api.PrerequisitesView.as_view(),
        name="api-path-prerequisites",
    ),
]
