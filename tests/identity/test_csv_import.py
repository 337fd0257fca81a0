"""CSV bulk import: dry run with row-level errors, all-or-nothing apply, live progress."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from hub.accounts.models import SpaceMembership, Team
from hub.accounts.selectors import managers_of
from identity import imports
from identity.models import ImportJob
from tests.factories import TeamFactory, UserFactory

User = get_user_model()

GOOD = (
    b"email,first_name,last_name,roles,team,manager\n"
    b"boss@acme.test,Grace,Hopper,manager;trainer,,\n"
    b"ada@acme.test,Ada,Lovelace,learner,Engines,boss@acme.test\n"
    b"alan@acme.test,Alan,Turing,,Engines,boss@acme.test\n"
)


def preview(space, admin, raw, create_teams=False):
    return imports.job_preview(
        space=space, actor=admin, raw=raw, filename="people.csv", create_teams=create_teams
    )


@pytest.mark.django_db
def test_preview_then_apply_creates_people_roles_teams_and_managers(space, admin):
    TeamFactory(name="Engines", space=space, manager=admin)
    job = preview(space, admin, GOOD)
    assert job.errors == []
    assert job.summary["new"] == 3
    assert not User.objects.filter(email="ada@acme.test").exists()  # a dry run
    seen = []
    imports.job_apply(job=job, actor=admin, progress=lambda d, t: seen.append((d, t)))
    ada = User.objects.get(email="ada@acme.test")
    boss = User.objects.get(email="boss@acme.test")
    assert ada.first_name == "Ada" and ada.has_role("learner")
    assert boss.has_role("manager") and boss.has_role("trainer")
    assert list(managers_of(user=ada)) == [boss] or boss in managers_of(user=ada)
    assert ada.teams.filter(name="Engines").exists()
    assert SpaceMembership.objects.filter(space=space, user=ada).exists()
    assert seen[-1] == (3, 3)
    assert ImportJob.objects.get(pk=job.pk).status == "done"
    # The same people again, updated: no duplicates.
    again = preview(space, admin, GOOD.replace(b"Ada,Lovelace", b"Augusta,Lovelace"))
    assert again.summary["updated"] == 3
    imports.job_apply(job=again, actor=admin)
    assert User.objects.filter(email="ada@acme.test").get().first_name == "Augusta"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw, column",
    [
        (b"email,team\nada@acme.test,Nowhere\n", "team"),
        (b"email\nada@acme.test\nADA@acme.test\n", "email"),
        (b"email,roles\nada@acme.test,wizard\n", "roles"),
        (b"email,manager\nada@acme.test,ghost@acme.test\n", "manager"),
        (b"email\nnot-an-email\n", "email"),
        (b"email,active\nada@acme.test,maybe\n", "active"),
    ],
)
def test_row_errors_name_line_and_column_and_change_nothing(space, admin, raw, column):
    job = preview(space, admin, raw)
    assert job.errors and job.errors[0]["column"] == column
    assert job.errors[0]["line"] >= 2
    with pytest.raises(ValidationError):
        imports.job_apply(job=job, actor=admin)
    assert not User.objects.filter(email__iexact="ada@acme.test").exists()


@pytest.mark.django_db
def test_one_bad_row_among_good_ones_applies_nothing(space, admin):
    TeamFactory(name="Engines", space=space, manager=admin)
    raw = GOOD + b"zed@acme.test,Z,Z,,Unknown team,\n"
    job = preview(space, admin, raw)
    assert [e["line"] for e in job.errors] == [5]
    with pytest.raises(ValidationError):
        imports.job_apply(job=job, actor=admin)
    assert not User.objects.filter(email__endswith="@acme.test").exists()
    assert not Team.objects.filter(name="Unknown team").exists()


@pytest.mark.django_db
def test_a_file_that_is_not_utf8_is_refused_with_its_line(space, admin):
    raw = "email,first_name\nada@acme.test,Zoë\n".encode("latin-1")
    with pytest.raises(imports.ImportFileError, match="line 2"):
        preview(space, admin, raw)
    with pytest.raises(imports.ImportFileError):
        preview(space, admin, b"name,colour\nx,y\n")


@pytest.mark.django_db
def test_create_teams_option_and_only_admins(space, admin, learner):
    job = preview(space, admin, b"email,team\nada@acme.test,Analysts\n", create_teams=True)
    assert job.summary["new_teams"] == ["Analysts"]
    imports.job_apply(job=job, actor=admin)
    assert (
        Team.objects.get(space=space, name="Analysts")
        .members.filter(email="ada@acme.test")
        .exists()
    )
    with pytest.raises(PermissionDenied):
        preview(space, learner, GOOD)


@pytest.mark.django_db
def test_pages_preview_and_apply(client, space, admin):
    client.force_login(admin)
    session = client.session
    session["space_id"] = space.pk
    session.save()
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = client.post(
        "/identity/import/preview/", {"file": SimpleUploadedFile("p.csv", b"\xff\xfe\x00bad")}
    )
    assert bad.status_code == 400
    response = client.post(
        "/identity/import/preview/",
        {"file": SimpleUploadedFile("p.csv", GOOD), "create_teams": "on"},
    )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    page = client.get(response["Location"])
    assert b"import-apply" in page.content
    applied = client.post(f"/identity/import/{job.pk}/apply/", HTTP_ACCEPT="application/json")
    assert applied.status_code == 200
    assert applied.json()["applied"] == 3
    again = client.post(f"/identity/import/{job.pk}/apply/", HTTP_ACCEPT="application/json")
    assert again.status_code == 400


@pytest.mark.django_db(transaction=True)
async def test_progress_reaches_the_importer_over_the_websocket(communicator_for):
    from tests.factories import SpaceFactory

    space = await database_sync_to_async(SpaceFactory)(slug="s-progress")
    admin = await database_sync_to_async(UserFactory)(
        username="adm", roles=["admin"], spaces=[space]
    )
    other = await database_sync_to_async(UserFactory)(username="nosy", spaces=[space])
    rows = "email,team\n" + "".join(f"p{i}@acme.test,Ops\n" for i in range(1200))
    job = await database_sync_to_async(preview)(space, admin, rows.encode(), True)
    ws = await communicator_for(admin)
    await ws.call("sub", topic=job.topic)
    nosy = await communicator_for(other)
    refused = await nosy.call("sub", topic=job.topic)
    assert refused["op"] == "error"
    assert refused["code"] in ("forbidden", "not_found")

    from identity.realtime import send_now

    def run():
        return imports.job_apply(
            job=job,
            actor=admin,
            progress=lambda d, t: send_now(job.topic, "import.progress", {"done": d, "total": t}),
        )

    await database_sync_to_async(run)()
    last = None
    while last is None or last["data"]["done"] < 1200:
        last = await ws.next_event(type="import.progress")
    assert last["data"] == {"done": 1200, "total": 1200}
