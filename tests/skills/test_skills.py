"""Skills: the framework and its CSV (all rows or none, hostile files), evidence from
completions, attendance and badges (the max, kept with what raised it), assessments and
targets, gaps and suggested courses, the matrix (queries constant per row), permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from classrooms import services as classrooms_services
from hub.accounts.models import Role
from leaderboards import services as leaderboards_services
from skills import selectors, services
from skills.models import Assessment, Evidence, PersonSkill, Skill, Target
from tests.certifications.conftest import one_lesson_course
from tests.factories import SpaceFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def level_of(user, skill) -> int:
    row = PersonSkill.objects.filter(user=user, skill=skill).first()
    return row.evidenced if row else 0


# -- the framework and its CSV ---------------------------------------------------------------
def test_import_preview_then_apply_and_export_round_trip(fw, coordinator):
    data = (
        "group,skill,description,levels\n"
        "Safety,Fire safety,Updated,\n"
        "Data,SQL,Queries,Reads|Writes|Tunes\n"
    )
    plan = services.import_preview(user=coordinator, framework=fw.framework, data=data)
    assert plan.errors == []
    assert [r["action"] for r in plan.rows] == ["update", "create"]
    assert not Skill.objects.filter(name="SQL").exists()  # a preview changes nothing
    assert services.import_apply(user=coordinator, framework=fw.framework, data=data) == 2
    sql = Skill.objects.get(name="SQL")
    assert [lv.name for lv in selectors.scale_of(sql)] == ["Reads", "Writes", "Tunes"]
    assert Skill.objects.get(name="Fire safety").description == "Updated"
    text = services.export_csv(framework=fw.framework)
    assert text.splitlines()[0] == "group,skill,description,levels"
    assert "Data,SQL,Queries,Reads|Writes|Tunes" in text
    # The export reads back as the same framework.
    before = selectors.framework_payload(fw.framework)
    services.import_apply(user=coordinator, framework=fw.framework, data=text)
    assert selectors.framework_payload(fw.framework) == before


def test_one_bad_row_applies_nothing_and_names_its_line(fw, coordinator):
    rows = ["group,skill,description"] + [f"G,Skill {i},d" for i in range(1500)]
    rows[1201] = "G,,no name"  # line 1202
    before = Skill.objects.count()
    with pytest.raises(ValidationError) as err:
        services.import_apply(user=coordinator, framework=fw.framework, data="\n".join(rows))
    assert "Line 1202" in " ".join(err.value.messages)
    assert Skill.objects.count() == before
    dup = "group,skill\nG,Twice\nG,twice\n"
    plan = services.import_preview(user=coordinator, framework=fw.framework, data=dup)
    assert plan.errors == ["Line 3: The same skill as line 2."]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("name,title\nA,B\n", "Line 1: the columns"),
        ("group,skill,skill\nA,B,C\n", "Line 1: the columns"),
        ("", "empty"),
        ("group,skill\n" + "G,S\n" * 2001, "At most 2000 rows"),
        ("group,skill\nG," + "x" * 1_000_001 + "\n", "larger than 1000 KB"),
        (b"group,skill\nG,\xff\xfe\n", "not UTF-8"),
        ("group,skill\nG,A\x00B\n", "NUL"),
    ],
)
def test_hostile_files_are_refused(fw, coordinator, data, message):
    before = Skill.objects.count()
    with pytest.raises(ValidationError) as err:
        services.import_apply(user=coordinator, framework=fw.framework, data=data)
    assert message in " ".join(err.value.messages)
    assert Skill.objects.count() == before


def test_script_in_names_is_removed_and_formulas_are_quoted(fw, coordinator, client):
    data = 'group,skill,description\n<b>Ops</b>,"<script>alert(1)</script>Deploy",=HYPERLINK("x")\n'
    services.import_apply(user=coordinator, framework=fw.framework, data=data)
    skill = Skill.objects.get(name__startswith="alert")
    assert "<" not in skill.name and skill.group.name == "Ops"
    # A name that is only markup is empty: refused.
    plan = services.import_preview(
        user=coordinator, framework=fw.framework, data="group,skill\nG,<img src=x>\n"
    )
    assert "empty" in plan.errors[0]
    assert "'=HYPERLINK" in services.export_csv(framework=fw.framework)
    client.force_login(coordinator)
    page = client.get("/skills/framework/").content.decode()
    assert "<script>alert" not in page


def test_only_coordinators_and_admins_edit(fw, learner, manager, space, trainer):
    for user in (learner, manager, trainer):
        with pytest.raises(PermissionDenied):
            services.skill_save(user=user, framework=fw.framework, group="G", name="N")
        with pytest.raises(PermissionDenied):
            services.import_preview(user=user, framework=fw.framework, data="group,skill\nG,S\n")


def test_levels_cannot_drop_below_what_links_use(fw, coordinator):
    with pytest.raises(ValidationError):
        services.levels_set(user=coordinator, framework=fw.framework, names=["Aware"])
    services.levels_set(user=coordinator, framework=fw.framework, names=["Aware", "Able", "Ace"])
    services.target_set(user=coordinator, skill=fw.skills["First aid"], level=3, role=Role.LEARNER)
    with pytest.raises(ValidationError) as err:
        services.levels_set(user=coordinator, framework=fw.framework, names=["Aware", "Able"])
    assert "level 3" in str(err.value)


# -- evidence --------------------------------------------------------------------------------
def test_completion_raises_the_evidenced_level_with_evidence_kept(fw, learner, commit):
    fire = fw.skills["Fire safety"]
    classrooms_services.activity_complete(user=learner, activity=fw.lesson, source="viewed")
    commit()
    # The lesson (level 1) and, being the only activity, the course (level 2).
    assert level_of(learner, fire) == 2
    kinds = sorted(Evidence.objects.filter(user=learner).values_list("kind", "level"))
    assert kinds == [("activity", 1), ("course", 2)]
    # The same event twice changes nothing.
    services.on_course_completed(user=learner, course=fw.course)
    assert Evidence.objects.filter(user=learner).count() == 2


def test_the_level_is_the_max_and_later_links_backfill(fw, coordinator, trainer, space, learner):
    fire = fw.skills["Fire safety"]
    badge = leaderboards_services.badge_definition_create(
        actor=coordinator, space=space, name="Fire marshal"
    )
    leaderboards_services.badge_award_manual(actor=coordinator, user=learner, badge=badge)
    # Linked after it was earned: the holder gets the evidence now.
    services.link_add(user=coordinator, skill=fire, level=3, badge=badge)
    assert level_of(learner, fire) == 3
    services.on_activity_completed(user=learner, activity=fw.lesson)  # level 1: no lower
    assert level_of(learner, fire) == 3
    assert Evidence.objects.filter(user=learner, skill=fire).count() == 2


def test_attending_a_session_evidences(fw, coordinator, trainer, space, learner, commit):
    from sessions import services as sessions_services
    from sessions.models import Session

    start = timezone.now() + timedelta(days=3)
    session = sessions_services.session_create(
        actor=coordinator,
        space=space,
        kind="face_to_face",
        title="Evacuation drill",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        capacity=5,
        trainers=[trainer],
    )
    services.link_add(user=coordinator, skill=fw.skills["First aid"], level=2, session=session)
    reg = sessions_services.registration_register(actor=learner, session=session)
    soon = timezone.now() + timedelta(minutes=5)
    Session.objects.filter(pk=session.pk).update(starts_at=soon, ends_at=soon + timedelta(hours=1))
    reg.refresh_from_db()
    sessions_services.attendance_mark(actor=trainer, registration=reg, attendance="present")
    commit()
    assert level_of(learner, fw.skills["First aid"]) == 2
    assert Evidence.objects.get(user=learner, kind="session").label == "Evacuation drill"


def test_a_completion_with_nothing_linked_costs_one_query(fw, trainer, space, learner):
    _course, lesson = one_lesson_course(trainer, space, "Unlinked")
    with CaptureQueriesContext(connection) as ctx:
        services.on_activity_completed(user=learner, activity=lesson)
    assert len(ctx.captured_queries) == 1


def test_a_link_is_within_the_space(fw, coordinator):
    elsewhere = SpaceFactory()
    other_trainer = UserFactory(roles=[Role.TRAINER], spaces=[elsewhere])
    course, _lesson = one_lesson_course(other_trainer, elsewhere, "Elsewhere")
    with pytest.raises(ValidationError):
        services.link_add(user=coordinator, skill=fw.skills["Negotiation"], level=1, course=course)
    with pytest.raises(ValidationError):
        services.link_add(
            user=coordinator, skill=fw.skills["Negotiation"], level=9, course=fw.course
        )


# -- live ------------------------------------------------------------------------------------
def test_a_completion_is_pushed_to_the_team_and_the_person(fw, learner, space, published):
    classrooms_services.activity_complete(user=learner, activity=fw.lesson, source="viewed")
    team_events = published(selectors.team_topic(fw.team.pk))
    cells = [c for e in team_events if e.type == "skill.changed" for c in e.data["cells"]]
    assert {"user": learner.pk, "skill": fw.skills["Fire safety"].pk}.items() <= cells[-1].items()
    assert cells[-1]["evidenced"] == 2
    assert published(selectors.space_topic(space.pk))
    mine = [e for e in published(f"hub.user.{learner.pk}") if e.type == "skills.changed"]
    assert mine[-1].data["evidenced"] == 2


@pytest.mark.django_db(transaction=True)
async def test_the_managers_matrix_topic_gets_the_completion(communicator_for, space):
    from asgiref.sync import sync_to_async

    from tests.skills.conftest import make_framework

    def build():
        boss = UserFactory(roles=[Role.MANAGER], spaces=[space])
        pupil = UserFactory(roles=[Role.LEARNER], spaces=[space])
        other = UserFactory(roles=[Role.MANAGER], spaces=[space])
        coordinator = UserFactory(roles=[Role.COORDINATOR], spaces=[space])
        teacher = UserFactory(roles=[Role.TRAINER], spaces=[space])
        TeamFactory(space=space, manager=boss, members=[pupil])
        return (
            boss,
            pupil,
            other,
            coordinator,
            make_framework(coordinator, teacher, space, [pupil], boss),
        )

    boss, pupil, other, coordinator, f = await sync_to_async(build)()
    topic = selectors.team_topic(f.team.pk)
    for user in (pupil, other):
        ws = await communicator_for(user)
        assert (await ws.call("sub", topic=topic))["code"] == "forbidden"
        assert (await ws.call("sub", topic=selectors.space_topic(space.pk)))["code"] == "forbidden"
    admin_ws = await communicator_for(coordinator)
    assert (await admin_ws.call("sub", topic=selectors.space_topic(space.pk)))["op"] == "ok"
    ws = await communicator_for(boss)
    assert (await ws.call("sub", topic=topic))["op"] == "ok"
    await sync_to_async(classrooms_services.activity_complete)(
        user=pupil, activity=f.lesson, source="viewed"
    )
    event = await ws.next_event(type="skill.changed")
    cells = {(c["user"], c["skill"]): c["evidenced"] for c in event["data"]["cells"]}
    fire = f.skills["Fire safety"].pk
    if cells[(pupil.pk, fire)] != 2:  # the lesson's level 1 first, then the course's 2
        event = await ws.next_event(type="skill.changed")
        cells = {(c["user"], c["skill"]): c["evidenced"] for c in event["data"]["cells"]}
    assert cells[(pupil.pk, fire)] == 2
    await admin_ws.next_event(type="skill.changed")


# -- assessments, targets, gaps, suggestions -------------------------------------------------
def test_assessments_are_kept_and_checked(fw, learner, learner2, manager, coordinator):
    fire = fw.skills["Fire safety"]
    services.assessment_record(
        assessor=learner, person=learner, skill=fire, kind="self", level=2, comment="<i>ok</i>"
    )
    services.assessment_record(assessor=learner, person=learner, skill=fire, kind="self", level=3)
    services.assessment_record(
        assessor=manager, person=learner, skill=fire, kind="manager", level=1, comment="soon"
    )
    row = PersonSkill.objects.get(user=learner, skill=fire)
    assert (row.self_level, row.manager_level) == (3, 1)
    assert Assessment.objects.filter(user=learner, skill=fire).count() == 3  # history kept
    assert Assessment.objects.filter(comment="ok").exists()
    with pytest.raises(PermissionDenied):
        services.assessment_record(
            assessor=learner2, person=learner, skill=fire, kind="self", level=1
        )
    with pytest.raises(PermissionDenied):
        services.assessment_record(
            assessor=learner2, person=learner, skill=fire, kind="manager", level=1
        )
    with pytest.raises(PermissionDenied):  # a manager of someone else's report
        other = UserFactory(roles=[Role.MANAGER], spaces=[fire.framework.space])
        services.assessment_record(
            assessor=other, person=learner, skill=fire, kind="manager", level=1
        )
    with pytest.raises(ValidationError):
        services.assessment_record(
            assessor=manager, person=learner, skill=fire, kind="manager", level=7
        )
    assert Assessment.objects.filter(user=learner).count() == 3


def test_targets_gaps_and_suggested_courses(fw, coordinator, trainer, manager, learner, space):
    fire, neg = fw.skills["Fire safety"], fw.skills["Negotiation"]
    sales, _l = one_lesson_course(trainer, space, "Selling well")
    sales.published = True
    sales.save()
    intro, _l2 = one_lesson_course(trainer, space, "Selling intro")
    services.link_add(user=coordinator, skill=neg, level=3, course=sales)
    services.link_add(user=coordinator, skill=neg, level=1, course=intro)  # below the target
    services.target_set(user=manager, skill=neg, level=3, team=fw.team)
    services.target_set(user=coordinator, skill=fire, level=1, role=Role.LEARNER)
    with pytest.raises(PermissionDenied):
        services.target_set(user=manager, skill=fire, level=1, role=Role.LEARNER)
    items = {
        i["skill"].name: i for i in selectors.person_skills(person=learner, framework=fw.framework)
    }
    assert items["Negotiation"]["gap"] and items["Negotiation"]["target"] == 3
    assert [c.title for c in items["Negotiation"]["suggested"]] == ["Selling well"]
    assert items["Fire safety"]["gap"]
    # The manager's assessment closes a gap; a self assessment does not.
    services.assessment_record(assessor=learner, person=learner, skill=fire, kind="self", level=4)
    services.assessment_record(
        assessor=manager, person=learner, skill=fire, kind="manager", level=1
    )
    items = {
        i["skill"].name: i for i in selectors.person_skills(person=learner, framework=fw.framework)
    }
    assert not items["Fire safety"]["gap"]
    services.target_set(user=manager, skill=neg, level=0, team=fw.team)
    assert not Target.objects.filter(team=fw.team).exists()


def test_matrix_queries_do_not_grow_with_people_or_skills(fw, coordinator, space, manager):
    def measure():
        with CaptureQueriesContext(connection) as ctx:
            m = selectors.matrix(
                framework=fw.framework,
                people=selectors.matrix_people(space=space, team=fw.team),
            )
        return len(ctx.captured_queries), m

    small, m = measure()
    assert len(m["rows"]) == 2
    people = [UserFactory(spaces=[space]) for _ in range(30)]
    fw.team.members.add(*people)
    services.import_apply(
        user=coordinator,
        framework=fw.framework,
        data="group,skill\n" + "".join(f"More,Skill {i}\n" for i in range(20)),
    )
    for p in people[:10]:
        services.assessment_record(
            assessor=manager, person=p, skill=fw.skills["First aid"], kind="manager", level=2
        )
    services.target_set(user=manager, skill=fw.skills["First aid"], level=3, team=fw.team)
    large, m = measure()
    assert len(m["rows"]) == 32 and len(m["skills"]) == 23
    assert large == small <= 8
    assert m["gaps"] == 32


# -- REST and pages: who sees what -----------------------------------------------------------
def test_a_learner_never_sees_another_persons_assessments(
    fw, api_client_for, learner, learner2, manager, space
):
    fire = fw.skills["Fire safety"]
    services.assessment_record(
        assessor=manager, person=learner2, skill=fire, kind="manager", level=2, comment="private"
    )
    api = api_client_for(learner)
    url = f"/api/v1/skills/{fire.pk}/assessments/"
    assert api.get(url, {"user": learner2.pk}).status_code == 404
    assert api.get(f"/api/v1/skills/people/{learner2.pk}/").status_code == 404
    assert api.get(url).json() == []
    r = api.post(url, {"user": learner2.pk, "assessment_kind": "self", "level": 1}, format="json")
    assert r.status_code == 404
    assert Assessment.objects.filter(user=learner2).count() == 1
    assert api.get("/api/v1/skills/matrix/").status_code == 403
    # The manager reads their report's, and assesses them.
    boss = api_client_for(manager)
    assert boss.get(url, {"user": learner2.pk}).json()[0]["comment"] == "private"
    r = boss.post(
        url,
        {"user": learner2.pk, "assessment_kind": "manager", "level": 3, "comment": "<b>good</b>"},
        format="json",
    )
    assert r.status_code == 201 and r.json()["comment"] == "good"
    # Nobody writes another person's self assessment, not even their manager.
    r = boss.post(url, {"user": learner2.pk, "assessment_kind": "self", "level": 3}, format="json")
    assert r.status_code == 403
    assert Assessment.objects.filter(user=learner2).count() == 2


def test_a_manager_sees_only_their_reports(fw, api_client_for, manager, space, client):
    stranger = UserFactory(roles=[Role.LEARNER], spaces=[space])
    other_boss = UserFactory(roles=[Role.MANAGER], spaces=[space])
    other_team = TeamFactory(space=space, manager=other_boss, members=[stranger])
    api = api_client_for(manager)
    assert api.get(f"/api/v1/skills/people/{stranger.pk}/").status_code == 404
    assert api.get("/api/v1/skills/matrix/", {"team": other_team.pk}).status_code == 404
    body = api.get("/api/v1/skills/matrix/").json()
    assert {p["id"] for p in body["people"]} == set(fw.team.members.values_list("id", flat=True))
    r = api.put(
        f"/api/v1/skills/{fw.skills['First aid'].pk}/target/",
        {"team": other_team.pk, "level": 2},
        format="json",
    )
    assert r.status_code == 403 and not Target.objects.exists()
    client.force_login(manager)
    assert client.get(f"/skills/people/{stranger.pk}/").status_code == 404
    assert client.get(f"/skills/matrix/?team={other_team.pk}").status_code == 404
    assert (
        client.post(
            f"/skills/people/{stranger.pk}/assess/{fw.skills['First aid'].pk}/", {"level": "2"}
        ).status_code
        == 404
    )
    assert not Assessment.objects.exists()


def test_another_spaces_ids_are_404_and_change_nothing(fw, api_client_for, coordinator):
    elsewhere = SpaceFactory()
    boss = UserFactory(roles=[Role.COORDINATOR], spaces=[elsewhere])
    fire = fw.skills["Fire safety"]
    api = api_client_for(boss)
    assert api.get(f"/api/v1/skills/{fire.pk}/links/").status_code == 404
    assert (
        api.post(
            f"/api/v1/skills/{fire.pk}/links/", {"level": 1, "course": fw.course.pk}, format="json"
        ).status_code
        == 404
    )
    link = fire.links.first()
    assert api.delete(f"/api/v1/skills/links/{link.pk}/").status_code == 404
    assert api.get("/api/v1/skills/framework/", {"space": fw.framework.space_id}).status_code == 404
    assert (
        api.post(
            f"/api/v1/skills/framework/import/?space={fw.framework.space_id}",
            {"csv": "group,skill\nX,Y\n", "preview": False},
            format="json",
        ).status_code
        == 404
    )
    assert fire.links.count() == 2 and not Skill.objects.filter(name="Y").exists()
    assert api.get("/api/v1/skills/matrix/", {"space": "abc"}).status_code == 400


def test_rest_framework_links_import_and_matrix(fw, api_client_for, coordinator, learner, commit):
    api = api_client_for(coordinator)
    space_id = fw.framework.space_id
    body = api.get("/api/v1/skills/framework/", {"space": space_id}).json()
    assert [lv["name"] for lv in body["levels"]] == services.DEFAULT_LEVELS
    assert {g["name"] for g in body["groups"]} == {"Safety", "Sales"}
    bad = api.post(
        f"/api/v1/skills/framework/import/?space={space_id}",
        {"csv": "group,skill\nA,B\nA,\n", "preview": False},
        format="json",
    )
    assert bad.status_code == 400 and "Line 3" in bad.content.decode()
    ok = api.post(
        f"/api/v1/skills/framework/import/?space={space_id}",
        {"csv": "group,skill\nA,B\n"},
        format="json",
    )
    assert (
        ok.json()["rows"][0]["action"] == "create" and not Skill.objects.filter(name="B").exists()
    )
    links = api.get(f"/api/v1/skills/{fw.skills['Fire safety'].pk}/links/").json()
    assert sorted(x["kind"] for x in links) == ["activity", "course"]
    classrooms_services.activity_complete(user=learner, activity=fw.lesson, source="viewed")
    commit()
    m = api.get("/api/v1/skills/matrix/", {"space": space_id}).json()
    row = next(p for p in m["people"] if p["id"] == learner.pk)
    assert any(c["evidenced"] == 2 for c in row["cells"])
    assert (
        api.put(
            f"/api/v1/skills/framework/levels/?space={space_id}", {"names": ["x"]}, format="json"
        ).status_code
        == 400
    )


def test_pages(fw, client, learner, manager, coordinator, commit):
    classrooms_services.activity_complete(user=learner, activity=fw.lesson, source="viewed")
    commit()
    client.force_login(learner)
    page = client.get("/skills/").content.decode()
    assert "Fire safety" in page and "Fire drills" in page  # the evidence's label
    assert client.get("/skills/matrix/").status_code == 403
    assert client.get("/skills/framework/").status_code == 403
    r = client.post(
        f"/skills/people/{learner.pk}/assess/{fw.skills['Negotiation'].pk}/",
        {"level": "2", "comment": "learning"},
    )
    assert r.status_code == 302 and Assessment.objects.get(user=learner).kind == "self"
    learner.display_name = "<script>alert(1)</script>Leo"
    learner.save()
    client.force_login(manager)
    page = client.get("/skills/matrix/").content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert f'<tr data-user="{learner.pk}">' in page and 'class="ev">2</b>' in page
    assert f'data-topics="skills.team.{fw.team.pk}"' in page
    csv_text = client.get("/skills/matrix.csv").content.decode()
    assert "learner1" in csv_text and "Fire safety" in csv_text
    r = client.post(
        f"/skills/teams/{fw.team.pk}/targets/", {f"target-{fw.skills['Negotiation'].pk}": "2"}
    )
    assert r.status_code == 302 and Target.objects.get(team=fw.team).level == 2
    client.force_login(coordinator)
    assert client.get("/skills/framework/").status_code == 200
    assert client.get("/skills/framework.csv").content.decode().startswith("group,skill")
    r = client.post(
        "/skills/framework/", {"action": "preview", "csv": "group,skill\nG,<b>New</b>\n"}
    )
    assert b"import-apply" in r.content and not Skill.objects.filter(name="New").exists()
    client.post("/skills/framework/", {"action": "apply", "csv": "group,skill\nG,<b>New</b>\n"})
    assert Skill.objects.filter(name="New").exists()
    assert client.get(f"/skills/framework/skills/{fw.skills['Negotiation'].pk}/").status_code == 200
