"""Pages of the blogs: thin, over services and selectors. Live updates come from the page
script ``static/blogs/blogs.js`` (topics ``blogs.space.<id>`` and ``blogs.post.<id>``)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from rest_framework.exceptions import Throttled

from blogs import services
from blogs.models import Blog, BlogPost
from blogs.selectors import (
    blog_posts_for,
    blogs_for,
    can_read_blog,
    can_read_post,
    can_write_blog,
    home_feed,
    is_following,
    my_reactions,
    post_comments,
    published_posts,
    writable_blogs,
)
from forums.models import Emoji
from hub.accounts.middleware import current_space
from hub.accounts.models import Team
from hub.params import parse_id


class BlogForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title of the blog"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("What it is about"), max_length=1000, required=False
    )


class PostForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    body = forms.CharField(
        label=gettext_lazy("Text (Markdown)"),
        max_length=services.MAX_BODY_CHARS,
        widget=forms.Textarea(attrs={"rows": 16}),
    )


def _errors(request: HttpRequest, exc: Exception) -> None:
    if isinstance(exc, ValidationError):
        messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, str(getattr(exc, "detail", exc)))


@login_required
@require_GET
def home_feed_section(request: HttpRequest) -> HttpResponse:
    """The home page's blog section alone (``js/home.js`` redraws it on a feed event)."""
    space = current_space(request)
    data = home_feed(user=request.user, space_id=space.pk if space else None)
    return render(request, "blogs/_home_feed.html", {"section": "blogs", "data": data})


@login_required
def blog_index(request: HttpRequest) -> HttpResponse:
    """The space's blogs and their latest posts; open one's own blog or a team's."""
    space = current_space(request)
    if space is None:
        raise Http404
    if request.method == "POST":
        form = BlogForm(request.POST)
        team = None
        if request.POST.get("team"):
            team_id = parse_id(request.POST["team"])
            team = Team.objects.filter(pk=team_id).first() if team_id else None
            if team is None:
                raise Http404
        if form.is_valid():
            try:
                blog = services.blog_create(
                    actor=request.user, space=space, team=team, **form.cleaned_data
                )
                return redirect(blog.get_absolute_url())
            except (ValidationError, PermissionDenied) as exc:
                _errors(request, exc)
        else:
            messages.error(request, _("Give the blog a title."))
        return redirect("blogs")
    mine = writable_blogs(user=request.user, space_id=space.pk)
    teams_without_blog = Team.objects.filter(space=space, blogs__isnull=True).filter(
        pk__in=Team.objects.filter(members=request.user).values("pk")
    ) | Team.objects.filter(space=space, blogs__isnull=True, manager=request.user)
    posts = Paginator(published_posts(user=request.user, space_id=space.pk), 20).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "blogs/index.html",
        {
            "space": space,
            "posts": posts,
            "blogs": blogs_for(user=request.user, space_id=space.pk),
            "mine": mine,
            "has_own": any(b.owner_id == request.user.pk for b in mine),
            "teams": teams_without_blog.distinct(),
            "form": BlogForm(),
            "topic": services.space_topic(space.pk),
        },
    )


def _blog(request: HttpRequest, pk: int) -> Blog:
    blog = get_object_or_404(Blog.objects.select_related("owner", "team", "space"), pk=pk)
    if not can_read_blog(user=request.user, blog=blog):
        raise Http404
    return blog


@login_required
def blog_detail(request: HttpRequest, pk: int) -> HttpResponse:
    blog = _blog(request, pk)
    if request.method == "POST":
        services.follow_set(user=request.user, blog=blog, on=request.POST.get("follow") == "1")
        return redirect(blog.get_absolute_url())
    return render(
        request,
        "blogs/blog.html",
        {
            "blog": blog,
            "posts": blog_posts_for(user=request.user, blog=blog)[:50],
            "writer": can_write_blog(user=request.user, blog=blog),
            "following": is_following(user=request.user, blog=blog),
        },
    )


def _save(request: HttpRequest, blog: Blog, post: BlogPost | None, form: PostForm) -> BlogPost:
    data = form.cleaned_data
    if post is None:
        post = services.post_create(author=request.user, blog=blog, **data)
    else:
        post = services.post_update(editor=request.user, post=post, **data)
    if request.POST.get("action") == "publish":
        post = services.post_publish(editor=request.user, post=post)
    return post


def _editor(request: HttpRequest, blog: Blog, post: BlogPost | None) -> HttpResponse:
    if not can_write_blog(user=request.user, blog=blog):
        raise PermissionDenied
    initial = {"title": post.title, "body": post.body} if post else None
    form = PostForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            post = _save(request, blog, post, form)
            return redirect(post.get_absolute_url())
        except (ValidationError, Throttled) as exc:
            _errors(request, exc)
    return render(request, "blogs/editor.html", {"blog": blog, "post": post, "form": form})


@login_required
def post_new(request: HttpRequest, pk: int) -> HttpResponse:
    return _editor(request, _blog(request, pk), None)


def _post(request: HttpRequest, pk: int) -> BlogPost:
    post = get_object_or_404(BlogPost.objects.select_related("blog__team", "author"), pk=pk)
    if not can_read_post(user=request.user, post=post):
        raise Http404
    return post


@login_required
def post_edit(request: HttpRequest, pk: int) -> HttpResponse:
    post = _post(request, pk)
    return _editor(request, post.blog, post)


@login_required
def post_detail(request: HttpRequest, pk: int) -> HttpResponse:
    post = _post(request, pk)
    writer = can_write_blog(user=request.user, blog=post.blog)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "comment":
                comment = services.comment_create(
                    author=request.user, post=post, body=request.POST.get("body", "")[:5000]
                )
                return redirect(f"{post.get_absolute_url()}#comment-{comment.pk}")
            if action == "react":
                emoji = request.POST.get("emoji", "")
                on = emoji not in my_reactions(user=request.user, post=post)
                services.post_react(user=request.user, post=post, emoji=emoji, on=on)
            elif action == "publish":
                services.post_publish(editor=request.user, post=post)
            elif action == "unpublish":
                services.post_unpublish(editor=request.user, post=post)
            elif action == "delete":
                blog = post.blog
                services.post_delete(actor=request.user, post=post)
                return redirect(blog.get_absolute_url())
        except (ValidationError, Throttled) as exc:
            _errors(request, exc)
        return redirect(post.get_absolute_url())
    comments = list(post_comments(post=post))
    return render(
        request,
        "blogs/post.html",
        {
            "post": post,
            "writer": writer,
            "comments": comments,
            "mine": my_reactions(user=request.user, post=post),
            "emoji": Emoji.choices,
            "since": comments[-1].pk if comments else 0,
        },
    )
