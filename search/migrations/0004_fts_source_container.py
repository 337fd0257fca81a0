"""SQLite: the FTS5 index gains the document's source and container id as columns
(search/fulltext.py), so a search narrowed to one conversation, forum or course
intersects match lists; the table and its triggers are recreated and every existing
document indexed again. Nothing to do on PostgreSQL."""

from django.db import migrations


def reinstall(apps, schema_editor):
    from search import fulltext

    fulltext.reinstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("search", "0003_container_recent_index")]

    operations = [migrations.RunPython(reinstall, migrations.RunPython.noop, elidable=False)]
