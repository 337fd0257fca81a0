"""cmi5 AUs as package units: the launch (cmi5 §8.1), the one-time fetch URL (§8.2), the
xAPI resources an AU uses (statements, the ``LMS.LaunchData`` state, the
``cmi5LearnerPreferences`` agent profile) and the moveOn rule that completes the activity.

The AU runs in the same sandboxed frame as a SCO (opaque origin, no cookie): what says who
it is is the token it fetched, sent as ``Authorization: Basic <token>``. A token belongs to
one attempt (one registration) and its learner; it is kept hashed and expires. Relaunching
an attempt makes a new fetch secret and drops the old token.

Statements the AU sends are checked (the actor is the learner, the registration is the
attempt's, no LMS-only verb), stored and forwarded to the space's record stores like
Lyceum's own (integrations/xapi.py). ``completed``/``passed``/``failed`` move the attempt;
when the AU's moveOn is met Lyceum says ``satisfied`` and, once every AU is satisfied, the
activity is completed through classrooms' service (the live grid moves).
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.models import PackageAttempt, StatementSource

CMI5 = "https://w3id.org/xapi/cmi5/"
CATEGORY_CMI5 = CMI5 + "context/categories/cmi5"
CATEGORY_MOVEON = CMI5 + "context/categories/moveon"
EXT_SESSION = CMI5 + "context/extensions/sessionid"
EXT_LAUNCH_MODE = CMI5 + "context/extensions/launchmode"
EXT_LAUNCH_URL = CMI5 + "context/extensions/launchurl"
EXT_MOVE_ON = CMI5 + "context/extensions/moveon"
EXT_LAUNCH_PARAMETERS = CMI5 + "context/extensions/launchparameters"
EXT_MASTERY = CMI5 + "context/extensions/masteryscore"
ADL = "http://adlnet.gov/expapi/verbs/"
VERB_LAUNCHED = ADL + "launched"
VERB_SATISFIED = "https://w3id.org/xapi/adl/verbs/satisfied"
VERB_COMPLETED = ADL + "completed"
VERB_PASSED = ADL + "passed"
VERB_FAILED = ADL + "failed"
# Verbs only the LMS may use in a registration (cmi5 §9.3): an AU sending them is refused.
LMS_ONLY_VERBS = {
    VERB_LAUNCHED,
    VERB_SATISFIED,
    "https://w3id.org/xapi/adl/verbs/abandoned",
    "https://w3id.org/xapi/adl/verbs/waived",
}
LAUNCH_DATA = "LMS.LaunchData"
PREFERENCES = "cmi5LearnerPreferences"
MAX_STATE_BYTES = 64_000  # one state document the AU keeps (e.g. its bookmark)
MAX_STATES = 20


class FetchError(Exception):
    """A refused fetch: cmi5's error JSON (``error-code`` 1: already used, 2: other)."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


# -- identities --------------------------------------------------------------------------------
def learner_actor(user: Any) -> dict[str, Any]:
    """The learner as cmi5 wants the actor (an account, never an e-mail address)."""
    return {
        "objectType": "Agent",
        "account": {"homePage": settings.SITE_URL, "name": str(user.pk)},
        "name": getattr(user, "name", "") or user.get_username(),
    }


def _is_learner(agent: Any, user: Any) -> bool:
    return (
        isinstance(agent, dict)
        and agent.get("objectType", "Agent") == "Agent"
        and agent.get("account") == {"homePage": settings.SITE_URL, "name": str(user.pk)}
        and not any(k in agent for k in ("mbox", "mbox_sha1sum", "openid"))
    )


def _hash(value: str) -> str:
    from integrations.scorm import _hash as scorm_hash

    return scorm_hash(value)


