"""The full-text index beside the documents, for the database in use: a GIN-indexed
tsvector kept by a trigger on PostgreSQL, an FTS5 table kept by triggers on SQLite
(search/fulltext.py). Nothing on other databases."""

from django.db import migrations


def install(apps, schema_editor):
    from search import fulltext

    fulltext.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    from search import fulltext

    fulltext.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
