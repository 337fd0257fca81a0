"""Pages: the learner flow, the editor, the quiz page, the grid, reports and CSV."""

from __future__ import annotations

import re

import pytest

from classrooms import services
from classrooms.models import Activity, Completion, Course, Enrolment, Question
from hub.accounts.models import Role
from tests.factories import SpaceFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_learner_opens_lesson_and_its_page_completes_it(client, learner, c, published):
    """The GET renders only (it changes nothing, publishes nothing); the page carries the
    address its script POSTs to once shown, and that POST is what completes the lesson."""
    client.force_login(learner)
    page = client.get(f"/courses/{c.course.pk}/")
    assert page.status_code == 200 and b"Welcome" in page.content
    lesson = client.get(f"/activities/{c.lesson.pk}/")
    assert lesson.status_code == 200
    assert not Completion.objects.filter(user=learner).exists()
    assert Enrolment.objects.get(user=learner, course=c.course).progress == 0
    assert published() == []
    complete_url = f"/api/v1/activities/{c.lesson.pk}/complete/"
    assert f'data-complete-url="{complete_url}"'.encode() in lesson.content
    assert b"classrooms/activity" in lesson.content  # the script that sends it

    done = client.post(complete_url)
    assert done.status_code == 200 and done.json() == {"completed": True, "progress": 33}
    assert Completion.objects.filter(user=learner, activity=c.lesson).exists()
    # Done: the page no longer asks to complete it; a quiz page never does.
    assert b"data-complete-url" not in client.get(f"/activities/{c.lesson.pk}/").content
    assert b"data-complete-url" not in client.get(f"/activities/{c.quiz.pk}/").content
    assert client.get("/courses/").status_code == 200


def test_the_completing_post_needs_the_csrf_token(learner, c):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    assert client.post(f"/api/v1/activities/{c.lesson.pk}/complete/").status_code == 403
    assert not Completion.objects.filter(user=learner).exists()


def test_outsider_gets_404(client, outsider, c):
    client.force_login(outsider)
    assert client.get(f"/courses/{c.course.pk}/").status_code == 404
    assert client.get(f"/activities/{c.lesson.pk}/").status_code == 404
    assert client.get(f"/courses/{c.course.pk}/progress/").status_code == 404


def test_learner_cannot_reach_editor_or_grid(client, learner, c):
    client.force_login(learner)
    assert client.get(f"/courses/{c.course.pk}/edit/").status_code == 403
    assert client.get(f"/courses/{c.course.pk}/progress/").status_code == 403
    assert client.get(f"/courses/{c.course.pk}/export.csv").status_code == 403
    r = client.post(f"/courses/{c.course.pk}/edit/module/", {"title": "Hack"})
    assert r.status_code == 403
    assert c.course.modules.count() == 2


def test_trainer_edits_outline(client, trainer, c):
    client.force_login(trainer)
    assert client.get(f"/courses/{c.course.pk}/edit/").status_code == 200
    client.post(f"/courses/{c.course.pk}/edit/module/", {"title": "Third"})
    assert c.course.modules.count() == 3
    m1 = c.modules[0]
    r = client.post(
        f"/courses/{c.course.pk}/edit/activity/",
        {"module": m1.pk, "kind": "lesson", "title": "Fresh lesson"},
    )
    new = Activity.objects.get(title="Fresh lesson")
    assert r.status_code == 302 and r["Location"] == f"/activities/{new.pk}/edit/"
    r = client.post(
        f"/activities/{new.pk}/edit/",
        {
            "title": "Fresh lesson",
            "required": "on",
            "completion_rule": "viewed",
            # CommonMark: an HTML block (here <script>) runs to the end of its line.
            "body": "<script>x</script>\n**B**",
        },
    )
    assert r.status_code == 302
    new.refresh_from_db()
    assert "<script" not in new.body_html and "<strong>B</strong>" in new.body_html
    client.post(
        f"/courses/{c.course.pk}/edit/move/", {"what": "activity", "id": c.media.pk, "dir": "up"}
    )
    assert list(m1.activities.values_list("id", flat=True))[:2] == [c.media.pk, c.lesson.pk]
    preview = client.post("/courses/preview/", {"text": "*hi* <iframe src=x>"})
    assert (
        preview.json()["html"] == "<p><em>hi</em> </p>" or "<iframe" not in preview.json()["html"]
    )


def test_editor_preview_beyond_the_longest_body_is_a_clear_400(client, trainer):
    """It was cut silently (the trainer saw a preview of another text) and, with the old
    renderer, 100,000 "[" took minutes of CPU."""
    from classrooms.services import BODY_MAX_CHARS

    client.force_login(trainer)
    ok = client.post("/courses/preview/", {"text": "x" * BODY_MAX_CHARS})
    assert ok.status_code == 200 and ok.json()["html"] == f"<p>{'x' * BODY_MAX_CHARS}</p>"
    refused = client.post("/courses/preview/", {"text": "x" * (BODY_MAX_CHARS + 1)})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "invalid" and "100000" in error["message"]
    assert list(error["details"]) == ["text"]