# -- the launch ------------------------------------------------------------------------------
def launch_query(*, attempt: PackageAttempt, base: str, user: Any) -> str:
    """The cmi5 launch query (§8.1) for ``attempt``; ``base`` is the site's absolute origin.

    Called right after ``attempt_launch`` made a new fetch secret (kept in clear on the
    object only): Lyceum says ``launched`` here, the LMS's first statement of a session."""
    from django.urls import reverse

    secret = getattr(attempt, "_fetch_secret", None)
    if not secret:
        raise ValidationError(_("This launch has no fetch secret."))
    session = str(uuid.uuid4())
    attempt.launch_data = {**(attempt.launch_data or {}), "session": session}
    attempt.save(update_fields=["launch_data"])
    query = urlencode(
        {
            "endpoint": base + reverse("cmi5-xapi-root"),
            "fetch": base + reverse("cmi5-fetch", args=[secret]),
            "registration": str(attempt.registration),
            "activityId": attempt.unit.identifier,
            "actor": json.dumps(learner_actor(user), separators=(",", ":")),
        }
    )
    _lms_statement(attempt, VERB_LAUNCHED, "launched", extra_ext=_launched_extensions(attempt))
    return query


def _launched_extensions(attempt: PackageAttempt) -> dict[str, Any]:
    unit = attempt.unit
    ext: dict[str, Any] = {
        EXT_LAUNCH_MODE: "Normal",
        EXT_LAUNCH_URL: unit.href,
        EXT_MOVE_ON: unit.move_on or "NotApplicable",
    }
    if unit.launch_parameters:
        ext[EXT_LAUNCH_PARAMETERS] = unit.launch_parameters
    return ext


def context_template(attempt: PackageAttempt) -> dict[str, Any]:
    """What every statement of this session starts from (LaunchData's contextTemplate)."""
    grouping = [{"objectType": "Activity", "id": attempt.unit.package.course_iri}]
    return {
        "contextActivities": {"grouping": grouping},
        "extensions": {EXT_SESSION: (attempt.launch_data or {}).get("session", "")},
    }


def launch_data(attempt: PackageAttempt, *, return_url: str) -> dict[str, Any]:
    """The ``LMS.LaunchData`` state document (cmi5 §10.2.1)."""
    unit = attempt.unit
    data: dict[str, Any] = {
        "contextTemplate": context_template(attempt),
        "launchMode": "Normal",
        "moveOn": unit.move_on or "NotApplicable",
        "returnURL": return_url,
    }
    if unit.mastery_score is not None:
        data["masteryScore"] = unit.mastery_score
    if unit.launch_parameters:
        data["launchParameters"] = unit.launch_parameters
    return data


def learner_preferences(user: Any) -> dict[str, Any]:
    """The ``cmi5LearnerPreferences`` agent profile (§11): the learner's language."""
    language = getattr(user, "language", "") or settings.LANGUAGE_CODE
    return {"languagePreference": language, "audioPreference": "on"}


# -- fetch and tokens ------------------------------------------------------------------------
@transaction.atomic
def token_fetch(*, secret: str) -> str:
    """Exchange a launch's fetch secret for the attempt's xAPI token, once (§8.2.3)."""
    from integrations.scorm import TOKEN_MAX_AGE

    attempt = (
        PackageAttempt.objects.select_for_update()
        .filter(fetch_secret=_hash(secret), registration__isnull=False)
        .first()
        if secret
        else None
    )
    if attempt is None:
        raise FetchError("2", _("Unknown fetch URL."))
    if attempt.fetch_used:
        raise FetchError("1", _("This fetch URL was already used."))
    token = secrets.token_urlsafe(32)
    attempt.fetch_used = True
    attempt.token_hash = _hash(token)
    attempt.token_expires = timezone.now() + TOKEN_MAX_AGE
    attempt.save(update_fields=["fetch_used", "token_hash", "token_expires"])
    return token


