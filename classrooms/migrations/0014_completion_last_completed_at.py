from django.db import migrations, models


def first_is_last(apps, schema_editor):
    """Completions made before: done once, at their first date."""
    Completion = apps.get_model("classrooms", "Completion")
    Completion.objects.filter(last_completed_at__isnull=True).update(
        last_completed_at=models.F("completed_at")
    )


class Migration(migrations.Migration):
    dependencies = [("classrooms", "0013_due_dates")]

    operations = [
        migrations.AddField(
            model_name="completion",
            name="last_completed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="completion",
            name="times",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.RunPython(first_is_last, migrations.RunPython.noop),
    ]
