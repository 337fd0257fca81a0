"""Pages: the list, a session's page, register and cancel by form post."""

from __future__ import annotations

from sessions.models import Registration


def test_list_and_detail(client, learner, training):
    client.force_login(learner)
    page = client.get("/sessions/")
    assert page.status_code == 200 and b"First aid" in page.content
    page = client.get(f"/sessions/{training.pk}/")
    assert page.status_code == 200 and b'data-testid="register"' in page.content
    assert b"session-initial" in page.content


def test_register_then_cancel_by_form(client, learner, training):
    client.force_login(learner)
    reply = client.post(f"/sessions/{training.pk}/register/", follow=True)
    assert reply.status_code == 200 and b"You are registered." in reply.content
    assert Registration.objects.get(user=learner).status == "confirmed"
    reply = client.post(f"/sessions/{training.pk}/cancel/", follow=True)
    assert Registration.objects.get(user=learner).status == "cancelled"


def test_waitlisted_learner_sees_their_position(client, training, crowd):
    for u in crowd[:2]:
        client.force_login(u)
        client.post(f"/sessions/{training.pk}/register/")
    client.force_login(crowd[2])
    reply = client.post(f"/sessions/{training.pk}/register/", follow=True)
    assert b'data-testid="my-position">1<' in reply.content


def test_register_twice_by_form_says_why(client, learner, training):
    client.force_login(learner)
    client.post(f"/sessions/{training.pk}/register/")
    reply = client.post(f"/sessions/{training.pk}/register/", follow=True)
    assert b"Already registered" in reply.content
    assert Registration.objects.filter(user=learner).count() == 1


def test_outsider_gets_404(client, outsider, training):
    client.force_login(outsider)
    assert client.get(f"/sessions/{training.pk}/").status_code == 404
    assert client.post(f"/sessions/{training.pk}/register/").status_code == 404


def test_coordinator_sees_the_registrations(client, coordinator, training, learner):
    client.force_login(learner)
    client.post(f"/sessions/{training.pk}/register/")
    client.force_login(coordinator)
    page = client.get(f"/sessions/{training.pk}/")
    assert b'data-testid="registrations"' in page.content and b"Learner1" in page.content


def test_nav_links_to_sessions(client, learner):
    client.force_login(learner)
    assert b'data-nav="sessions"' in client.get("/sessions/").content
