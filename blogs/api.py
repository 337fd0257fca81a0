"""REST endpoints of the blogs (under /api/v1/blogs/): thin, over services and selectors.

Someone else's ids: a blog or post the caller may not read is a 404; one they may read
but not write is a 403 (from the services).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from blogs import services
from blogs.models import Blog, BlogComment, BlogPost
from blogs.selectors import (
    blog_payload,
    blog_posts_for,
    blogs_for,
    can_read_blog,
    can_read_post,
    comment_payload,
    feed_item_payload,
    is_following,
    my_reactions,
    post_comments,
    post_payload,
    published_posts,
)
from forums.models import Emoji
from hub.accounts.models import Space, Team
from hub.api import JSONParser, Pagination, validated
from hub.params import query_id


# -- input ---------------------------------------------------------------------------------------
class BlogCreateSerializer(serializers.Serializer):
    space = serializers.PrimaryKeyRelatedField(queryset=Space.objects.all())
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True, default=None
    )
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default=""
    )


class BlogUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default=""
    )


class BlogPostWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=services.MAX_BODY_CHARS)
    publish = serializers.BooleanField(required=False, default=False)


class BlogCommentWriteSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=services.MAX_COMMENT_CHARS)


class BlogReactionSerializer(serializers.Serializer):
    emoji = serializers.ChoiceField(choices=Emoji.choices)
    on = serializers.BooleanField(default=True)


class BlogFollowSerializer(serializers.Serializer):
    on = serializers.BooleanField()


class BlogImageUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


# -- output shapes (documentation; the payload functions produce them) --------------------------
Person = inline_serializer(
    "BlogPerson", {"id": serializers.IntegerField(), "name": serializers.CharField()}
)
BlogRef = inline_serializer(
    "BlogRef", {"id": serializers.IntegerField(), "title": serializers.CharField()}
)


class BlogSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    space = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    owner = inline_serializer(
        "BlogOwner",
        {"id": serializers.IntegerField(), "name": serializers.CharField()},
        allow_null=True,
    )
    team = inline_serializer(
        "BlogTeam",
        {"id": serializers.IntegerField(), "name": serializers.CharField()},
        allow_null=True,
    )
    created_at = serializers.DateTimeField()
    url = serializers.CharField()
    following = serializers.BooleanField(required=False)


class BlogPostSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    blog = BlogRef
    space = serializers.IntegerField()
    author = Person
    title = serializers.CharField()
    body = serializers.CharField()
    body_html = serializers.CharField()
    status = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    reactions = serializers.DictField(child=serializers.IntegerField())
    mine = serializers.ListField(child=serializers.CharField())
    comment_count = serializers.IntegerField()
    topic = serializers.CharField()
    url = serializers.CharField()


class FeedItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    blog = BlogRef
    author = Person
    title = serializers.CharField()
    excerpt = serializers.CharField()
    published_at = serializers.DateTimeField()
    url = serializers.CharField()


class BlogCommentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    post = serializers.IntegerField()
    author = Person
    body_html = serializers.CharField()
    created_at = serializers.DateTimeField()
    is_deleted = serializers.BooleanField()


ImageOut = inline_serializer(
    "BlogImage",
    {
        "id": serializers.IntegerField(),
        "name": serializers.CharField(),
        "url": serializers.CharField(),
        "markdown": serializers.CharField(),
    },
)
Follow = inline_serializer("BlogFollowState", {"following": serializers.BooleanField()})


# -- lookups -----------------------------------------------------------------------------------
def _blog(user: Any, pk: int) -> Blog:
    blog = get_object_or_404(Blog.objects.select_related("owner", "team"), pk=pk)
    if not can_read_blog(user=user, blog=blog):
        raise Http404
    return blog


def _post(user: Any, pk: int) -> BlogPost:
    post = get_object_or_404(BlogPost.objects.select_related("blog__team", "author"), pk=pk)
    if not can_read_post(user=user, post=post):
        raise Http404  # someone else's draft, or another space's post: not there for them
    return post


def _page(view: APIView, request: Request, items: Any, payload: Any) -> Response:
    paginator = Pagination()
    page = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response([payload(x) for x in page])


# -- blogs -----------------------------------------------------------------------------------
class BlogListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("space", int, required=False)],
        responses=BlogSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        blogs = blogs_for(user=request.user, space_id=query_id(request, "space"))
        return _page(self, request, blogs, blog_payload)

    @extend_schema(request=BlogCreateSerializer, responses={201: BlogSerializer})
    def post(self, request: Request) -> Response:
        data = validated(BlogCreateSerializer, request.data)
        blog = services.blog_create(actor=request.user, **data)
        return Response(blog_payload(blog), status=status.HTTP_201_CREATED)


class BlogDetailView(APIView):
    @extend_schema(responses=BlogSerializer)
    def get(self, request: Request, pk: int) -> Response:
        blog = _blog(request.user, pk)
        return Response(
            {**blog_payload(blog), "following": is_following(user=request.user, blog=blog)}
        )

    @extend_schema(request=BlogUpdateSerializer, responses=BlogSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        data = validated(BlogUpdateSerializer, request.data)
        blog = services.blog_update(actor=request.user, blog=_blog(request.user, pk), **data)
        return Response(blog_payload(blog))


class BlogFollowView(APIView):
    @extend_schema(request=BlogFollowSerializer, responses=Follow)
    def post(self, request: Request, pk: int) -> Response:
        data = validated(BlogFollowSerializer, request.data)
        on = services.follow_set(user=request.user, blog=_blog(request.user, pk), on=data["on"])
        return Response({"following": on})


class BlogPostsView(APIView):
    @extend_schema(responses=BlogPostSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        blog = _blog(request.user, pk)
        return _page(self, request, blog_posts_for(user=request.user, blog=blog), post_payload)

    @extend_schema(request=BlogPostWriteSerializer, responses={201: BlogPostSerializer})
    def post(self, request: Request, pk: int) -> Response:
        data = validated(BlogPostWriteSerializer, request.data)
        blog = _blog(request.user, pk)
        post = services.post_create(
            author=request.user, blog=blog, title=data["title"], body=data["body"]
        )
        if data["publish"]:
            post = services.post_publish(editor=request.user, post=post)
        return Response(post_payload(post), status=status.HTTP_201_CREATED)


class BlogImagesView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": BlogImageUploadSerializer}, responses={201: ImageOut}
    )
    def post(self, request: Request, pk: int) -> Response:
        data = validated(BlogImageUploadSerializer, request.data)
        image = services.image_upload(user=request.user, blog=_blog(request.user, pk), **data)
        url = image.file.url
        return Response(
            {"id": image.pk, "name": image.name, "url": url, "markdown": f"![{image.name}]({url})"},
            status=status.HTTP_201_CREATED,
        )


# -- posts -----------------------------------------------------------------------------------
class FeedView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("space", int, required=False)],
        responses=FeedItemSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        posts = published_posts(user=request.user, space_id=query_id(request, "space"))
        return _page(self, request, posts, feed_item_payload)


class PostDetailView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses=BlogPostSerializer)
    def get(self, request: Request, pk: int) -> Response:
        post = _post(request.user, pk)
        return Response(post_payload(post, mine=my_reactions(user=request.user, post=post)))

    @extend_schema(request=BlogPostWriteSerializer, responses=BlogPostSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        data = validated(BlogPostWriteSerializer, request.data)
        post = services.post_update(
            editor=request.user,
            post=_post(request.user, pk),
            title=data["title"],
            body=data["body"],
        )
        if data["publish"]:
            post = services.post_publish(editor=request.user, post=post)
        return Response(post_payload(post))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.post_delete(actor=request.user, post=_post(request.user, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostPublishView(APIView):
    publish = True

    @extend_schema(request=None, responses=BlogPostSerializer)
    def post(self, request: Request, pk: int) -> Response:
        action = services.post_publish if self.publish else services.post_unpublish
        return Response(post_payload(action(editor=request.user, post=_post(request.user, pk))))


class PostUnpublishView(PostPublishView):
    publish = False


class PostCommentsView(APIView):
    @extend_schema(responses=BlogCommentSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        post = _post(request.user, pk)
        return _page(self, request, post_comments(post=post), comment_payload)

    @extend_schema(request=BlogCommentWriteSerializer, responses={201: BlogCommentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        data = validated(BlogCommentWriteSerializer, request.data)
        comment = services.comment_create(author=request.user, post=_post(request.user, pk), **data)
        return Response(comment_payload(comment), status=status.HTTP_201_CREATED)


class CommentDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        comment = get_object_or_404(BlogComment.objects.select_related("post"), pk=pk)
        _post(request.user, comment.post_id)  # 404 for a post they cannot see
        services.comment_delete(actor=request.user, comment=comment)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostReactionsView(APIView):
    @extend_schema(request=BlogReactionSerializer, responses=BlogPostSerializer)
    def post(self, request: Request, pk: int) -> Response:
        data = validated(BlogReactionSerializer, request.data)
        post = services.post_react(user=request.user, post=_post(request.user, pk), **data)
        return Response(post_payload(post, mine=my_reactions(user=request.user, post=post)))
