"""REST endpoints of the forums (under /api/v1/forums/): thin, over services and selectors."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from classrooms.models import Module
from forums import services, trust
from forums.models import Emoji, Flag, Forum, LibraryItem, Post, Thread
from forums.selectors import (
    can_view_forum,
    can_view_thread,
    comment_payload,
    flag_payload,
    forum_payload,
    forum_threads_for_reader,
    forums_for,
    forums_with_unread,
    is_forum_moderator,
    item_comments,
    library_item_payload,
    library_items_for,
    log_payload,
    moderation_log_for,
    my_reactions,
    open_flags_for,
    post_payload,
    revision_payload,
    search_posts,
    search_result_payload,
    thread_payload,
    thread_posts,
)
from hub import sanitize
from hub.accounts.models import Space, User
from hub.accounts.selectors import is_space_member
from hub.api import JSONParser, Pagination, validated
from hub.params import query_id

# -- input serializers (shared with the pages and the WebSocket actions) ----------------------


class ForumCreateSerializer(serializers.Serializer):
    space = serializers.PrimaryKeyRelatedField(queryset=Space.objects.all())
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    kind = serializers.ChoiceField(choices=Forum.Kind.choices, default=Forum.Kind.COMMUNITY)
    course_id = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    session_id = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1
    )


class ThreadCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20000)
    kind = serializers.ChoiceField(choices=Thread.Kind.choices, default=Thread.Kind.DISCUSSION)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=30), required=False, default=list, max_length=5
    )
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class PostCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000, allow_blank=True)
    reply_to = serializers.IntegerField(required=False, allow_null=True, default=None)
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class PostEditSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)


class ReactionSerializer(serializers.Serializer):
    emoji = serializers.ChoiceField(choices=Emoji.choices)
    on = serializers.BooleanField(default=True)


class FlagCreateSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Flag.Reason.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class FlagResolveSerializer(serializers.Serializer):
    hide = serializers.BooleanField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ThreadModerationSerializer(serializers.Serializer):
    locked = serializers.BooleanField(required=False, allow_null=True, default=None)
    pinned = serializers.BooleanField(required=False, allow_null=True, default=None)


class AcceptSerializer(serializers.Serializer):
    post = serializers.IntegerField(allow_null=True)


class FollowSerializer(serializers.Serializer):
    on = serializers.BooleanField()


class ReadMarkSerializer(serializers.Serializer):
    # The last post the reader was shown (a post id: 64-bit).
    post_id = serializers.IntegerField(min_value=0, max_value=2**63 - 1)


class SuspensionSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    days = serializers.FloatField(min_value=0.01, max_value=3650)
    reason = serializers.CharField(max_length=500)


class PreviewSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000, allow_blank=True)


class LibraryItemCreateSerializer(serializers.Serializer):
    space = serializers.PrimaryKeyRelatedField(queryset=Space.objects.all())
    course_id = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    kind = serializers.ChoiceField(choices=LibraryItem.Kind.choices)
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")
    url = serializers.URLField(required=False, allow_blank=True, default="")
    file = serializers.FileField(required=False, allow_null=True, default=None)


class ReviewSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CommentSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


# -- output shapes (documentation; the payload functions of selectors.py produce them) --------
Person = inline_serializer(
    "ForumPerson", {"id": serializers.IntegerField(), "name": serializers.CharField()}
)


class ForumSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    space = serializers.IntegerField()
    kind = serializers.CharField()
    course_id = serializers.IntegerField(allow_null=True)
    session_id = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()
    description = serializers.CharField()
    thread_count = serializers.IntegerField()
    post_count = serializers.IntegerField()
    last_activity_at = serializers.DateTimeField(allow_null=True)
    topic = serializers.CharField()
    url = serializers.CharField()
    # For the reader, in lists: recent threads never opened, and opened ones with new posts.
    new_threads = serializers.IntegerField(required=False)
    unread_threads = serializers.IntegerField(required=False)


class ThreadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    forum = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    author = Person
    is_locked = serializers.BooleanField()
    is_pinned = serializers.BooleanField()
    accepted_post = serializers.IntegerField(allow_null=True)
    post_count = serializers.IntegerField()
    last_activity_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    topic = serializers.CharField()
    url = serializers.CharField()
    # For the reader, in a forum's list: posts after their read mark; never opened (recent).
    unread = serializers.IntegerField(required=False)
    is_new = serializers.BooleanField(required=False)


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.CharField()
    size = serializers.IntegerField()
    is_image = serializers.BooleanField()


class PostSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    thread = serializers.IntegerField()
    author = Person
    reply_to = inline_serializer(
        "ForumQuote",
        {"id": serializers.IntegerField(), "author": serializers.CharField()},
        allow_null=True,
    )
    body = serializers.CharField()
    body_html = serializers.CharField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    is_hidden = serializers.BooleanField()
    hidden_by_flags = serializers.BooleanField()
    is_deleted = serializers.BooleanField()
    is_wiki = serializers.BooleanField()
    reactions = serializers.DictField(child=serializers.IntegerField())
    mine = serializers.ListField(child=serializers.CharField())
    attachments = AttachmentSerializer(many=True)


class LibraryItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    space = serializers.IntegerField()
    course_id = serializers.IntegerField(allow_null=True)
    kind = serializers.CharField()
    title = serializers.CharField()
    body_html = serializers.CharField()
    url = serializers.CharField()
    file = serializers.CharField()
    status = serializers.CharField()
    rejection_reason = serializers.CharField()
    author = Person
    reactions = serializers.DictField(child=serializers.IntegerField())
    created_at = serializers.DateTimeField()
    page = serializers.CharField()


Any_ = inline_serializer("ForumAny", {"ok": serializers.BooleanField(required=False)})


# -- lookups -----------------------------------------------------------------------------------
def _forum(user: Any, pk: int) -> Forum:
    forum = get_object_or_404(Forum, pk=pk)
    if not can_view_forum(user=user, forum=forum):
        raise Http404
    return forum


def _thread(user: Any, pk: int) -> Thread:
    thread = get_object_or_404(Thread.objects.select_related("forum", "author"), pk=pk)
    if not can_view_thread(user=user, thread=thread):
        raise Http404
    return thread


def _post(user: Any, pk: int) -> Post:
    post = get_object_or_404(
        Post.objects.select_related("thread__forum", "author", "reply_to__author"), pk=pk
    )
    if not can_view_thread(user=user, thread=post.thread):
        raise Http404
    return post


def _item(user: Any, pk: int) -> LibraryItem:
    return get_object_or_404(library_items_for(user=user), pk=pk)


def _files(request: Request) -> dict[str, Any]:
    """Request data with uploaded ``files`` as a list (multipart) or none (JSON)."""
    if hasattr(request.data, "getlist"):
        data = {k: request.data.get(k) for k in request.data}
        data["files"] = request.FILES.getlist("files")
        if "tags" in request.data:
            data["tags"] = [t for t in request.data.getlist("tags") if t]
        return data
    return request.data


def _post_page(view: APIView, request: Request, thread: Thread) -> Response:
    paginator = Pagination()
    page = paginator.paginate_queryset(thread_posts(thread=thread), request, view=view)
    mine = my_reactions(user=request.user, posts=page)
    return paginator.get_paginated_response(
        [post_payload(p, mine=mine.get(p.pk, ())) for p in page]
    )


Parsers = [JSONParser, MultiPartParser, FormParser]


# -- forums ----------------------------------------------------------------------------------
def _with_unread(payload: dict[str, Any], forum: Any) -> dict[str, Any]:
    """A forum's payload with what the reader has not read (``forums_with_unread``)."""
    return {**payload, "new_threads": forum.new_threads, "unread_threads": forum.unread_threads}


