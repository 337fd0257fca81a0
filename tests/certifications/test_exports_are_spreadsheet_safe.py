"""The compliance CSV a manager opens in a spreadsheet: a team name or a certification
title that starts like a formula (=, +, -, @) is written as text, not run."""

from __future__ import annotations

import csv
import io

import pytest

from hub.accounts.models import Team

pytestmark = pytest.mark.django_db


def test_compliance_csv_cells_never_start_a_formula(client, f, coordinator, manager):
    Team.objects.filter(manager=manager).update(name='=HYPERLINK("http://x","team")')
    f.cert.title = "@SUM(1+1)"
    f.cert.save(update_fields=["title"])
    client.force_login(coordinator)
    response = client.get("/certifications/compliance.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    team_rows = [r for r in rows[1:] if "HYPERLINK" in r[0]]
    assert team_rows, rows
    for row in team_rows:
        assert row[0] == '\'=HYPERLINK("http://x","team")'
        assert row[1] == "'@SUM(1+1)"
