"""Every REST operation of the OpenAPI schema, called by a signed-in learner with hostile
input: wrong types, huge strings, lists and numbers, unknown enum values, bad dates, a
malformed body, ids out of range. Whatever the operation, the answer is never a 500.

The bodies are built from each operation's request schema, so a new endpoint is covered
the day it is added. Deterministic (no randomness), and kept to a few bodies per operation
so the walk stays well under a minute.
"""

from __future__ import annotations

import io
import json
import os
import re
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from hub.accounts.models import User

# Operations that answer with a stream or talk to another server: called, but with the
# same hostile input, they prove nothing more here (their own tests cover them).
SKIP = re.compile(r"^/api/v1/(schema|events)/")
# By default the walk covers the newest apps (a compact run); LYCEUM_FUZZ_ALL=1 walks every
# operation of the schema (a quarter of an hour on a loaded two-core machine).
NEWEST = re.compile(
    r"^/api/v1/(lti|externaltools|integrations|xapi|cmi5|packages|certifications|skills|"
    r"grading|paths|search|blogs|games|levels|conversations|chat|forums/trust"
    r"|spaces/\{[^}]+\}/external-tools)"
)

# A request whose cost grows with the size of a list it was sent (one query per id) is a
# flood in one request: bounded lists and one lookup per list keep every request under this.
MAX_QUERIES = 300
WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.I)
HUGE_TEXT = "x" * 100_001
HUGE_NUMBER = 10**30


def _schema() -> dict[str, Any]:
    out = io.StringIO()
    call_command("spectacular", stdout=out)
    return yaml.safe_load(out.getvalue())


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    for key in ("allOf", "oneOf", "anyOf"):
        if node.get(key):
            return _resolve(schema, node[key][0])
    return node


def _hostile(schema: dict[str, Any], prop: dict[str, Any], kind: str) -> Any:
    """One hostile value for a property of the given schema, by ``kind`` of attack."""
    prop = _resolve(schema, prop)
    typ = prop.get("type", "object" if "properties" in prop else "string")
    if "enum" in prop:
        return {"wrong": ["a list"], "huge": HUGE_TEXT, "edge": "no-such-choice"}[kind]
    if typ == "string":
        fmt = prop.get("format", "")
        if fmt in ("date-time", "date"):
            return {"wrong": 12, "huge": "99999-12-31T00:00:00Z", "edge": "0001-01-01"}[kind]
        if fmt == "uri":
            return {"wrong": ["x"], "huge": "http://" + HUGE_TEXT, "edge": "javascript:x"}[kind]
        if fmt == "uuid":
            return {"wrong": 1, "huge": HUGE_TEXT, "edge": "not-a-uuid"}[kind]
        return {"wrong": {"a": 1}, "huge": HUGE_TEXT, "edge": "\u202e\ud7ff"}[kind]
    if typ in ("integer", "number"):
        return {"wrong": "ten", "huge": HUGE_NUMBER, "edge": -1}[kind]
    if typ == "boolean":
        return {"wrong": {"a": 1}, "huge": "yes" * 1000, "edge": "maybe"}[kind]
    if typ == "array":
        return {"wrong": "not a list", "huge": [1] * 2_000, "edge": [None, {}, []]}[kind]
    return {"wrong": "not an object", "huge": {str(i): i for i in range(5_000)}, "edge": []}[kind]


def _bodies(schema: dict[str, Any], operation: dict[str, Any]) -> list[tuple[str, Any]]:
    content = (operation.get("requestBody") or {}).get("content", {})
    json_schema = content.get("application/json", {}).get("schema")
    if json_schema is None and content:
        json_schema = next(iter(content.values())).get("schema", {})
    bodies: list[tuple[str, Any]] = [("empty object", {}), ("a list", [1, 2]), ("null", None)]
    if json_schema:
        resolved = _resolve(schema, json_schema)
        props = resolved.get("properties", {})
        for kind in ("wrong", "huge", "edge"):
            bodies.append(
                (f"{kind} values", {k: _hostile(schema, v, kind) for k, v in props.items()})
            )
    return bodies


def _paths(path: str, ids: list[int | str]) -> list[str]:
    names = re.findall(r"\{([^}]+)\}", path)
    if not names:
        return [path]
    out = []
    for value in ids:
        concrete = path
        for name in names:
            concrete = concrete.replace("{" + name + "}", str(value))
        out.append(concrete)
    return out


@pytest.mark.timeout(900)
@pytest.mark.django_db(transaction=False)
def test_no_hostile_request_to_any_api_operation_is_a_server_error(monkeypatch, settings):
    call_command("seed_demo", stdout=io.StringIO())
    # Throttles would answer 429 before the view runs and hide what the view does.
    monkeypatch.setattr("hub.api.WriteRateThrottle.allow_request", lambda *a: True)
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    schema = _schema()
    everything = os.environ.get("LYCEUM_FUZZ_ALL") == "1"
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(User.objects.get(username="learner"))
    failures: list[str] = []
    calls = 0
    for path, item in sorted(schema["paths"].items()):
        if SKIP.match(path) or not (everything or NEWEST.match(path)):
            continue
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            ids: list[int | str] = [1, 2, 2**63, 99999999999999999999] if everything else [1, 2**63]
            for concrete in _paths(path, ids):
                requests: list[tuple[str, Any]] = []
                if method in ("get", "delete"):
                    requests.append(("no query", None))
                    requests.append(("hostile query", "bad"))
                else:
                    requests += _bodies(schema, operation)
                    requests.append(("malformed JSON", b"{not json"))
                for label, body in requests:
                    calls += 1
                    with CaptureQueriesContext(connection) as queries:
                        response = _call(client, method, concrete, body)
                    where = f"{method.upper()} {concrete} [{label}]"
                    if response.status_code >= 500:
                        failures.append(f"{where}: {response.status_code}")
                    if len(queries) > MAX_QUERIES:
                        failures.append(f"{where}: {len(queries)} queries")
                    if method == "get":
                        writes = [q["sql"][:80] for q in queries if WRITE.match(q["sql"])]
                        if writes:
                            failures.append(f"{where}: writes on GET: {writes[:2]}")
    assert calls > 300
    assert not failures, "\n".join(failures)


def _call(client: APIClient, method: str, path: str, body: Any) -> Any:
    call = getattr(client, method)
    if body == "bad":
        query = {
            **{"page": "-1", "page_size": "99999999999", "space": "x", "since": "nope"},
            **{"q": "x" * 5000, "course": "1e9", "user": "²", "team": "-1", "status": "zzz"},
        }
        return call(path, query)
    if body is None and method in ("get", "delete"):
        return call(path)
    if isinstance(body, bytes):
        return call(path, body, content_type="application/json")
    return call(path, json.dumps(body), content_type="application/json")
