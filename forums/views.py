"""Pages of the forums: thin, over services and selectors. Live updates come from the page
scripts in static/forums/ (topics forums.forum.<id> and forums.thread.<id>)."""

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
from rest_framework.exceptions import Throttled

from classrooms.models import Module
from forums import services, trust
from forums.conf import limit
from forums.models import Emoji, Forum, LibraryItem, Post, Thread
from forums.selectors import (
    can_review_library,
    can_view_forum,
    can_view_thread,
    forum_threads_for_reader,
    forums_for,
    forums_with_unread,
    is_forum_moderator,
    is_moderator_anywhere,
    is_subscribed,
    item_comments,
    last_thread_event_id,
    last_thread_id,
    library_items_for,
    moderation_log_for,
    modules_for_library,
    my_reactions,
    open_flags_for,
    post_payload,
    search_posts,
    thread_payload,
    thread_posts,
)
from hub.accounts.middleware import current_space
from hub.params import parse_id

POSTS_PER_PAGE = 30


class ThreadForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Thread.Kind.choices)
    tags = forms.CharField(
        label=gettext_lazy("Tags"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Comma separated."),
    )
    body = forms.CharField(
        label=gettext_lazy("Text (markdown)"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Your reply (markdown)"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    reply_to = forms.IntegerField(required=False, widget=forms.HiddenInput)


class LibraryForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=LibraryItem.Kind.choices)
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    url = forms.URLField(label=gettext_lazy("Link"), required=False, assume_scheme="https")
    body = forms.CharField(
        label=gettext_lazy("Text (markdown)"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    file = forms.FileField(label=gettext_lazy("File"), required=False)


def _errors(form: forms.Form, exc: Exception) -> None:
    if isinstance(exc, Throttled):
        form.add_error(None, str(exc.detail))
    elif isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages if isinstance(exc, ValidationError) else str(exc))


@login_required
def forum_list(request: HttpRequest) -> HttpResponse:
    space = current_space(request)
    forums = forums_for(user=request.user)
    if space is not None:
        forums = forums.filter(space=space)
    forums = forums_with_unread(forums=forums, user=request.user)
    return render(
        request,
        "forums/list.html",
        {"forums": forums, "is_moderator": is_moderator_anywhere(user=request.user)},
    )


@login_required
def forum_detail(request: HttpRequest, pk: int) -> HttpResponse:
    forum = get_object_or_404(Forum.objects.select_related("space"), pk=pk)
    if not can_view_forum(user=request.user, forum=forum):
        raise Http404
    form = ThreadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            thread = services.thread_create(
                author=request.user,
                forum=forum,
                title=data["title"],
                body=data["body"],
                kind=data["kind"],
                tags=[t for t in data["tags"].split(",") if t.strip()],
                files=request.FILES.getlist("files"),
            )
        except (ValidationError, PermissionDenied, Throttled) as exc:
            _errors(form, exc)
        else:
            return redirect(thread)
    since = last_thread_id(forum=forum)
    threads = forum_threads_for_reader(forum=forum, user=request.user)
    page = Paginator(threads, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "forums/forum.html",
        {
            "forum": forum,
            "page": page,
            "form": form,
            "since": since,
            "following": is_subscribed(user=request.user, forum=forum),
            "is_moderator": is_forum_moderator(user=request.user, forum=forum),
        },
    )


@login_required
def thread_detail(request: HttpRequest, pk: int) -> HttpResponse:
    thread = get_object_or_404(Thread.objects.select_related("forum", "author"), pk=pk)
    if not can_view_thread(user=request.user, thread=thread):
        raise Http404
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reply_to_id = form.cleaned_data.get("reply_to")
        reply_to = (
            Post.objects.filter(pk=reply_to_id, thread=thread).first() if reply_to_id else None
        )
        try:
            post = services.post_create(
                author=request.user,
                thread=thread,
                body=form.cleaned_data["body"],
                reply_to=reply_to,
                files=request.FILES.getlist("files"),
            )
        except (ValidationError, PermissionDenied, Throttled) as exc:
            _errors(form, exc)
        else:
            count = thread_posts(thread=thread).filter(id__lte=post.pk).count()
            page_number = (count - 1) // POSTS_PER_PAGE + 1
            return redirect(f"{thread.get_absolute_url()}?page={page_number}#post-{post.pk}")
    # The resume point is read before the posts: an event in between is replayed, not lost.
    since = last_thread_event_id(thread=thread)
    paginator = Paginator(thread_posts(thread=thread), POSTS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    mine = my_reactions(user=request.user, posts=page.object_list)
    moderator = is_forum_moderator(user=request.user, forum=thread.forum)
    posts = [post_payload(p, mine=mine.get(p.pk, ())) for p in page.object_list]
    return render(
        request,
        "forums/thread.html",
        {
            "thread": thread,
            "forum": thread.forum,
            "page": page,
            "posts": posts,
            "form": form,
            "since": since,
            "is_moderator": moderator,
            "following": is_subscribed(user=request.user, thread=thread),
            "can_accept": thread.kind == Thread.Kind.QUESTION
            and (moderator or thread.author_id == request.user.pk),
            "emoji": Emoji.choices,
            "last_page": not page.has_next(),
            "initial": {
                "thread": thread_payload(thread),
                "topic": thread.topic,
                "since": since,
                "me": request.user.pk,
                "moderator": moderator,
                "last_page": not page.has_next(),
                "edit_window_minutes": limit("EDIT_WINDOW_MINUTES"),
                "trust_level": trust.level_of(user=request.user, space=thread.forum.space_id),
                "wiki_level": limit("WIKI_EDIT_LEVEL"),
                "emoji": dict(Emoji.choices),
                "posts": posts,
            },
        },
    )


@login_required
def moderation_queue(request: HttpRequest) -> HttpResponse:
    if not is_moderator_anywhere(user=request.user):
        raise PermissionDenied
    flags = Paginator(open_flags_for(user=request.user), 30).get_page(request.GET.get("page"))
    return render(
        request,
        "forums/moderation.html",
        {"flags": flags, "log": moderation_log_for(user=request.user)[:50]},
    )


@login_required
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:200]
    results = Paginator(search_posts(user=request.user, query=query), 20).get_page(
        request.GET.get("page")
    )
    return render(request, "forums/search.html", {"query": query, "results": results})


@login_required
def library(request: HttpRequest) -> HttpResponse:
    space = current_space(request)
    form = LibraryForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        if space is None:
            raise PermissionDenied
        try:
            item = services.library_item_submit(
                author=request.user, space=space, **form.cleaned_data
            )
        except (ValidationError, PermissionDenied, Throttled) as exc:
            _errors(form, exc)
        else:
            messages.success(request, _("Thank you! A trainer will review your item."))
            return redirect(item)
    items = library_items_for(user=request.user)
    if space is not None:
        items = items.filter(space=space)
    reviewer = space is not None and can_review_library(user=request.user, space_id=space.pk)
    return render(
        request,
        "forums/library.html",
        {
            "approved": items.filter(status=LibraryItem.Status.APPROVED)[:100],
            "waiting": items.filter(status=LibraryItem.Status.SUBMITTED)[:100],
            "mine": items.filter(author=request.user).exclude(status=LibraryItem.Status.APPROVED),
            "form": form,
            "reviewer": reviewer,
        },
    )


@login_required
def library_item(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(library_items_for(user=request.user), pk=pk)
    reviewer = can_review_library(user=request.user, space_id=item.space_id)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action in ("approve", "reject"):
                services.library_item_review(
                    reviewer=request.user,
                    item=item,
                    approve=action == "approve",
                    reason=request.POST.get("reason", ""),
                )
            elif action == "comment":
                services.item_comment_create(
                    author=request.user, item=item, body=request.POST.get("body", "")
                )
            elif action == "add_to_course":
                module_id = parse_id(request.POST.get("module", ""))
                if module_id is None:
                    raise Http404
                module = get_object_or_404(Module.objects.select_related("course"), pk=module_id)
                activity = services.library_item_add_to_course(
                    user=request.user, item=item, module=module
                )
                return redirect(activity.course)
            elif action == "react":
                emoji = request.POST.get("emoji", "")
                services.library_item_react(
                    user=request.user, item=item, emoji=emoji, on=request.POST.get("on") != "0"
                )
        except (ValidationError, PermissionDenied, Throttled) as exc:
            detail = exc.detail if isinstance(exc, Throttled) else exc
            messages.error(request, " ".join(getattr(detail, "messages", [str(detail)])))
        return redirect(item)
    return render(
        request,
        "forums/library_item.html",
        {
            "item": item,
            "comments": item_comments(item=item),
            "reviewer": reviewer,
            "emoji": Emoji.choices,
            "course_modules": modules_for_library(user=request.user, space_id=item.space_id)
            if item.status == LibraryItem.Status.APPROVED
            else [],
        },
    )


# -- trust levels (forums/trust.py) ------------------------------------------------------------
@login_required
def trust_page(request: HttpRequest) -> HttpResponse:
    """The rules shown to members: their level, what the next one needs, their progress,
    each level's limits; for space admins, the space's thresholds and pinned levels."""
    from hub.accounts.models import Space, User
    from hub.accounts.selectors import is_space_member

    space_id = parse_id(request.GET.get("space", "")) if request.GET.get("space") else None
    space = Space.objects.filter(pk=space_id).first() if space_id else current_space(request)
    if space is None or not is_space_member(user=request.user, space=space.pk):
        raise Http404
    admin = trust.can_admin_trust(user=request.user, space=space)
    if request.method == "POST":
        if not admin:
            raise PermissionDenied
        try:
            if request.POST.get("action") == "pin":
                person = User.objects.filter(
                    username=request.POST.get("username", "")[:150],
                    space_memberships__space=space,
                ).first()
                if person is None:
                    raise ValidationError(_("No member of this space has that user name."))
                raw = request.POST.get("level", "")
                level = None if raw == "" else parse_id(raw)
                if raw != "" and level is None:
                    raise ValidationError(_("A level from 0 to 4."))
                trust.trust_pin(actor=request.user, user=person, space=space, level=level)
                messages.success(request, _("The level is saved."))
            else:
                reqs: dict[str, dict[str, int]] = {}
                for level, defaults in trust.requirements_for(space).items():
                    for key in defaults:
                        raw = request.POST.get(f"req-{level}-{key}", "")
                        value = parse_id(raw)
                        if value is None:
                            raise ValidationError(_("Whole numbers only."))
                        if value != trust.DEFAULT_REQUIREMENTS[level].get(key):
                            reqs.setdefault(str(level), {})[key] = value
                weight = parse_id(request.POST.get("flag_hide_weight", ""))
                trust.trust_settings_set(
                    actor=request.user, space=space, requirements=reqs, flag_hide_weight=weight
                )
                messages.success(request, _("The thresholds are saved."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect(f"{request.path}?space={space.pk}")
    progress = trust.progress_payload(user=request.user, space=space)
    reqs = trust.requirements_for(space)
    return render(
        request,
        "forums/trust.html",
        {
            "space": space,
            "progress": progress,
            "rules": trust.rules_table(),
            "limit_labels": list(trust.LIMIT_LABELS.values()),
            "requirement_rows": [
                {
                    "key": key,
                    "label": label,
                    "levels": [(level, reqs[level].get(key, 0)) for level in range(1, 5)],
                }
                for key, label in trust.REQUIREMENT_LABELS.items()
            ],
            "flag_hide_weight": trust.flag_hide_weight(space),
            "wiki_level": limit("WIKI_EDIT_LEVEL"),
            "admin": admin,
            "pinned": (
                trust.TrustLevel.objects.filter(space=space, pinned_level__isnull=False)
                .select_related("user")
                .order_by("user__username")
                if admin
                else []
            ),
        },
    )
