"""The French catalogue: pages switch language, and the catalogue is complete and compiled."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

CATALOGUES = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES"
# Strings of the shell: every one of them must be translated (other apps add theirs later).
SHELL_SOURCES = ("frontend/", "hub/templates/", "hub/announcements/templates/")
PO_FIELD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d)\])?) (".*")$')


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file: references, flags, msgctxt, msgid, msgid_plural, msgstr(s)."""
    entries: list[dict] = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict = {"refs": [], "flags": [], "msgstr": {}}
        field = None
        for line in block.strip().splitlines():
            if line.startswith("#:"):
                entry["refs"] += line[2:].split()
            elif line.startswith("#,"):
                entry["flags"] += [f.strip() for f in line[2:].split(",")]
            elif line.startswith("#"):
                continue
            else:
                match = re.match(
                    r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d)\])?) (\".*\")$", line
                )
                if match:
                    field = match.group(1)
                    text = _unquote(match.group(3))
                    if field.startswith("msgstr"):
                        field = ("msgstr", int(match.group(2) or 0))
                        entry["msgstr"][field[1]] = text
                    else:
                        entry[field] = text
                elif line.startswith('"') and field is not None:
                    if isinstance(field, tuple):
                        entry["msgstr"][field[1]] += _unquote(line)
                    else:
                        entry[field] += _unquote(line)
        if "msgid" in entry:
            entries.append(entry)
    return entries


def _unquote(quoted: str) -> str:
    body = quoted[1:-1]
    return re.sub(r'\\(["\\nt])', lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), body)


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_every_shell_string_has_a_french_translation(domain):
    entries = [e for e in parse_po(CATALOGUES / f"{domain}.po") if e["msgid"]]
    shell = [e for e in entries if any(r.startswith(SHELL_SOURCES) for r in e["refs"])]
    assert shell, "no shell strings in the catalogue: run `make messages`"
    untranslated = [
        e["msgid"] for e in shell if "fuzzy" in e["flags"] or not all(e["msgstr"].values())
    ]
    assert untranslated == []


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_compiled_catalogue_matches_the_po_file(domain):
    """The committed .mo is what compilemessages makes of the committed .po."""
    with (CATALOGUES / f"{domain}.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in parse_po(CATALOGUES / f"{domain}.po"):
        if not entry["msgid"] or "fuzzy" in entry["flags"] or not all(entry["msgstr"].values()):
            continue
        context = entry.get("msgctxt")
        if "msgid_plural" in entry:
            for n, form in ((1, 0), (2, 1)):
                args = (entry["msgid"], entry["msgid_plural"], n)
                got = compiled.npgettext(context, *args) if context else compiled.ngettext(*args)
                assert got == entry["msgstr"][form], entry["msgid"]
        else:
            got = (
                compiled.pgettext(context, entry["msgid"])
                if context
                else compiled.gettext(entry["msgid"])
            )
            assert got == entry["msgstr"][0], entry["msgid"]


def test_language_switcher_renders_french(client, learner):
    client.force_login(learner)
    response = client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    assert response.status_code == 302
    html = client.get(reverse("dashboard")).content.decode()
    assert '<html lang="fr"' in html
    assert "Tableau de bord" in html
    assert "Bienvenue, Learner1" in html
    assert "Se déconnecter" in html
    assert "Dashboard" not in html


def test_login_page_in_french(client):
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    html = client.get(reverse("login")).content.decode()
    assert "Se connecter à Lyceum" in html
    assert "Nom d’utilisateur" in html or "Nom d'utilisateur" in html


def test_javascript_catalogue_has_the_french_strings(client):
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    body = client.get(reverse("javascript-catalog")).content.decode()
    assert "Marquer comme lu" in body
    assert "Notifications, %s non lues" in body or "Notifications, %s non lue" in body