def attempt_for_authorization(header: str) -> PackageAttempt | None:
    """The attempt an ``Authorization: Basic <token>`` names (valid, not expired, its
    learner still enrolled and the package still current), else ``None``."""
    from classrooms.models import Enrolment
    from integrations.scorm import current_package

    scheme, _sep, token = (header or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "basic" or not token or len(token) > 200:
        return None
    attempt = (
        PackageAttempt.objects.select_related("user", "unit__package__activity__course")
        .filter(token_hash=_hash(token), token_expires__gt=timezone.now())
        .first()
    )
    if attempt is None:
        return None
    activity = attempt.unit.package.activity
    if not Enrolment.objects.filter(user=attempt.user, course_id=activity.course_id).exists():
        return None
    if current_package(activity) != attempt.unit.package:
        return None
    return attempt


# -- statements ------------------------------------------------------------------------------
def _lms_statement(
    attempt: PackageAttempt,
    verb: str,
    display: str,
    *,
    object_id: str | None = None,
    extra_ext: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A cmi5 "defined" statement Lyceum makes for the attempt, stored and forwarded."""
    from integrations.xapi import statements_store

    ctx = context_template(attempt)
    ctx["registration"] = str(attempt.registration)
    ctx["contextActivities"]["category"] = [{"objectType": "Activity", "id": CATEGORY_CMI5}]
    ctx["extensions"].update(extra_ext or {})
    statement: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": learner_actor(attempt.user),
        "verb": {"id": verb, "display": {"en-US": display}},
        "object": {"objectType": "Activity", "id": object_id or attempt.unit.identifier},
        "context": ctx,
        "timestamp": timezone.now().isoformat(),
    }
    if result:
        statement["result"] = result
    statements_store(
        statements=[statement],
        space_id=attempt.unit.package.activity.course.space_id,
        user_id=attempt.user_id,
    )
    return statement


def clean_au_statements(
    attempt: PackageAttempt, data: Any, *, statement_id: str | None = None
) -> list[dict[str, Any]]:
    """The statements of a POST (one or a list) or a PUT (one, ``statement_id``), checked
    whole before anything is stored: shape, actor, registration, no LMS-only verb."""
    from rest_framework.exceptions import ValidationError as DRFValidationError

    from integrations.api import clean_statements

    if statement_id is not None:
        if not isinstance(data, dict):
            raise ValidationError(_("PUT takes one statement."))
        try:
            wanted = str(uuid.UUID(statement_id))
        except ValueError:
            raise ValidationError(_("statementId is not a UUID.")) from None
        if "id" in data and str(data["id"]) != wanted:
            raise ValidationError(_("The statement's id differs from statementId."))
        data = {**data, "id": wanted}
    try:
        statements = clean_statements(data, attempt.user)
    except DRFValidationError as exc:
        detail = exc.detail[0] if isinstance(exc.detail, list) else exc.detail
        raise ValidationError(str(detail)) from None
    registration = str(attempt.registration)
    for i, statement in enumerate(statements):
        if not _is_learner(statement["actor"], attempt.user):
            raise PermissionDenied(_("statement %(i)d: the actor must be the learner") % {"i": i})
        ctx = statement.get("context") or {}
        if str(ctx.get("registration", "")).lower() != registration:
            raise PermissionDenied(
                _("statement %(i)d: the registration is not this launch's") % {"i": i}
            )
        if statement["verb"]["id"] in LMS_ONLY_VERBS:
            raise PermissionDenied(_("statement %(i)d: only the LMS uses this verb") % {"i": i})
        try:
            uuid.UUID(statement["id"])
        except ValueError:
            raise ValidationError(_("statement %(i)d: id is not a UUID") % {"i": i}) from None
    return statements


def _scaled(statement: dict[str, Any]) -> float | None:
    score = (statement.get("result") or {}).get("score") or {}
    value = score.get("scaled")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if -1 <= value <= 1 else None


@transaction.atomic
def statements_receive(
    *, attempt: PackageAttempt, data: Any, statement_id: str | None = None
) -> list[str]:
    """Store the AU's statements (see ``clean_au_statements``), move the attempt by its
    ``completed``/``passed``/``failed`` statements about this AU, say ``satisfied`` and
    complete the activity when moveOn is met. Answers the statement ids."""
    from integrations import scorm
    from integrations.xapi import statements_store

    statements = clean_au_statements(attempt, data, statement_id=statement_id)
    attempt = (
        PackageAttempt.objects.select_for_update()
        .select_related("user", "unit__package__activity__course")
        .get(pk=attempt.pk)
    )
    statements_store(
        statements=statements,
        space_id=attempt.unit.package.activity.course.space_id,
        user_id=attempt.user_id,
        source=StatementSource.CONTENT,
    )
    was_met = scorm.cmi5_move_on_met(attempt) and attempt.finished_at is not None
    changed = False
    for statement in statements:
        if statement["object"].get("id") != attempt.unit.identifier:
            continue  # about something inside the AU: kept, but it moves nothing
        verb = statement["verb"]["id"]
        if verb == VERB_COMPLETED and attempt.completion_status != "completed":
            attempt.completion_status, changed = "completed", True
        elif verb == VERB_PASSED:
            attempt.success_status, changed = "passed", True
            attempt.score_scaled = _scaled(statement)
        elif verb == VERB_FAILED and attempt.success_status != "passed":
            attempt.success_status, changed = "failed", True
            attempt.score_scaled = _scaled(statement)
    if not changed:
        return [s["id"] for s in statements]
    attempt.commits += 1
    met = scorm.cmi5_move_on_met(attempt)
    if met and not was_met:
        attempt.finished_at = attempt.finished_at or timezone.now()
    attempt.save()
    if met and not was_met:
        _satisfied(attempt)
    return [s["id"] for s in statements]


def _satisfied(attempt: PackageAttempt) -> None:
    """The AU's moveOn is met: when every AU of the package is (one AU: now), Lyceum says
    ``satisfied`` about the course (cmi5 §9.3.9); the activity is completed through
    classrooms' service either way once every unit is done (``_complete_if_done``)."""
    from integrations import scorm

    package = attempt.unit.package
    units = set(package.units.values_list("pk", flat=True))
    done = {
        other.unit_id
        for other in PackageAttempt.objects.select_related("unit__package").filter(
            user=attempt.user, unit__package=package
        )
        if scorm.unit_done(other)
    }
    if units <= done:
        _lms_statement(attempt, VERB_SATISFIED, "satisfied", object_id=package.course_iri or None)
    scorm._complete_if_done(attempt)


# -- the State resource ----------------------------------------------------------------------
def _check_state_query(attempt: PackageAttempt, params: Any) -> str:
    """The stateId of a State request about this attempt (activityId, agent, registration
    must be the launch's), or a refusal."""
    if params.get("activityId") != attempt.unit.identifier:
        raise PermissionDenied(_("activityId is not this launch's AU."))
    try:
        agent = json.loads(params.get("agent", ""))
    except ValueError:
        raise ValidationError(_("agent is not JSON.")) from None
    if not _is_learner(agent, attempt.user):
        raise PermissionDenied(_("agent is not the learner."))
    if str(params.get("registration", "")).lower() != str(attempt.registration):
        raise PermissionDenied(_("registration is not this launch's."))
    state_id = params.get("stateId", "")
    if not state_id or len(state_id) > 200:
        raise ValidationError(_("Send a stateId."))
    return state_id


def state_get(*, attempt: PackageAttempt, params: Any, return_url: str) -> dict[str, Any] | None:
    state_id = _check_state_query(attempt, params)
    if state_id == LAUNCH_DATA:
        return launch_data(attempt, return_url=return_url)
    return ((attempt.launch_data or {}).get("states") or {}).get(state_id)


@transaction.atomic
def state_put(*, attempt: PackageAttempt, params: Any, body: bytes) -> None:
    """Keep a state document the AU owns; ``LMS.LaunchData`` is the LMS's (read only)."""
    state_id = _check_state_query(attempt, params)
    if state_id == LAUNCH_DATA:
        raise PermissionDenied(_("LMS.LaunchData is written by the LMS only."))
    if len(body) > MAX_STATE_BYTES:
        raise ValidationError(_("The state document is too large."))
    try:
        document = json.loads(body or b"null")
    except ValueError:
        raise ValidationError(_("The state document is not JSON.")) from None
    attempt = PackageAttempt.objects.select_for_update().get(pk=attempt.pk)
    states = dict((attempt.launch_data or {}).get("states") or {})
    if state_id not in states and len(states) >= MAX_STATES:
        raise ValidationError(_("Too many state documents."))
    states[state_id] = document
    attempt.launch_data = {**(attempt.launch_data or {}), "states": states}
    attempt.save(update_fields=["launch_data"])


def profile_get(*, attempt: PackageAttempt, params: Any) -> dict[str, Any] | None:
    try:
        agent = json.loads(params.get("agent", ""))
    except ValueError:
        raise ValidationError(_("agent is not JSON.")) from None
    if not _is_learner(agent, attempt.user):
        raise PermissionDenied(_("agent is not the learner."))
    if params.get("profileId") != PREFERENCES:
        return None
    return learner_preferences(attempt.user)
