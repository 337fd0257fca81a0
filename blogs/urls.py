"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from blogs import api, views

urlpatterns = [
    path("blogs/", views.blog_index, name="blogs"),
    path("blogs/feed/", views.home_feed_section, name="blogs-home-feed"),
    path("blogs/<int:pk>/", views.blog_detail, name="blog-detail"),
    path("blogs/<int:pk>/new/", views.post_new, name="blog-post-new"),
    path("blogs/posts/<int:pk>/", views.post_detail, name="blog-post"),
    path("blogs/posts/<int:pk>/edit/", views.post_edit, name="blog-post-edit"),
]

api_urlpatterns = [
    path("blogs/", api.BlogListView.as_view(), name="api-blogs"),
    path("blogs/feed/", api.FeedView.as_view(), name="api-blogs-feed"),
    path("blogs/<int:pk>/", api.BlogDetailView.as_view(), name="api-blog"),
    path("blogs/<int:pk>/follow/", api.BlogFollowView.as_view(), name="api-blog-follow"),
    path("blogs/<int:pk>/posts/", api.BlogPostsView.as_view(), name="api-blog-posts"),
    path("blogs/<int:pk>/images/", api.BlogImagesView.as_view(), name="api-blog-images"),
    path("blogs/posts/<int:pk>/", api.PostDetailView.as_view(), name="api-blog-post"),
    path(
        "blogs/posts/<int:pk>/publish/", api.PostPublishView.as_view(), name="api-blog-post-publish"
    ),
    path(
        "blogs/posts/<int:pk>/unpublish/",
        api.PostUnpublishView.as_view(),
        name="api-blog-post-unpublish",
    ),
    path(
        "blogs/posts/<int:pk>/comments/",
        api.PostCommentsView.as_view(),
        name="api-blog-post-comments",
    ),
    path(
        "blogs/posts/<int:pk>/reactions/",
        api.PostReactionsView.as_view(),
        name="api-blog-post-reactions",
    ),
    path("blogs/comments/<int:pk>/", api.CommentDetailView.as_view(), name="api-blog-comment"),
]