def test_texts_over_their_limit_are_refused_before_rendering(trainer, space, monkeypatch):
    """A course's summary, an activity's body: the service refuses them, from any page."""
    from django.core.exceptions import ValidationError

    from classrooms import services
    from hub import sanitize

    course = services.course_create(author=trainer, space=space, title="C")
    module = services.module_create(user=trainer, course=course, title="M")
    monkeypatch.setattr(sanitize, "_markdown", lambda: pytest.fail("rendered"))
    with pytest.raises(ValidationError) as error:
        services.course_update(
            user=trainer, course=course, summary="[" * (services.SUMMARY_MAX_CHARS + 1)
        )
    assert "summary" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.activity_create(
            user=trainer,
            module=module,
            title="A",
            kind="lesson",
            body="[" * (services.BODY_MAX_CHARS + 1),
        )
    assert "body" in error.value.message_dict


def test_upload_limits(client, trainer, c):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(trainer)
    fake = SimpleUploadedFile("cover.png", b"not an image", content_type="image/png")
    r = client.post(
        f"/courses/{c.course.pk}/edit/", {"title": "T", "language": "en", "cover": fake}
    )
    assert r.status_code == 200 and b"errorlist" in r.content
    exe = SimpleUploadedFile("x.exe", b"MZ", content_type="application/octet-stream")
    r = client.post(
        f"/activities/{c.media.pk}/edit/",
        {
            "title": "Video",
            "required": "on",
            "completion_rule": "viewed",
            "media_kind": "video",
            "media_file": exe,
        },
    )
    assert r.status_code == 200 and b"errorlist" in r.content
    assert not Course.objects.get(pk=c.course.pk).cover


def test_other_trainer_cannot_edit(client, space, c):
    other = UserFactory(roles=[Role.TRAINER], spaces=[space])
    client.force_login(other)
    assert client.get(f"/courses/{c.course.pk}/edit/").status_code in (403, 404)
    assert client.post(f"/activities/{c.lesson.pk}/edit/", {"title": "x"}).status_code == 404


def test_quiz_flow_on_pages(client, learner, c):
    from tests.classrooms.conftest import right_answers

    client.force_login(learner)
    r = client.post(f"/activities/{c.quiz.pk}/attempt/")
    assert r.status_code == 302
    attempt_url = r["Location"]
    page = client.get(attempt_url).content.decode()
    for q in c.questions:
        assert q.text in page
    post = {}
    for qid, value in right_answers(c).items():
        post[f"q{qid}"] = value if isinstance(value, list) else [value]
    r = client.post(attempt_url, post)
    assert r.status_code == 302
    result = client.get(attempt_url).content.decode()
    assert "100 %" in result
    again = client.post(attempt_url, post)
    assert again.status_code == 200 and b"already submitted" in again.content


def test_question_bank_page(client, trainer, learner, c):
    client.force_login(trainer)
    r = client.post(
        f"/courses/{c.course.pk}/questions/",
        {"kind": "single", "text": "Pick", "choices": "*Yes | good\nNo | nope"},
    )
    assert r.status_code == 302
    q = Question.objects.get(text="Pick")
    assert [(ch.text, ch.is_correct, ch.feedback) for ch in q.choices.all()] == [
        ("Yes", True, "good"),
        ("No", False, "nope"),
    ]
    bad = client.post(
        f"/courses/{c.course.pk}/questions/", {"kind": "single", "text": "Bad", "choices": "A\nB"}
    )
    assert bad.status_code == 200 and not Question.objects.filter(text="Bad").exists()
    client.force_login(learner)
    assert client.get(f"/courses/{c.course.pk}/questions/").status_code == 403


