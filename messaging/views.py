"""The chat page: conversation list, message pane, composer (one page, live)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from hub.accounts.models import User
from hub.accounts.selectors import spaces_of
from messaging import selectors, services
from messaging.api import conversation_detail
from messaging.models import ChatSettings, Conversation


@login_required
def chat(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    memberships = list(selectors.conversations_for(user=request.user))
    conversations = [selectors.conversation_payload(m) for m in memberships]
    current = None
    messages: list = []
    open_thread = None
    if pk is not None:
        conversation = get_object_or_404(Conversation, pk=pk)
        if not selectors.can_read(user=request.user, conversation=conversation):
            raise Http404
        current = conversation_detail(request.user, conversation)
        membership = next(m for m in memberships if m.conversation_id == pk)
        first = selectors.first_unread_id(membership=membership)
        limit = selectors.limits()["PAGE_SIZE"]
        if first is not None:
            page = selectors.messages_page(conversation=conversation, before=first, limit=10)
            page += selectors.messages_page(conversation=conversation, after=first - 1, limit=limit)
        else:
            page = selectors.messages_page(conversation=conversation, limit=limit)
        messages = [selectors.message_payload(m) for m in page]
        # ``?thread=<id>`` (a notice's link) opens that message's thread beside it.
        wanted = request.GET.get("thread", "")
        if wanted.isdigit() and len(wanted) < 19:
            found = conversation.messages.filter(pk=int(wanted)).first()
            if found is not None:
                open_thread = selectors.thread_root_of(found).pk
    row = ChatSettings.objects.filter(user=request.user).first()
    my_spaces = spaces_of(user=request.user)
    people = (
        User.objects.filter(is_active=True, space_memberships__space__in=my_spaces)
        .exclude(pk=request.user.pk)
        .distinct()
        .order_by("username")[:200]
    )
    state = {
        "me": {"id": request.user.pk, "name": request.user.name},
        "conversations": conversations,
        "current": current,
        "messages": messages,
        "threads": [
            selectors.thread_list_payload(f) for f in selectors.threads_for(user=request.user)
        ],
        "open_thread": open_thread,
        "settings": {"read_receipts": row.read_receipts if row else True},
        "edit_window": selectors.limits()["EDIT_WINDOW_SECONDS"],
        "max_length": selectors.limits()["MAX_LENGTH"],
    }
    return render(
        request,
        "messaging/chat.html",
        {"state": state, "current": current, "people": people},
    )


@login_required
def chat_direct(request: HttpRequest, user_id: int) -> HttpResponse:
    """Open (or create) the direct conversation with someone, then show it."""
    if request.method != "POST":
        raise Http404
    other = get_object_or_404(User, pk=user_id)
    conversation = services.conversation_direct_open(user=request.user, other=other)
    return redirect("chat-conversation", pk=conversation.pk)