class ForumListView(APIView):
    @extend_schema(responses=ForumSerializer(many=True))
    def get(self, request: Request) -> Response:
        forums = forums_with_unread(forums=forums_for(user=request.user), user=request.user)
        return Response([_with_unread(forum_payload(f), f) for f in forums])

    @extend_schema(request=ForumCreateSerializer, responses={201: ForumSerializer})
    def post(self, request: Request) -> Response:
        data = validated(ForumCreateSerializer, request.data)
        forum = services.forum_create(actor=request.user, **data)
        return Response(forum_payload(forum), status=status.HTTP_201_CREATED)


class ForumDetailView(APIView):
    @extend_schema(responses=ForumSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(forum_payload(_forum(request.user, pk)))


class ForumThreadsView(APIView):
    parser_classes = Parsers

    @extend_schema(responses=ThreadSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        forum = _forum(request.user, pk)
        paginator = Pagination()
        threads = forum_threads_for_reader(forum=forum, user=request.user)
        page = paginator.paginate_queryset(threads, request, view=self)
        return paginator.get_paginated_response(
            [{**thread_payload(t), "unread": t.unread, "is_new": t.is_new} for t in page]
        )

    @extend_schema(request=ThreadCreateSerializer, responses={201: ThreadSerializer})
    def post(self, request: Request, pk: int) -> Response:
        forum = _forum(request.user, pk)
        data = validated(ThreadCreateSerializer, _files(request))
        thread = services.thread_create(author=request.user, forum=forum, **data)
        return Response(thread_payload(thread), status=status.HTTP_201_CREATED)


class ForumFollowView(APIView):
    @extend_schema(request=FollowSerializer, responses=FollowSerializer)
    def post(self, request: Request, pk: int) -> Response:
        data = validated(FollowSerializer, request.data)
        on = services.subscription_set(user=request.user, forum=_forum(request.user, pk), **data)
        return Response({"on": on})


class ForumSuspensionsView(APIView):
    @extend_schema(request=SuspensionSerializer, responses={201: Any_})
    def post(self, request: Request, pk: int) -> Response:
        data = validated(SuspensionSerializer, request.data)
        suspension = services.suspension_create(
            moderator=request.user, forum=_forum(request.user, pk), **data
        )
        return Response(
            {"id": suspension.pk, "user": suspension.user_id, "until": suspension.until},
            status=status.HTTP_201_CREATED,
        )


# -- threads ---------------------------------------------------------------------------------
class ThreadReadView(APIView):
    """``POST {"post_id": n}``: the reader was shown the thread up to post ``n``."""

    @extend_schema(request=ReadMarkSerializer, responses=ReadMarkSerializer)
    def post(self, request: Request, pk: int) -> Response:
        data = validated(ReadMarkSerializer, request.data)
        mark = services.thread_mark_read(
            user=request.user, thread=_thread(request.user, pk), post_id=data["post_id"]
        )
        return Response({"post_id": mark})


class ThreadDetailView(APIView):
    @extend_schema(responses=ThreadSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(thread_payload(_thread(request.user, pk)))


class ThreadPostsView(APIView):
    parser_classes = Parsers

    @extend_schema(responses=PostSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        return _post_page(self, request, _thread(request.user, pk))

    @extend_schema(request=PostCreateSerializer, responses={201: PostSerializer})
    def post(self, request: Request, pk: int) -> Response:
        thread = _thread(request.user, pk)
        data = validated(PostCreateSerializer, _files(request))
        reply_to = (
            get_object_or_404(Post, pk=data["reply_to"], thread=thread)
            if data["reply_to"]
            else None
        )
        post = services.post_create(
            author=request.user,
            thread=thread,
            body=data["body"],
            reply_to=reply_to,
            files=data["files"],
        )
        return Response(post_payload(post), status=status.HTTP_201_CREATED)


class ThreadModerationView(APIView):
    @extend_schema(request=ThreadModerationSerializer, responses=ThreadSerializer)
    def post(self, request: Request, pk: int) -> Response:
        data = validated(ThreadModerationSerializer, request.data)
        thread = services.thread_set_flags(
            moderator=request.user, thread=_thread(request.user, pk), **data
        )
        return Response(thread_payload(thread))


class ThreadAcceptView(APIView):
    @extend_schema(request=AcceptSerializer, responses=ThreadSerializer)
    def post(self, request: Request, pk: int) -> Response:
        thread = _thread(request.user, pk)
        data = validated(AcceptSerializer, request.data)
        post = get_object_or_404(Post, pk=data["post"], thread=thread) if data["post"] else None
        return Response(
            thread_payload(
                services.thread_accept_answer(user=request.user, thread=thread, post=post)
            )
        )


class ThreadFollowView(APIView):
    @extend_schema(request=FollowSerializer, responses=FollowSerializer)
    def post(self, request: Request, pk: int) -> Response:
        data = validated(FollowSerializer, request.data)
        on = services.subscription_set(user=request.user, thread=_thread(request.user, pk), **data)
        return Response({"on": on})


# -- posts -----------------------------------------------------------------------------------
class PostDetailView(APIView):
    @extend_schema(responses=PostSerializer)
    def get(self, request: Request, pk: int) -> Response:
        post = _post(request.user, pk)
        return Response(
            post_payload(post, mine=my_reactions(user=request.user, posts=[post]).get(pk, ()))
        )

    @extend_schema(request=PostEditSerializer, responses=PostSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        data = validated(PostEditSerializer, request.data)
        return Response(
            post_payload(
                services.post_edit(editor=request.user, post=_post(request.user, pk), **data)
            )
        )

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.post_delete(actor=request.user, post=_post(request.user, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostRevisionsView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "ForumRevision",
            {
                "id": serializers.IntegerField(),
                "editor": serializers.CharField(),
                "body": serializers.CharField(),
                "body_html": serializers.CharField(),
                "created_at": serializers.DateTimeField(),
            },
            many=True,
        )
    )
    def get(self, request: Request, pk: int) -> Response:
        post = _post(request.user, pk)
        if (post.is_hidden or post.is_deleted) and not is_forum_moderator(
            user=request.user, forum=post.thread.forum
        ):
            return Response([])
        return Response([revision_payload(r) for r in post.revisions.select_related("editor")])


class PostReactionsView(APIView):
    @extend_schema(request=ReactionSerializer, responses=PostSerializer)
    def post(self, request: Request, pk: int) -> Response:
        data = validated(ReactionSerializer, request.data)
        post = services.post_react(user=request.user, post=_post(request.user, pk), **data)
        return Response(
            post_payload(post, mine=my_reactions(user=request.user, posts=[post]).get(post.pk, ()))
        )


class PostFlagsView(APIView):
    @extend_schema(request=FlagCreateSerializer, responses={201: Any_})
    def post(self, request: Request, pk: int) -> Response:
        data = validated(FlagCreateSerializer, request.data)
        flag = services.post_flag(reporter=request.user, post=_post(request.user, pk), **data)
        return Response({"id": flag.pk, "status": flag.status}, status=status.HTTP_201_CREATED)


class PostHideView(APIView):
    hide = True

    @extend_schema(request=ReasonSerializer, responses=PostSerializer)
    def post(self, request: Request, pk: int) -> Response:
        data = validated(ReasonSerializer, request.data)
        action = services.post_hide if self.hide else services.post_restore
        post = action(moderator=request.user, post=_post(request.user, pk), **data)
        return Response(post_payload(post))


class PostRestoreView(PostHideView):
    hide = False


# -- moderation ------------------------------------------------------------------------------
class FlagQueueView(APIView):
    @extend_schema(
        responses=inline_serializer("ForumFlag", {"id": serializers.IntegerField()}, many=True)
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(open_flags_for(user=request.user), request, view=self)
        return paginator.get_paginated_response([flag_payload(f) for f in page])


class FlagResolveView(APIView):
    @extend_schema(request=FlagResolveSerializer, responses=Any_)
    def post(self, request: Request, pk: int) -> Response:
        data = validated(FlagResolveSerializer, request.data)
        flag = get_object_or_404(
            Flag.objects.select_related("post__thread__forum", "reporter"), pk=pk
        )
        flag = services.flag_resolve(moderator=request.user, flag=flag, **data)
        return Response({"id": flag.pk, "status": flag.status})


class ModerationLogView(APIView):
    @extend_schema(
        responses=inline_serializer("ForumLogEntry", {"id": serializers.IntegerField()}, many=True)
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(
            moderation_log_for(user=request.user), request, view=self
        )
        return paginator.get_paginated_response([log_payload(e) for e in page])


# -- search and preview ------------------------------------------------------------------------
class SearchView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("q", str), OpenApiParameter("forum", int, required=False)],
        responses=inline_serializer(
            "ForumSearchHit", {"post": serializers.IntegerField()}, many=True
        ),
    )
    def get(self, request: Request) -> Response:
        forum_id = query_id(request, "forum")
        forum = _forum(request.user, forum_id) if forum_id is not None else None
        paginator = Pagination()
        results = search_posts(
            user=request.user, query=request.query_params.get("q", "")[:200], forum=forum
        )
        page = paginator.paginate_queryset(results, request, view=self)
        return paginator.get_paginated_response([search_result_payload(p) for p in page])


class PreviewView(APIView):
    """The composer's preview: the text as it will be stored (the one sanitising policy)."""

    @extend_schema(
        request=PreviewSerializer,
        responses=inline_serializer("ForumPreview", {"body_html": serializers.CharField()}),
    )
    def post(self, request: Request) -> Response:
        data = validated(PreviewSerializer, request.data)
        return Response({"body_html": sanitize.markdown(data["body"])})


# -- library (UGC) -----------------------------------------------------------------------------
class LibraryListView(APIView):
    parser_classes = Parsers

    @extend_schema(
        parameters=[OpenApiParameter("status", str, required=False)],
        responses=LibraryItemSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        items = library_items_for(user=request.user, status=request.query_params.get("status"))
        page = paginator.paginate_queryset(items, request, view=self)
        return paginator.get_paginated_response([library_item_payload(i) for i in page])

    @extend_schema(request=LibraryItemCreateSerializer, responses={201: LibraryItemSerializer})
    def post(self, request: Request) -> Response:
        data = validated(LibraryItemCreateSerializer, request.data)
        item = services.library_item_submit(author=request.user, **data)
        return Response(library_item_payload(item), status=status.HTTP_201_CREATED)


class LibraryItemView(APIView):
    @extend_schema(responses=LibraryItemSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(library_item_payload(_item(request.user, pk)))


class LibraryReviewView(APIView):
    @extend_schema(request=ReviewSerializer, responses=LibraryItemSerializer)
    def post(self, request: Request, pk: int) -> Response:
        data = validated(ReviewSerializer, request.data)
        item = services.library_item_review(
            reviewer=request.user, item=_item(request.user, pk), **data
        )
        return Response(library_item_payload(item))


class AddToCourseSerializer(serializers.Serializer):
    module = serializers.PrimaryKeyRelatedField(queryset=Module.objects.select_related("course"))


class AddedActivitySerializer(serializers.Serializer):
    activity = serializers.IntegerField()
    course = serializers.IntegerField()
    url = serializers.CharField()


class LibraryAddToCourseView(APIView):
    """A trainer adds an approved item to one of their courses as an activity."""

    @extend_schema(request=AddToCourseSerializer, responses={201: AddedActivitySerializer})
    def post(self, request: Request, pk: int) -> Response:
        data = validated(AddToCourseSerializer, request.data)
        activity = services.library_item_add_to_course(
            user=request.user, item=_item(request.user, pk), module=data["module"]
        )
        return Response(
            {
                "activity": activity.pk,
                "course": activity.course_id,
                "url": activity.course.get_absolute_url(),
            },
            status=status.HTTP_201_CREATED,
        )


class LibraryReactionsView(APIView):
    @extend_schema(request=ReactionSerializer, responses=LibraryItemSerializer)
    def post(self, request: Request, pk: int) -> Response:
        data = validated(ReactionSerializer, request.data)
        item = services.library_item_react(user=request.user, item=_item(request.user, pk), **data)
        return Response(library_item_payload(item))


class LibraryCommentsView(APIView):
    @extend_schema(
        responses=inline_serializer("ForumComment", {"id": serializers.IntegerField()}, many=True)
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response([comment_payload(c) for c in item_comments(item=_item(request.user, pk))])

    @extend_schema(request=CommentSerializer, responses={201: Any_})
    def post(self, request: Request, pk: int) -> Response:
        data = validated(CommentSerializer, request.data)
        comment = services.item_comment_create(
            author=request.user, item=_item(request.user, pk), **data
        )
        return Response(comment_payload(comment), status=status.HTTP_201_CREATED)


# -- trust levels (forums/trust.py) ------------------------------------------------------------
class WikiSerializer(serializers.Serializer):
    on = serializers.BooleanField()


class TrustPinSerializer(serializers.Serializer):
    user = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    level = serializers.IntegerField(min_value=0, max_value=4, allow_null=True)


class TrustSettingsSerializer(serializers.Serializer):
    requirements = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=100000))
    )
    flag_hide_weight = serializers.IntegerField(min_value=1, max_value=100, allow_null=True)


TrustNeed = inline_serializer(
    "TrustNeed",
    {
        "key": serializers.CharField(),
        "label": serializers.CharField(),
        "need": serializers.IntegerField(),
        "have": serializers.IntegerField(),
        "met": serializers.BooleanField(),
        "percent": serializers.IntegerField(),
    },
    many=True,
)
TrustChangeOut = inline_serializer(
    "TrustChange",
    {
        "old_level": serializers.IntegerField(),
        "new_level": serializers.IntegerField(),
        "reason": serializers.CharField(),
        "at": serializers.DateTimeField(),
    },
    many=True,
)


class TrustProgressSerializer(serializers.Serializer):
    space = serializers.IntegerField()
    level = serializers.IntegerField()
    name = serializers.CharField()
    staff = serializers.BooleanField()
    pinned = serializers.BooleanField()
    stats = serializers.DictField(child=serializers.IntegerField())
    next = serializers.IntegerField(allow_null=True)
    next_name = serializers.CharField(allow_null=True)
    needs = TrustNeed
    limits = serializers.DictField(child=serializers.IntegerField(allow_null=True))
    history = TrustChangeOut


class TrustSettingsOutSerializer(serializers.Serializer):
    space = serializers.IntegerField()
    requirements = serializers.DictField(child=serializers.DictField())
    flag_hide_weight = serializers.IntegerField()


def _member_space(user: Any, pk: int) -> Space:
    space = get_object_or_404(Space, pk=pk)
    if not is_space_member(user=user, space=space.pk):
        raise Http404
    return space


class PostWikiView(APIView):
    @extend_schema(request=WikiSerializer, responses=PostSerializer)
    def post(self, request: Request, pk: int) -> Response:
        data = validated(WikiSerializer, request.data)
        post = services.post_set_wiki(user=request.user, post=_post(request.user, pk), **data)
        return Response(post_payload(post))


class TrustMeView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("space", int, required=True)],
        responses=TrustProgressSerializer,
    )
    def get(self, request: Request) -> Response:
        space = _member_space(request.user, query_id(request, "space", required=True))
        return Response(trust.progress_payload(user=request.user, space=space))


class TrustMemberView(APIView):
    @extend_schema(responses=TrustProgressSerializer)
    def get(self, request: Request, pk: int, user_id: int) -> Response:
        space = _member_space(request.user, pk)
        if not trust.can_admin_trust(user=request.user, space=space):
            raise PermissionDenied(_("Only the space's admins see others' trust levels."))
        person = get_object_or_404(User, pk=user_id, space_memberships__space=space)
        return Response(trust.progress_payload(user=person, space=space))


class TrustSettingsView(APIView):
    @extend_schema(responses=TrustSettingsOutSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(trust.settings_payload(_member_space(request.user, pk)))

    @extend_schema(request=TrustSettingsSerializer, responses=TrustSettingsOutSerializer)
    def put(self, request: Request, pk: int) -> Response:
        space = _member_space(request.user, pk)
        data = validated(TrustSettingsSerializer, request.data)
        trust.trust_settings_set(actor=request.user, space=space, **data)
        return Response(trust.settings_payload(space))


class TrustPinView(APIView):
    @extend_schema(request=TrustPinSerializer, responses=TrustProgressSerializer)
    def post(self, request: Request, pk: int) -> Response:
        space = _member_space(request.user, pk)
        data = validated(TrustPinSerializer, request.data)
        if not trust.can_admin_trust(user=request.user, space=space):
            raise PermissionDenied(_("Only the space's admins set trust levels."))
        person = get_object_or_404(User, pk=data["user"], space_memberships__space=space)
        trust.trust_pin(actor=request.user, user=person, space=space, level=data["level"])
        return Response(trust.progress_payload(user=person, space=space))