def test_a_question_is_edited_in_place_from_the_bank(client, trainer, learner, c):
    client.force_login(trainer)
    url = f"/courses/{c.course.pk}/questions/"
    client.post(url, {"kind": "single", "text": "Pick", "choices": "*Yes | good\nNo"})
    q = Question.objects.get(text="Pick")
    ids = list(q.choices.values_list("id", flat=True))
    page = client.get(f"{url}?edit={q.pk}").content.decode()
    assert "Edit the question" in page and "*Yes | good" in page
    assert f'name="question" value="{q.pk}"' in page

    r = client.post(
        url,
        {"question": q.pk, "kind": "multiple", "text": "Pick all", "choices": "*Yes\n*No\nMaybe"},
    )
    assert r.status_code == 302
    q.refresh_from_db()
    assert (q.kind, q.text) == ("multiple", "Pick all")
    choices = list(q.choices.all())
    assert [ch.id for ch in choices[:2]] == ids  # answers changed in place: attempts keep ids
    assert [(ch.text, ch.is_correct) for ch in choices] == [
        ("Yes", True),
        ("No", True),
        ("Maybe", False),
    ]
    # Turned numeric: the answers go, the number comes.
    client.post(
        url,
        {
            "question": q.pk,
            "kind": "numeric",
            "text": "How many?",
            "numeric_answer": "3",
            "tolerance": "0.5",
        },
    )
    q.refresh_from_db()
    assert (q.numeric_answer, q.tolerance, q.choices.count()) == (3, 0.5, 0)
    # Invalid: nothing changes.
    bad = client.post(url, {"question": q.pk, "kind": "numeric", "text": "How many?"})
    assert bad.status_code == 200
    q.refresh_from_db()
    assert q.numeric_answer == 3
    # Someone else's course's question: not found, untouched.
    other = Course.objects.create(space=SpaceFactory(), title="Another space's course")
    foreign = Question.objects.create(course=other, kind="numeric", text="Theirs", numeric_answer=1)
    assert client.get(f"{url}?edit={foreign.pk}").status_code == 404
    r = client.post(
        url, {"question": foreign.pk, "kind": "numeric", "text": "Mine now", "numeric_answer": "2"}
    )
    assert r.status_code == 404
    assert Question.objects.get(pk=foreign.pk).text == "Theirs"
    client.force_login(learner)
    assert (
        client.post(
            url, {"question": q.pk, "kind": "numeric", "text": "x", "numeric_answer": "1"}
        ).status_code
        == 403
    )


def test_rest_replaces_a_question(api_client_for, trainer, learner, c):
    q = services.question_create(
        user=trainer,
        course=c.course,
        kind="single",
        text="Pick",
        choices=[{"text": "A", "is_correct": True}, {"text": "B"}],
    )
    body = {
        "kind": "true_false",
        "text": "True?",
        "choices": [{"text": "True", "is_correct": True}, {"text": "False", "is_correct": False}],
    }
    r = api_client_for(trainer).put(f"/api/v1/questions/{q.pk}/", body, format="json")
    assert r.status_code == 200 and r.json()["kind"] == "true_false"
    bad = {**body, "choices": [{"text": "True", "is_correct": True}]}
    r = api_client_for(trainer).put(f"/api/v1/questions/{q.pk}/", bad, format="json")
    assert r.status_code == 400
    r = api_client_for(learner).put(f"/api/v1/questions/{q.pk}/", body, format="json")
    assert r.status_code in (403, 404)
    assert Question.objects.get(pk=q.pk).text == "True?"


def test_grid_report_and_csv(
    client, trainer, manager, learner, learner2, c, django_assert_max_num_queries
):
    services.activity_view(user=learner, activity=c.lesson)
    client.force_login(trainer)
    page = client.get(f"/courses/{c.course.pk}/progress/")
    html = page.content.decode()
    assert 'data-testid="progress-grid"' in html and f'data-user="{learner.pk}"' in html
    csv_text = client.get(f"/courses/{c.course.pk}/export.csv").content.decode()
    assert csv_text.splitlines()[0].startswith("learner,username,course,status,progress")
    assert len(csv_text.splitlines()) == 3
    assert client.get(f"/courses/{c.course.pk}/report/").status_code == 200
    client.force_login(manager)
    assert client.get(f"/courses/{c.course.pk}/progress/").status_code == 200
    team = client.get("/team/progress/")
    assert team.status_code == 200
    team_topic = f"classrooms.team.{manager.managed_teams.get().pk}.progress"
    assert team_topic in team.content.decode()
    assert c.course.progress_topic not in team.content.decode()
    assert "Safety first" in client.get("/team/progress/export.csv").content.decode()


def test_csv_neutralises_formulas(client, trainer, space, c):
    evil = UserFactory(
        username="evil", display_name="=HYPERLINK(1)", roles=[Role.LEARNER], spaces=[space]
    )
    services.enrolment_create(actor=trainer, user=evil, course=c.course)
    client.force_login(trainer)
    text = client.get(f"/courses/{c.course.pk}/export.csv").content.decode()
    assert "'=HYPERLINK(1)" in text


def test_names_are_escaped_in_grid(client, trainer, space, c):
    evil = UserFactory(
        username="x", display_name="<b>bold</b>", roles=[Role.LEARNER], spaces=[space]
    )
    services.enrolment_create(actor=trainer, user=evil, course=c.course)
    client.force_login(trainer)
    html = client.get(f"/courses/{c.course.pk}/progress/").content.decode()
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html


