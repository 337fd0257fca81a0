"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

urlpatterns: list = []
api_urlpatterns: list = []
