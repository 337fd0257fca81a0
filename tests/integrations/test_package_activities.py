"""Package activities on the server: upload on the add-activity page, sandboxed delivery,
attempts and their CMI data (resume, new attempt), bad commits, completion, the report.
The browser side (scorm-again playing the packages) is tests/e2e/test_packages_play.py."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from classrooms import services as classroom_services
from classrooms.models import Activity, ActivityKind, Completion
from integrations import scorm
from integrations.models import Package, PackageAttempt
from tests.integrations.scorm_builders import hostile_package, scorm12_package, scorm2004_package
from tests.integrations.test_packages import make_zip
from tests.live_server import wait_for


@pytest.fixture(autouse=True)
def package_root(settings, tmp_path):
    settings.INTEGRATIONS_PACKAGE_ROOT = str(tmp_path / "packages")
    return tmp_path / "packages"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _upload(trainer, built, data: bytes, title="Fire safety e-learning", client=None):
    client = client or _client(trainer)
    return client.post(
        reverse("activity-add", args=[built.course.pk]),
        {
            "module": built.modules[0].pk,
            "kind": ActivityKind.PACKAGE,
            "title": title,
            "package": SimpleUploadedFile("course.zip", data, "application/zip"),
        },
    )


@pytest.fixture
def scorm12(trainer, built):
    response = _upload(trainer, built, scorm12_package())
    assert response.status_code == 302
    return Activity.objects.get(course=built.course, kind=ActivityKind.PACKAGE)


def _launch(user, unit) -> dict:
    response = _client(user).post(reverse("api-package-launch", args=[unit.pk]))
    assert response.status_code == 200, response.content
    return response.json()


def _commit(user, attempt_id, cmi, client=None):
    return (client or _client(user)).post(
        reverse("api-package-attempt", args=[attempt_id]),
        json.dumps({"cmi": cmi}),
        content_type="application/json",
    )


def test_upload_on_the_add_activity_page_unpacks_the_package(scorm12, package_root):
    package = Package.objects.get(activity=scorm12)
    assert (package.kind, package.version, package.title) == ("scorm12", 1, "Fire safety")
    units = list(package.units.all())
    assert [(u.identifier, u.href, u.parameters) for u in units] == [
        ("i1", "one/index.html", ""),
        ("i2", "two/index.html", "x=1"),
    ]
    assert (package_root / package.folder / "shared" / "scormdriver.js").is_file()
    assert scorm12.completion_rule == "package"


def test_a_refused_zip_leaves_no_activity_and_no_files(trainer, built, package_root):
    bad = make_zip({"imsmanifest.xml": "<manifest/>", "../evil.html": "x"}).getvalue()
    client = _client(trainer)
    response = _upload(trainer, built, bad, client=client)
    assert response.status_code == 302
    assert not Activity.objects.filter(kind=ActivityKind.PACKAGE).exists()
    assert not package_root.exists() or not any(package_root.iterdir())
    follow = client.get(response.url)
    assert "outside its folder" in follow.content.decode()


def test_only_editors_upload(learner, built):
    response = _upload(learner, built, scorm12_package())
    assert response.status_code in (403, 404)
    assert not Activity.objects.filter(kind=ActivityKind.PACKAGE).exists()


def test_launch_serves_the_package_sandboxed_with_the_bridge(learner, scorm12):
    unit = Package.objects.get(activity=scorm12).units.first()
    data = _launch(learner, unit)
    assert data["resumed"] is False and data["number"] == 1 and data["kind"] == "scorm12"
    assert data["cmi"]["cmi.core.entry"] == "ab-initio"
    anonymous = Client()  # the frame's requests carry no session: the path's token decides
    response = anonymous.get(data["content_url"])
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert policy.startswith("sandbox allow-scripts allow-forms allow-popups;")
    assert "allow-same-origin" not in policy
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Referrer-Policy"] == "no-referrer"
    body = response.content.decode()
    assert body.index("__lyceum__/bridge.js") < body.index("scormdriver.js")
    base = data["content_url"].rsplit("/one/", 1)[0]
    script = anonymous.get(base + "/shared/scormdriver.js")
    assert script.status_code == 200 and script["Content-Type"].startswith("text/javascript")
    assert "__lyceum__" not in b"".join(script.streaming_content).decode()
    for src in re.findall(r'<script src="([^"]*__lyceum__[^"]*)"', body):
        assert src.startswith("/packages/content/")  # absolute: the launch file may be deep
        assert anonymous.get(src).status_code == 200
    assert anonymous.get(base + "/__lyceum__/bridge.js").status_code == 200
    assert anonymous.get(base + "/__lyceum__/cross-frame-api.min.js").status_code == 200


@pytest.mark.parametrize(
    "path",
    ["", "one/", "one", "../one/index.html", "one/../../x", "%2e%2e/x", "missing.html",
     "__lyceum__/other.js", "/etc/passwd"],
)  # fmt: skip
def test_no_listing_no_traversal(learner, scorm12, path):
    unit = Package.objects.get(activity=scorm12).units.first()
    base = _launch(learner, unit)["content_url"].rsplit("/one/", 1)[0]
    assert Client().get(f"{base}/{path}").status_code == 404


def test_a_forged_or_stale_token_opens_nothing(learner, trainer, scorm12):
    unit = Package.objects.get(activity=scorm12).units.first()
    url = _launch(learner, unit)["content_url"]
    token = url.split("/")[3]
    assert Client().get(url.replace(token, token[:-2] + "xx")).status_code == 404
    enrolment = learner.enrolments.get(course=scorm12.course)
    classroom_services.enrolment_delete(actor=trainer, enrolment=enrolment)
    assert Client().get(url).status_code == 404  # no longer enrolled: no content


def test_launch_needs_an_enrolment(learner2, scorm12):
    unit = Package.objects.get(activity=scorm12).units.first()
    response = _client(learner2).post(reverse("api-package-launch", args=[unit.pk]))
    assert response.status_code in (403, 404)
    assert not PackageAttempt.objects.exists()


def test_commit_then_resume_where_the_learner_left(learner, scorm12):
    unit = Package.objects.get(activity=scorm12).units.first()
    first = _launch(learner, unit)
    response = _commit(
        learner,
        first["attempt"],
        {
            "cmi.core.lesson_location": "page-3",
            "cmi.suspend_data": '{"page":3}',
            "cmi.core.lesson_status": "incomplete",
            "cmi.core.exit": "suspend",
            "cmi.core.session_time": "00:01:30",
            "cmi.core.student_id": str(learner.pk),  # echoed back by the runtime: ignored
            "cmi.objectives": {},
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["result"] is True
    again = _launch(learner, unit)
    assert again["attempt"] == first["attempt"] and again["resumed"] is True
    assert again["cmi"]["cmi.core.lesson_location"] == "page-3"
    assert again["cmi"]["cmi.suspend_data"] == '{"page":3}'
    assert again["cmi"]["cmi.core.entry"] == "resume"
    assert again["cmi"]["cmi.core.total_time"] == "0000:01:30"
    attempt = PackageAttempt.objects.get()
    assert attempt.total_seconds == 90 and attempt.commits == 1


@pytest.mark.parametrize(
    ("cmi", "message"),
    [
        ({"cmi.suspend_data": "x" * 4097}, "longer than 4096"),
        ({"cmi.core.lesson_location": 3}, "must be text"),
        ({"cmi.core.lesson_status": "victorious"}, "not one of"),
        ({"cmi.core.score.raw": "101"}, "out of range"),
        ({"cmi.core.score.raw": "NaN"}, "not a number"),
        ({"cmi.core.session_time": "one hour"}, "format"),
        ({"cmi.core.lesson_location": "ok", "cmi.evil": "x"}, "Unknown CMI element"),
        ({"cmi.interactions.9999.id": "q"}, "too many"),
        ({"cmi.completion_status": "completed"}, "Unknown CMI element"),  # 2004 name in 1.2
        ("not an object", "must be an object"),
    ],
)
def test_malformed_cmi_is_refused_and_nothing_stored(learner, scorm12, cmi, message):
    unit = Package.objects.get(activity=scorm12).units.first()
    attempt_id = _launch(learner, unit)["attempt"]
    _commit(learner, attempt_id, {"cmi.core.lesson_location": "kept"})
    response = _commit(learner, attempt_id, cmi)
    assert response.status_code == 400
    assert message in response.content.decode()
    attempt = PackageAttempt.objects.get(pk=attempt_id)
    assert attempt.location == "kept" and attempt.commits == 1
    assert attempt.cmi == {"cmi.core.lesson_location": "kept"}


def test_someone_elses_attempt_is_not_found(learner, learner2, scorm12, built, trainer):
    classroom_services.enrolment_create(actor=trainer, user=learner2, course=built.course)
    unit = Package.objects.get(activity=scorm12).units.first()
    attempt_id = _launch(learner, unit)["attempt"]
    response = _commit(learner2, attempt_id, {"cmi.core.lesson_status": "passed"})
    assert response.status_code == 404
    assert (
        _client(learner2).get(reverse("api-package-attempt", args=[attempt_id])).status_code == 404
    )
    assert PackageAttempt.objects.get(pk=attempt_id).lesson_status == ""


def test_every_sco_passed_completes_the_activity_live(learner, scorm12, published, commit):
    units = list(Package.objects.get(activity=scorm12).units.all())
    first = _launch(learner, units[0])
    _commit(learner, first["attempt"], {"cmi.core.lesson_status": "passed",
                                        "cmi.core.score.raw": "85"})  # fmt: skip
    assert not Completion.objects.filter(user=learner, activity=scorm12).exists()
    second = _launch(learner, units[1])
    _commit(learner, second["attempt"], {"cmi.core.lesson_status": "completed"})
    commit()
    completion = Completion.objects.get(user=learner, activity=scorm12)
    assert completion.source == "package"
    events = published(scorm12.course.progress_topic)
    assert [e.type for e in events] == ["progress.updated"]
    assert events[0].data["activity"] == scorm12.pk
    attempt = PackageAttempt.objects.get(pk=first["attempt"])
    assert attempt.score_raw == 85 and attempt.score_scaled == pytest.approx(0.85)
    # Its session may still commit (Terminate after Commit) ...
    terminate = {"cmi.core.lesson_status": "passed", "cmi.core.session_time": "00:00:10"}
    assert _commit(learner, first["attempt"], terminate).status_code == 200
    # ... a finished attempt is kept; the next launch is attempt 2, from the beginning.
    third = _launch(learner, units[0])
    assert third["number"] == 2 and third["resumed"] is False
    assert third["cmi"]["cmi.core.entry"] == "ab-initio"
    assert "cmi.core.lesson_status" not in third["cmi"]
    # Attempt 1 is closed now.
    assert _commit(learner, first["attempt"], terminate).status_code == 400


def test_scorm2004_interactions_feed_the_report_and_csv(learner, learner2, trainer, built):
    _upload(trainer, built, scorm2004_package(), title="First aid")
    activity = Activity.objects.get(kind=ActivityKind.PACKAGE)
    classroom_services.enrolment_create(actor=trainer, user=learner2, course=built.course)
    unit = Package.objects.get(activity=activity).units.last()
    for user, answer in ((learner, "rate-110"), (learner2, "rate-80")):
        data = _launch(user, unit)
        response = _commit(
            user,
            data["attempt"],
            {
                "cmi.interactions.0.id": "urn:lyceum:q:cpr-rate",
                "cmi.interactions.0.type": "choice",
                "cmi.interactions.0.description": "=HYPERLINK(1)",
                "cmi.interactions.0.learner_response": answer,
                "cmi.interactions.0.correct_responses.0.pattern": "rate-110",
                "cmi.interactions.0.result": "correct" if answer == "rate-110" else "incorrect",
                "cmi.interactions.0.latency": "PT4S",
                "cmi.score.scaled": "0.8",
                "cmi.session_time": "PT1M2.5S",
                "cmi.completion_status": "completed",
                "cmi.success_status": "passed",
            },
        )
        assert response.status_code == 200, response.content
    attempt = PackageAttempt.objects.get(user=learner)
    assert attempt.total_seconds == pytest.approx(62.5)
    assert attempt.interactions.get().learner_response == "rate-110"
    report = scorm.interactions_report(activity=activity)
    assert len(report) == 1
    assert report[0]["total"] == 2 and report[0]["correct_rate"] == 50
    assert dict(report[0]["answers"]) == {"rate-110": 1, "rate-80": 1}
    page = _client(trainer).get(reverse("package-report", args=[activity.pk]))
    assert page.status_code == 200 and "50 %" in page.content.decode()
    csv_text = _client(trainer).get(reverse("package-report-csv", args=[activity.pk]))
    text = csv_text.content.decode()
    assert "rate-80" in text and "'=HYPERLINK(1)" in text
    assert _client(learner).get(reverse("package-report", args=[activity.pk])).status_code == 403


def test_2004_out_of_range_and_bad_duration_refused(learner, trainer, built):
    _upload(trainer, built, scorm2004_package(), title="First aid")
    unit = Package.objects.get().units.first()
    attempt_id = _launch(learner, unit)["attempt"]
    for bad in (
        {"cmi.score.scaled": "1.5"},
        {"cmi.session_time": "00:01:00"},
        {"cmi.location": "x" * 1001},
        {"cmi.suspend_data": "x" * 64001},
        {"cmi.core.lesson_status": "passed"},
    ):
        assert _commit(learner, attempt_id, bad).status_code == 400, bad
    assert PackageAttempt.objects.get(pk=attempt_id).commits == 0


def test_hostile_package_files_are_not_served_as_pages(learner, trainer, built):
    _upload(trainer, built, hostile_package(), title="Prizes")
    unit = Package.objects.get().units.first()
    base = _launch(learner, unit)["content_url"].rsplit("/", 1)[0]
    text = Client().get(base + "/secret.txt")
    assert text["Content-Type"].startswith("text/plain") and text["X-Content-Type-Options"]
    assert "allow-same-origin" not in text["Content-Security-Policy"]


def test_player_page(learner, scorm12):
    response = _client(learner).get(reverse("package-player", args=[scorm12.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'sandbox="allow-scripts allow-forms allow-popups"' in body
    assert "frame-src 'self'" in response["Content-Security-Policy"]
    assert "data-package-player" in body


def test_unpack_refuses_an_entry_larger_than_declared(tmp_path, settings):
    from integrations.packages import unpack

    settings.INTEGRATIONS_PACKAGE_ROOT = str(tmp_path)
    data = make_zip({"imsmanifest.xml": "x", "a.txt": "hello"})
    assert unpack(io.BytesIO(data.getvalue()), "f1") == 6


# -- issue 18's quick-return race: the leaving page's last (keepalive) commit and the next
# launch of the same SCO, in either order. In the browser the second launch came within the
# same second as the first: the content token (signed, one-second timestamp) was the same,
# and Chromium answered the launch document from its cache with the first launch's seed
# ("ab-initio", no location) although the server had resumed the attempt.
def _seed(response) -> dict:
    found = re.search(r'data-seed="([^"]*)"', response.content.decode())
    assert found, "the launch document carries no seed"
    from html import unescape

    return json.loads(unescape(found.group(1)))


@pytest.fixture
def scorm2004_unit(learner, trainer, built):
    _upload(trainer, built, scorm2004_package(), title="First aid")
    return Package.objects.get().units.first()


LEAVING = {
    "cmi.location": "page-1",
    "cmi.suspend_data": '{"page":1}',
    "cmi.completion_status": "incomplete",
    "cmi.exit": "suspend",
    "cmi.session_time": "PT10S",
}
LAST = {**LEAVING, "cmi.location": "page-2", "cmi.suspend_data": '{"page":2}',
        "cmi.session_time": "PT12S"}  # fmt: skip


def _post(client, url, cmi):
    return client.post(url, json.dumps({"cmi": cmi}), content_type="application/json")


def test_keepalive_before_the_next_launch_resumes_from_it(learner, scorm2004_unit, monkeypatch):
    from django.core import signing

    # Both launches in the same second of the signing clock, as in the browser race.
    second = signing.b62_encode(int(__import__("time").time()))
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: second)
    client = _client(learner)
    first = _launch(learner, scorm2004_unit)
    assert first["session"] == 1 and first["commit_url"].endswith("?session=1")
    assert Client().get(first["content_url"])["Cache-Control"] == "no-store"
    assert _post(client, first["commit_url"], LEAVING).status_code == 200
    assert _post(client, first["commit_url"], LAST).status_code == 200  # pagehide keepalive

    again = _launch(learner, scorm2004_unit)
    assert (again["attempt"], again["resumed"], again["session"]) == (first["attempt"], True, 2)
    assert again["cmi"]["cmi.entry"] == "resume"
    assert again["cmi"]["cmi.location"] == "page-2"
    # A URL of its own, though the same second: no cache can hand back the first launch's.
    assert again["content_url"] != first["content_url"]
    document = Client().get(again["content_url"])
    assert document.status_code == 200 and document["Cache-Control"] == "no-store"
    seed = _seed(document)
    assert (seed["cmi.entry"], seed["cmi.location"]) == ("resume", "page-2")
    assert seed["cmi.suspend_data"] == '{"page":2}'
    # Other files of the package may still be cached.
    base = again["content_url"].rsplit("/learn/", 1)[0]
    assert "no-store" not in Client().get(base + "/shared/scormdriver.js")["Cache-Control"]
    attempt = PackageAttempt.objects.get()
    assert attempt.total_seconds == 12 and attempt.commits == 2


def test_keepalive_after_the_next_launch_is_refused_and_changes_nothing(learner, scorm2004_unit):
    client = _client(learner)
    first = _launch(learner, scorm2004_unit)
    assert _post(client, first["commit_url"], LEAVING).status_code == 200
    again = _launch(learner, scorm2004_unit)
    assert again["resumed"] is True and again["cmi"]["cmi.location"] == "page-1"
    before = PackageAttempt.objects.values().get()

    late = _post(client, first["commit_url"], LAST)  # the old page's keepalive, late
    assert late.status_code == 409, late.content
    assert late.json()["error"]["code"] == "conflict"
    assert PackageAttempt.objects.values().get() == before  # location, time, commits kept
    assert _seed(Client().get(again["content_url"]))["cmi.location"] == "page-1"

    # The session that replaced it goes on; its time adds to the earlier session's once.
    going_on = {**LEAVING, "cmi.location": "page-3", "cmi.session_time": "PT5S"}
    assert _post(client, again["commit_url"], going_on).status_code == 200
    attempt = PackageAttempt.objects.get()
    assert (attempt.location, attempt.total_seconds, attempt.commits) == ("page-3", 15, 2)
    url = again["commit_url"].split("?")[0]
    assert _post(client, url + "?session=two", going_on).status_code == 400
    assert _post(client, url + "?session=9", going_on).status_code == 409
    assert PackageAttempt.objects.get().commits == 2


@pytest.mark.django_db(transaction=True)
def test_a_launch_waits_for_the_commit_in_flight_and_sees_it(learner, trainer, built):
    """Truly concurrent (two threads, two connections): the keepalive commit holds the
    attempt's row when the next launch comes; the launch waits for it and resumes from it.
    PostgreSQL only: the embedded SQLite test database is one in-memory file."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("row locks between connections: services mode (PostgreSQL)")
    _upload(trainer, built, scorm2004_package(), title="First aid")
    unit = Package.objects.get().units.first()
    first = _launch(learner, unit)
    inside, release = threading.Event(), threading.Event()
    real = scorm._store_interactions

    def slow(attempt, kind, cmi):  # the commit's transaction, row locked, not yet committed
        inside.set()
        assert release.wait(30)
        real(attempt, kind, cmi)

    outcome: dict = {}

    def keepalive():
        try:
            outcome["commit"] = _post(_client(learner), first["commit_url"], LAST).status_code
        finally:
            connections.close_all()

    def relaunch():
        try:
            outcome["launch"] = _launch(learner, unit)
        finally:
            connections.close_all()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scorm, "_store_interactions", slow)
        committing = threading.Thread(target=keepalive)
        committing.start()
        assert inside.wait(30)
        launching = threading.Thread(target=relaunch)
        launching.start()
        wait_for(_a_backend_waits_on_a_lock, timeout=30, what="the launch waiting on the row")
        assert launching.is_alive() and "launch" not in outcome
        release.set()
        committing.join(30)
        launching.join(30)
    assert outcome["commit"] == 200
    launch = outcome["launch"]
    assert (launch["resumed"], launch["session"]) == (True, 2)
    assert launch["cmi"]["cmi.location"] == "page-2"  # the keepalive's, not lost


def _a_backend_waits_on_a_lock() -> bool:
    from django.db import connections

    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0
