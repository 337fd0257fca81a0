from django.db import migrations, models
from django.db.models import F


def published_before(apps, schema_editor):
    """Duels already in play published their current question's text when it was
    announced (the code before this field): mark it as sent, so it is not sent twice."""
    Duel = apps.get_model("leaderboards", "Duel")
    Duel.objects.filter(current_index__gte=0).update(opened_index=F("current_index"))


class Migration(migrations.Migration):
    dependencies = [
        ("leaderboards", "0002_duels"),
    ]

    operations = [
        migrations.AddField(
            model_name="duel",
            name="opened_index",
            field=models.SmallIntegerField(default=-1),
        ),
        migrations.RunPython(published_before, migrations.RunPython.noop),
    ]