def test_upload_content_must_match_extension(client, trainer, c, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    client.force_login(trainer)
    form = {"title": "Video", "required": "on", "completion_rule": "viewed", "media_kind": "video"}
    html = SimpleUploadedFile("clip.mp4", b"<html><script>alert(1)</script>", "video/mp4")
    r = client.post(f"/activities/{c.media.pk}/edit/", {**form, "media_file": html})
    assert r.status_code == 200 and b"does not match its extension" in r.content
    c.media.refresh_from_db()
    assert not c.media.media_file
    mp4 = SimpleUploadedFile("clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "video/mp4")
    r = client.post(f"/activities/{c.media.pk}/edit/", {**form, "media_file": mp4})
    assert r.status_code == 302
    c.media.refresh_from_db()
    assert c.media.media_file.name.endswith(".mp4")
    page = client.get(f"/activities/{c.media.pk}/").content.decode()
    assert c.media.media_file.url in page


def test_answer_is_correct_for_other_apps(c):
    from classrooms.selectors import answer_is_correct

    single, multi, tf, num = c.questions  # noqa: RUF059
    right = next(ch.pk for ch in single.choices.all() if ch.is_correct)
    assert answer_is_correct(question=single, answer=right)
    assert answer_is_correct(question=single, answer=[right])
    assert not answer_is_correct(question=multi, answer=[multi.choices.first().pk])
    assert answer_is_correct(question=num, answer="112")
    assert not answer_is_correct(question=num, answer="x")


def test_dashboards_draw_charts_without_a_cdn(client, trainer, manager, learner, c):
    from tests.classrooms.conftest import right_answers

    services.activity_view(user=learner, activity=c.lesson)
    services.activity_view(user=learner, activity=c.media)
    attempt = services.attempt_start(user=learner, activity=c.quiz)
    services.attempt_submit(user=learner, attempt=attempt, answers=right_answers(c))
    for user, role in ((trainer, "trainer"), (manager, "manager")):
        client.force_login(user)
        html = client.get("/").content.decode()
        # The home page loads its charts when they scroll into view (docs/HOME.md).
        charts = re.findall(r'data-lazy-chart="([^"]+)"', html)
        assert len(charts) == 2 and all(f"/home/charts/{role}-" in u for u in charts), user
        for chart in charts:
            svg = client.get(chart).content.decode()
            assert svg.startswith('<svg class="chart"') and "cdn" not in svg.lower(), chart
        assert "cdn" not in html.lower()
    # The learner completed it: it leaves "Continue where you left off" (docs/HOME.md).
    client.force_login(learner)
    home = client.get("/").content.decode()
    assert 'data-testid="continue"' in home and "Safety first" not in home


def test_a_published_course_page_links_its_sessions_calendar(client, learner, c):
    client.force_login(learner)
    c.course.published = True
    c.course.save(update_fields=["published"])
    page = client.get(f"/courses/{c.course.pk}/").content.decode()
    assert f'href="/calendars/course/{c.course.pk}.ics"' in page
    Course.objects.filter(pk=c.course.pk).update(published=False)
    page = client.get(f"/courses/{c.course.pk}/").content.decode()
    assert "/calendars/course/" not in page


def _links_of_course_page(client, course) -> list[str]:
    import re

    page = client.get(f"/courses/{course.pk}/").content.decode()
    article = page[page.index("<article") : page.index("</article>")]
    return re.findall(r'href="([^"]+)"', article)


def test_course_page_links_only_where_the_reader_may_go(
    client, manager, trainer, space, learner, learner2
):
    """The manager watching their reports' course is shown no link to the live class
    (nor the activity's join link) that would answer 404; the learner still is."""
    from tests.factories import build_live_class

    lc = build_live_class(trainer=trainer, space=space, learners=[learner, learner2])
    room_url = lc.live_class.get_absolute_url()
    join_url = f"/activities/{lc.activity.pk}/liveclass/"
    client.force_login(manager)
    links = _links_of_course_page(client, lc.course)
    assert room_url not in links and join_url not in links
    for href in links:
        response = client.get(href, follow=True)
        assert response.status_code == 200, href
    client.force_login(learner)
    links = _links_of_course_page(client, lc.course)
    assert room_url in links and join_url in links
    assert client.get(join_url, follow=True).status_code == 200


def test_an_activity_page_links_the_previous_and_next_in_reading_order(client, learner, c):
    """Lessons are no dead ends: module order, then activity order, across modules."""
    client.force_login(learner)

    def pager(activity):
        page = client.get(f"/activities/{activity.pk}/").content.decode()
        links = dict(re.findall(r'rel="(prev|next)" href="/activities/(\d+)/"', page))
        return links.get("prev"), links.get("next")

    extra = Activity.objects.get(course=c.course, title="Extra")
    assert pager(c.lesson) == (None, str(c.media.pk))
    assert pager(c.media) == (str(c.lesson.pk), str(extra.pk))
    assert pager(extra) == (str(c.media.pk), str(c.quiz.pk))  # into the next module
    assert pager(c.quiz) == (str(extra.pk), None)
