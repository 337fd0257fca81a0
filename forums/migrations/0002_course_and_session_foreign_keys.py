"""Forum.course / Forum.session / LibraryItem.course become foreign keys.

They were plain integer ids. The old columns are renamed aside, the foreign keys added, the
ids copied over where the course or session still exists, and the old columns dropped, so
existing forums keep their course and session on every database.
"""

import django.db.models.deletion
from django.db import migrations, models


def copy_ids(apps, schema_editor):
    Forum = apps.get_model("forums", "Forum")
    LibraryItem = apps.get_model("forums", "LibraryItem")
    Course = apps.get_model("classrooms", "Course")
    Session = apps.get_model("training_sessions", "Session")
    courses = set(Course.objects.values_list("id", flat=True))
    sessions = set(Session.objects.values_list("id", flat=True))
    for forum in Forum.objects.exclude(legacy_course_id=None, legacy_session_id=None):
        forum.course_id = forum.legacy_course_id if forum.legacy_course_id in courses else None
        forum.session_id = forum.legacy_session_id if forum.legacy_session_id in sessions else None
        forum.save(update_fields=["course", "session"])
    for item in LibraryItem.objects.exclude(legacy_course_id=None):
        item.course_id = item.legacy_course_id if item.legacy_course_id in courses else None
        item.save(update_fields=["course"])


class Migration(migrations.Migration):
    dependencies = [
        ("classrooms", "0001_initial"),
        ("training_sessions", "0001_initial"),
        ("forums", "0001_initial"),
    ]

    operations = [
        # Drop the old indexes first: their names are derived from the column name the
        # foreign keys take over.
        migrations.AlterField(
            "forum", "course_id", models.PositiveBigIntegerField(null=True, blank=True)
        ),
        migrations.AlterField(
            "forum", "session_id", models.PositiveBigIntegerField(null=True, blank=True)
        ),
        migrations.AlterField(
            "libraryitem", "course_id", models.PositiveBigIntegerField(null=True, blank=True)
        ),
        migrations.RenameField("forum", "course_id", "legacy_course_id"),
        migrations.RenameField("forum", "session_id", "legacy_session_id"),
        migrations.RenameField("libraryitem", "course_id", "legacy_course_id"),
        migrations.AddField(
            model_name="forum",
            name="course",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="forums",
                to="classrooms.course",
                verbose_name="course",
            ),
        ),
        migrations.AddField(
            model_name="forum",
            name="session",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="forums",
                to="training_sessions.session",
                verbose_name="session",
            ),
        ),
        migrations.AddField(
            model_name="libraryitem",
            name="course",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="library_items",
                to="classrooms.course",
                verbose_name="course",
            ),
        ),
        migrations.RunPython(copy_ids, migrations.RunPython.noop),
        migrations.RemoveField("forum", "legacy_course_id"),
        migrations.RemoveField("forum", "legacy_session_id"),
        migrations.RemoveField("libraryitem", "legacy_course_id"),
    ]
