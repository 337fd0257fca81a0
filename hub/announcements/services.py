from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from hub import realtime, sanitize
from hub.accounts.models import Space, Team, User
from hub.accounts.selectors import space_member_ids, team_member_ids
from hub.announcements.models import Announcement
from hub.announcements.selectors import announcement_payload, can_announce, can_announce_to_space
from hub.notify import notify

BODY_MAX_CHARS = 20_000  # as the form and the REST serializer say


def announcement_post(
    *,
    author: User,
    title: str,
    body: str = "",
    link: str = "",
    space: Space | None = None,
    team: Team | None = None,
) -> Announcement:
    """Post to a space or a team; every member is notified live (and by e-mail per choice)."""
    # Rendered before the transaction: never while holding the space's topic order.
    body_html = sanitize.markdown(body, max_chars=BODY_MAX_CHARS, field="body")
    return _announcement_post(
        author=author,
        title=title,
        body=body,
        body_html=body_html,
        link=link,
        space=space,
        team=team,
    )


@transaction.atomic
def _announcement_post(
    *,
    author: User,
    title: str,
    body: str,
    body_html: str,
    link: str,
    space: Space | None,
    team: Team | None,
) -> Announcement:
    if (space is None) == (team is None):
        raise ValidationError(_("Send an announcement to a space or to a team."))
    if not can_announce(user=author):
        raise PermissionDenied(_("Only coordinators, trainers and admins post announcements."))
    audience_space = space if space is not None else team.space
    if not can_announce_to_space(user=author, space_id=audience_space.pk):
        raise PermissionDenied(_("You are not a member of this space."))
    title = sanitize.plain(title).strip()
    if not title:
        raise ValidationError({"title": _("A title is required.")})
    if space is not None:
        realtime.hold_topic_order(space.topic)
    announcement = Announcement.objects.create(
        author=author,
        space=space,
        team=team,
        title=title,
        body=body,
        body_html=body_html,
        link=link,
    )
    recipient_ids = (
        space_member_ids(space=space) if space is not None else team_member_ids(team=team)
    )
    if team is not None:
        recipient_ids.append(team.manager_id)
    recipients = User.objects.filter(pk__in=set(recipient_ids), is_active=True).exclude(
        pk=author.pk
    )
    notify(
        recipients=recipients,
        kind="announcement",
        verb=title,
        actor=author,
        target=announcement,
        description=sanitize.plain(announcement.body_html)[:500],
        url=announcement.get_absolute_url(),
    )
    if space is not None:
        realtime.publish(
            space.topic,
            "announcement.created",
            announcement_payload(announcement),
            id=announcement.pk,
        )
    return announcement
