"""Webhooks cannot be aimed at the internal network (SSRF): private, loopback, link-local
(cloud metadata), CGNAT, multicast and reserved addresses are refused when a subscription
is saved and again when each message is sent, on the address actually connected to."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from django.core.exceptions import ValidationError
from django_tasks_db.models import DBTaskResult

from classrooms.services import activity_complete
from integrations import egress, services
from integrations.admin import WebhookEndpointForm
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]

BLOCKED = [
    "127.0.0.1",  # loopback
    "127.8.9.10",
    "10.0.0.5",  # RFC 1918
    "172.16.3.4",
    "172.31.255.254",
    "192.168.1.1",
    "169.254.169.254",  # link-local: cloud metadata
    "100.64.0.1",  # CGNAT
    "100.127.255.254",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "0.0.0.0",
    "192.0.0.8",
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "fd00::1",  # ULA
    "fc12:3456::1",
    "fe80::1",  # link-local
    "ff02::1",  # multicast
    "::ffff:10.0.0.1",  # IPv4-mapped private
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4007:80f::200e"]


@pytest.fixture
def strict(settings):
    settings.INTEGRATIONS_ALLOW_PRIVATE_NETWORKS = False
    settings.INTEGRATIONS_ALLOW_HTTP = True
    settings.INTEGRATIONS_WEBHOOK_RETRIES = [0, 0, 0]
    return settings


class FakeDNS:
    """``socket.getaddrinfo`` answering for the test's names (each call takes the next
    answer, the last one repeats) and asking the real resolver for everything else."""

    def __init__(self, monkeypatch, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: dict[str, int] = {}
        self.real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host, port, *args, **kwargs):
        if host not in self.answers:
            return self.real(host, port, *args, **kwargs)
        n = self.calls.get(host, 0)
        self.calls[host] = n + 1
        plan = self.answers[host]
        addresses = plan[min(n, len(plan) - 1)]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        out = []
        for a in addresses:
            ip = ipaddress.ip_address(a)
            family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            sockaddr = (a, port or 0, 0, 0) if ip.version == 6 else (a, port or 0)
            out.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return out


@pytest.mark.parametrize("address", BLOCKED)
def test_private_and_reserved_literals_are_blocked(address):
    assert egress.is_blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_not(address):
    assert not egress.is_blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", BLOCKED)
def test_a_subscription_to_a_private_literal_is_refused(strict, coordinator, space, address):
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(ValidationError) as caught:
        services.endpoint_create(
            actor=coordinator,
            space=space,
            url=f"https://{host}:8443/hook",
            event_types=["course.completed"],
        )
    assert "url" in caught.value.message_dict
    assert not WebhookEndpoint.objects.exists()


def test_a_name_resolving_to_a_private_address_is_refused(strict, coordinator, space, monkeypatch):
    FakeDNS(
        monkeypatch,
        {
            "internal.example.com": [["10.1.2.3"]],
            "mixed.example.com": [["93.184.216.34", "169.254.169.254"]],
            "nowhere.example.com": [[]],
            "hooks.example.com": [["93.184.216.34", "2606:4700:4700::1111"]],
        },
    )
    for name in ("internal", "mixed", "nowhere"):
        with pytest.raises(ValidationError) as caught:
            services.endpoint_create(
                actor=coordinator,
                space=space,
                url=f"https://{name}.example.com/hook",
                event_types=["course.completed"],
            )
        assert list(caught.value.message_dict) == ["url"]
    assert not WebhookEndpoint.objects.exists()
    # public everywhere: accepted
    services.endpoint_create(
        actor=coordinator,
        space=space,
        url="https://hooks.example.com/hook",
        event_types=["course.completed"],
    )
    # and an update to a private one is refused like a creation
    endpoint = WebhookEndpoint.objects.get()
    with pytest.raises(ValidationError):
        services.endpoint_update(
            actor=coordinator,
            endpoint=endpoint,
            url="https://internal.example.com/hook",
            event_types=["course.completed"],
        )
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/hook"


def test_the_page_and_the_admin_form_refuse_it_too(strict, client, coordinator, space):
    client.force_login(coordinator)
    response = client.post(
        f"/integrations/spaces/{space.pk}/webhooks/",
        {"url": "https://169.254.169.254/latest/meta-data/", "event_types": ["course.completed"]},
    )
    assert response.status_code == 200 and not WebhookEndpoint.objects.exists()
    assert "169.254.169.254" in response.content.decode()
    form = WebhookEndpointForm(
        data={
            "space": space.pk,
            "owner": coordinator.pk,
            "url": "https://127.0.0.1/hook",
            "event_types": '["course.completed"]',
            "is_active": True,
            "failure_streak": 0,
        }
    )
    assert not form.is_valid() and "url" in form.errors


def test_dns_rebinding_after_the_check_is_refused_at_delivery(
    strict, built, learner, coordinator, space, receiver, run_tasks, commit, monkeypatch
):
    strict.INTEGRATIONS_ALLOW_PRIVATE_NETWORKS = False  # the receiver fixture lifted it
    port = receiver.url.split(":")[2].split("/")[0]
    # public when the subscription is checked, then the name points at our own network
    dns = FakeDNS(monkeypatch, {"rebind.example.com": [["93.184.216.34"], ["127.0.0.1"]]})
    commit()
    endpoint = services.endpoint_create(
        actor=coordinator,
        space=space,
        url=f"http://rebind.example.com:{port}/hook",
        event_types=["course.completed"],
    )
    receiver.secret = endpoint.secret
    for activity in (built.lesson, built.media, built.quiz):
        activity_complete(user=learner, activity=activity, source="test")
    run_tasks()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert "127.0.0.1" in delivery.last_error and "Refused" in delivery.last_error
    assert [t.status_code for t in delivery.tries.all()] == [None]
    assert receiver.hits == 0
    # no retry was scheduled, and the failure counts toward pausing the subscription
    assert not DBTaskResult.objects.filter(
        task_path__endswith="webhook_deliver_job", status="READY"
    ).exists()
    endpoint.refresh_from_db()
    assert endpoint.failure_streak == 1
    assert dns.calls["rebind.example.com"] == 2  # once when saved, once when sent


def test_delivery_connects_to_the_address_it_checked(
    strict, built, learner, coordinator, space, receiver, run_tasks, commit, monkeypatch
):
    """The name is resolved once per try and the connection goes to that address: a
    second resolution (here: a black hole) is never made, whatever the HTTP client does."""
    strict.INTEGRATIONS_ALLOW_PRIVATE_NETWORKS = True
    strict.INTEGRATIONS_HTTP_TIMEOUT = 2
    port = receiver.url.split(":")[2].split("/")[0]
    dns = FakeDNS(
        monkeypatch,
        {"pinned.example.com": [["127.0.0.1"], ["127.0.0.1"], ["10.255.255.1"]]},
    )
    commit()
    endpoint = services.endpoint_create(
        actor=coordinator,
        space=space,
        url=f"http://pinned.example.com:{port}/hook",
        event_types=["course.completed"],
    )
    receiver.secret = endpoint.secret
    for activity in (built.lesson, built.media, built.quiz):
        activity_complete(user=learner, activity=activity, source="test")
    run_tasks()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 1
    assert dns.calls["pinned.example.com"] == 2  # saved, then sent: never re-resolved
    assert receiver.hosts == [f"pinned.example.com:{port}"]  # the Host header kept
    assert receiver.types() == ["course.completed"]  # and the signature verified


def test_https_is_pinned_with_the_host_name_for_sni_and_certificate(strict, monkeypatch):
    FakeDNS(monkeypatch, {"hooks.example.com": [["93.184.216.34"], ["10.0.0.1"]]})
    seen = {}

    def fake_post(client, url, **kwargs):
        seen.update(kwargs, url=url)
        raise egress.httpx.ConnectError("not on the network in tests")

    monkeypatch.setattr(egress.httpx.Client, "post", fake_post)
    with pytest.raises(egress.httpx.ConnectError):
        egress.post_pinned("https://hooks.example.com/in?x=1", content=b"{}", headers={}, timeout=1)
    assert seen["url"] == "https://93.184.216.34/in?x=1"
    assert seen["headers"]["host"] == "hooks.example.com"
    assert seen["extensions"] == {"sni_hostname": "hooks.example.com"}
    assert seen["follow_redirects"] is False
    with pytest.raises(egress.EgressRefused):  # the next resolution is private
        egress.post_pinned("https://hooks.example.com/in", content=b"", headers={}, timeout=1)


def test_redirects_are_not_followed(
    built, learner, coordinator, space, receiver, run_tasks, commit, settings
):
    settings.INTEGRATIONS_WEBHOOK_RETRIES = []
    commit()
    endpoint = services.endpoint_create(
        actor=coordinator, space=space, url=receiver.url, event_types=["course.completed"]
    )
    receiver.secret = endpoint.secret
    receiver.plan = ["redirect"]
    for activity in (built.lesson, built.media, built.quiz):
        activity_complete(user=learner, activity=activity, source="test")
    run_tasks()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_status_code == 307
    assert receiver.hits == 1
