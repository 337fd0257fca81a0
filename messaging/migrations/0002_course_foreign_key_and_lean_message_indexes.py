"""``Conversation.course_id`` (a bare integer) becomes a foreign key to classrooms.Course,
keeping every channel's link; redundant single-column indexes of the message and event
tables give way to the composite ones (fewer writes per message sent); conversations get
the watermark of the notification job (existing messages count as notified)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def detach_missing_courses(apps, schema_editor):
    """A channel whose course no longer exists keeps its history, detached (a foreign key
    cannot point at nothing)."""
    if schema_editor.connection.vendor == "postgresql":
        # Fire foreign key checks now, not at commit, so the ALTER TABLE below is allowed.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    Conversation = apps.get_model("messaging", "Conversation")
    Course = apps.get_model("classrooms", "Course")
    Conversation.objects.filter(course_id__isnull=False).exclude(
        course_id__in=Course.objects.values("id")
    ).update(course_id=None)


def history_is_notified(apps, schema_editor):
    """What was sent before the notification job existed was notified then."""
    Conversation = apps.get_model("messaging", "Conversation")
    Conversation.objects.update(notified_id=F("last_event_id"))


class Migration(migrations.Migration):
    dependencies = [
        ("classrooms", "0001_initial"),
        ("messaging", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="conversation", name="one_channel_per_course"),
        migrations.RunPython(detach_missing_courses, migrations.RunPython.noop),
        migrations.RenameField(model_name="conversation", old_name="course_id", new_name="course"),
        migrations.AlterField(
            model_name="conversation",
            name="course",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="chat_channels",
                to="classrooms.course",
                verbose_name="course",
            ),
        ),
        migrations.AddConstraint(
            model_name="conversation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("course__isnull", False), ("kind", "course")),
                fields=("course",),
                name="one_channel_per_course",
            ),
        ),
        migrations.AlterField(
            model_name="message",
            name="conversation",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="messages",
                to="messaging.conversation",
            ),
        ),
        migrations.AlterField(
            model_name="message",
            name="sender",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="chat_messages",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["sender", "created_at"], name="message_sender_recent"),
        ),
        migrations.AlterField(
            model_name="conversationevent",
            name="conversation",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="events",
                to="messaging.conversation",
            ),
        ),
        migrations.AddField(
            model_name="conversation",
            name="notified_id",
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(history_is_notified, migrations.RunPython.noop),
    ]
