"""The search page (``urlpatterns``) and ``/api/v1/search/`` (``api_urlpatterns``)."""

from django.urls import path

from search import api, views

urlpatterns = [path("search/", views.search_page, name="search")]

api_urlpatterns = [path("search/", api.SearchView.as_view(), name="api-search")]
