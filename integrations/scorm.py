"""SCORM 1.2, SCORM 2004 and cmi5 packages as course activities: upload, attempts, the CMI
data the runtime commits, completion, and the trainer's interactions report.

The browser side is scorm-again (frontend/vendor): the real API object lives in Lyceum's
player page, the package runs in a sandboxed frame of its own (opaque origin) and reaches
the API through scorm-again's cross-frame bridge; the player page commits to the REST API
here (``integrations/api.py``). docs/INTEGRATIONS.md describes the whole flow.

Attempts (the rule the docs repeat): launching a unit resumes the learner's latest attempt
on the package's current version unless that attempt is *finished* (SCORM 1.2 status
passed, completed or failed; SCORM 2004 completion ``completed``; cmi5 a completed, passed
or failed statement, or its moveOn met); a finished attempt is kept and the launch starts
attempt n+1 from the beginning (``entry`` ``ab-initio``). A resumed attempt is loaded back
with its location and suspend data and ``entry`` ``resume``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import APIException

from classrooms.reports import spreadsheet_cell
from integrations.models import (
    Package,
    PackageAttempt,
    PackageInteraction,
    PackageKind,
    PackageUnit,
)
from integrations.packages import inspect_package, package_root, unpack

CONTENT_SALT = "integrations.package-content"
CONTENT_MAX_AGE = 12 * 3600  # a launch's content URLs stay valid this long (seconds)
TOKEN_MAX_AGE = timedelta(hours=4)  # a cmi5 AU's xAPI token
MAX_KEYS = 6000  # elements in one commit
MAX_INDEX = 500  # interactions / objectives / comments per attempt

FINISHED_12 = {"passed", "completed", "failed"}


# -- upload ----------------------------------------------------------------------------------
def _folder() -> str:
    return secrets.token_hex(16)


def package_add(*, user: Any, activity: Any, upload: IO[bytes], size: int | None) -> Package:
    """Check ``upload`` (integrations.packages), unpack it under a random folder and record a
    new version of ``activity``'s package with its entry points. Nothing is kept when the
    check fails."""
    from classrooms.models import ActivityKind
    from classrooms.selectors import can_edit_course

    if activity.kind != ActivityKind.PACKAGE:
        raise ValidationError(_("This activity is not a package."))
    if not can_edit_course(user=user, course=activity.course):
        raise PermissionDenied
    info = inspect_package(upload, size=size)
    if info.kind == PackageKind.CMI5 and any("://" in au.href for au in info.scos):
        # The player frames package files only (its CSP allows no other origin).
        raise ValidationError(_("cmi5 AUs on another site are not played; put them in the zip."))
    folder = _folder()
    try:
        written = unpack(upload, folder)
        with transaction.atomic():
            last = activity.packages.order_by("-version").values_list("version", flat=True)
            package = Package.objects.create(
                activity=activity,
                version=(last.first() or 0) + 1,
                kind=info.kind,
                edition=info.edition[:40],
                title=info.title[:200],
                sequencing=info.sequencing,
                course_iri=info.course_id[:500],
                folder=folder,
                size=written,
                uploaded_by=user,
            )
            PackageUnit.objects.bulk_create(
                PackageUnit(
                    package=package,
                    position=i,
                    identifier=sco.identifier[:500],
                    title=sco.title[:200],
                    href=sco.href[:2000],
                    parameters=sco.parameters[:1000],
                    move_on=sco.move_on,
                    mastery_score=sco.mastery_score,
                    launch_parameters=sco.launch_parameters,
                )
                for i, sco in enumerate(info.scos)
            )
    except BaseException:
        _remove(folder)
        raise
    return package


def _remove(folder: str) -> None:
    import shutil

    shutil.rmtree(package_root() / folder, ignore_errors=True)


def current_package(activity: Any) -> Package | None:
    return activity.packages.order_by("-version").first()


# -- delivery --------------------------------------------------------------------------------
def content_token(attempt: PackageAttempt) -> str:
    """The path segment that opens the package's files for this attempt (signed, expiring):
    the frame's requests carry no cookie (opaque origin), so the path says who asks.

    It names the launch (session) too: the signature's timestamp has a one-second grain, so
    without it two launches in the same second got the same URL, and the browser could
    answer the second from its cache with the first launch's seed (issue 18's resume race)."""
    return signing.dumps(
        [attempt.pk, attempt.user_id, launch_session(attempt)], salt=CONTENT_SALT, compress=False
    )


def launch_session(attempt: PackageAttempt) -> int:
    """The number of the attempt's latest launch (1 for its first; 0 before any)."""
    try:
        return int((attempt.launch_data or {}).get("launch", 0))
    except (TypeError, ValueError):
        return 0


def attempt_for_token(token: str) -> PackageAttempt | None:
    """The attempt a content token names, if it is valid and its learner still enrolled."""
    from classrooms.models import Enrolment

    try:
        pk, user_id = signing.loads(token, salt=CONTENT_SALT, max_age=CONTENT_MAX_AGE)[:2]
    except (signing.BadSignature, ValueError, TypeError):
        return None
    attempt = (
        PackageAttempt.objects.select_related("unit__package__activity")
        .filter(pk=pk, user_id=user_id)
        .first()
    )
    if attempt is None:
        return None
    course_id = attempt.unit.package.activity.course_id
    if not Enrolment.objects.filter(user_id=user_id, course_id=course_id).exists():
        return None
    return attempt


# -- attempts --------------------------------------------------------------------------------
def is_finished(attempt: PackageAttempt) -> bool:
    kind = attempt.unit.package.kind
    if kind == PackageKind.SCORM12:
        return attempt.lesson_status in FINISHED_12
    if kind == PackageKind.SCORM2004:
        return attempt.completion_status == "completed"
    return attempt.finished_at is not None


def unit_done(attempt: PackageAttempt) -> bool:
    """Whether this attempt completes its unit for the activity's completion."""
    kind = attempt.unit.package.kind
    if kind == PackageKind.SCORM12:
        return attempt.lesson_status in ("passed", "completed")
    if kind == PackageKind.SCORM2004:
        return attempt.completion_status == "completed" and attempt.success_status != "failed"
    return cmi5_move_on_met(attempt)


def cmi5_move_on_met(attempt: PackageAttempt) -> bool:
    """The AU's moveOn rule (cmi5 §9.3.1 of the course structure) against its verbs."""
    completed = attempt.completion_status == "completed"
    passed = attempt.success_status == "passed"
    rule = attempt.unit.move_on or "NotApplicable"
    return {
        "Completed": completed,
        "Passed": passed,
        "CompletedAndPassed": completed and passed,
        "CompletedOrPassed": completed or passed,
        "NotApplicable": True,
    }.get(rule, False)


def _require_enrolled(user: Any, activity: Any) -> None:
    from classrooms.models import Enrolment

    if not Enrolment.objects.filter(user=user, course_id=activity.course_id).exists():
        raise PermissionDenied(_("Enrol in the course to play this package."))


@transaction.atomic
def attempt_launch(*, user: Any, unit: PackageUnit) -> tuple[PackageAttempt, bool]:
    """The attempt to play ``unit`` now and whether it resumes (see the module's rule).

    Each launch opens a new session of the attempt (``launch_data["launch"]``, under the
    row lock): commits name their session, and one from a session a newer launch replaced
    is refused (``attempt_commit``). Call it in the transaction that also builds the launch
    payload (``PackageLaunchView``) so a commit waits for the whole launch."""
    package = unit.package
    _require_enrolled(user, package.activity)
    if current_package(package.activity) != package:
        raise ValidationError(_("This version of the package was replaced."))
    # Lock the learner's row of the unit so two tabs launching at once make one attempt.
    latest = (
        PackageAttempt.objects.select_for_update()
        .select_related("unit__package")
        .filter(user=user, unit=unit)
        .order_by("-number")
        .first()
    )
    if latest is not None and not is_finished(latest):
        if package.kind == PackageKind.CMI5:
            _cmi5_relaunch(latest)
        latest.launch_data = {**(latest.launch_data or {}), "launch": launch_session(latest) + 1}
        latest.save(update_fields=["launch_data"])
        return latest, True
    attempt = PackageAttempt(user=user, unit=unit, number=(latest.number + 1) if latest else 1)
    attempt.launch_data = {"launch": 1}
    if package.kind == PackageKind.CMI5:
        attempt.registration = uuid.uuid4()
        _cmi5_relaunch(attempt)
    attempt.save()
    return attempt, False


def _cmi5_relaunch(attempt: PackageAttempt) -> None:
    """A new one-time fetch secret for this launch (the AU exchanges it for a token)."""
    secret = secrets.token_urlsafe(24)
    attempt.fetch_secret = _hash(secret)
    attempt.fetch_used = False
    attempt.token_hash = ""
    attempt.token_expires = None
    attempt._fetch_secret = secret  # handed to the launch URL, never stored in clear
    if attempt.pk:
        attempt.save(update_fields=["fetch_secret", "fetch_used", "token_hash", "token_expires"])


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def attempt_of(*, user: Any, pk: int) -> PackageAttempt:
    """The caller's own attempt ``pk`` (someone else's is not found: 404, not 403)."""
    from django.http import Http404

    attempt = (
        PackageAttempt.objects.select_related("unit__package__activity__course")
        .filter(pk=pk, user=user)
        .first()
    )
    if attempt is None:
        raise Http404
    return attempt


# -- CMI data --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Element:
    pattern: re.Pattern[str]
    check: Any  # callable(value) -> str | None (an error message) ; None = LMS-owned, ignored


def _string(limit: int):
    def check(value: str) -> str | None:
        return None if len(value) <= limit else _("longer than %(n)d characters") % {"n": limit}

    return check


def _choice(*allowed: str):
    def check(value: str) -> str | None:
        return None if value in allowed else _("not one of %(v)s") % {"v": ", ".join(allowed)}

    return check


def _real(low: float | None = None, high: float | None = None, blank: bool = True):
    def check(value: str) -> str | None:
        if value == "" and blank:
            return None
        try:
            number = float(value)
        except ValueError:
            return _("not a number")
        if number != number or number in (float("inf"), float("-inf")):
            return _("not a number")
        if (low is not None and number < low) or (high is not None and number > high):
            return _("out of range")
        return None

    return check


TIMESPAN_12 = re.compile(r"^\d{2,4}:\d{2}:\d{2}(\.\d{1,2})?$")
TIME_12 = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d{1,2})?$")
DURATION = re.compile(
    r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d{1,2})?S)?)?$"
)
STAMP = re.compile(
    r"^\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d{1,2})?)?)?(Z|[+-]\d{2}(:\d{2})?)?)?)?)?$"
)


def _matches(regex: re.Pattern[str], blank: bool = True):
    def check(value: str) -> str | None:
        if value == "" and blank:
            return None
        return None if regex.match(value) else _("not in the expected format")

    return check


INTERACTION_TYPES_12 = (
    "true-false", "choice", "fill-in", "matching", "performance", "sequencing", "likert",
    "numeric",
)  # fmt: skip
INTERACTION_TYPES_2004 = (*INTERACTION_TYPES_12, "long-fill-in", "other")
_n = r"(\d{1,4})"
LMS_OWNED = None

ELEMENTS_12 = [
    (r"cmi\.core\.lesson_location", _string(255)),
    (
        r"cmi\.core\.lesson_status",
        _choice("passed", "completed", "failed", "incomplete", "browsed", "not attempted"),
    ),
    (r"cmi\.core\.score\.(raw|min|max)", _real(0, 100)),
    (r"cmi\.core\.exit", _choice("", "time-out", "suspend", "logout")),
    (r"cmi\.core\.session_time", _matches(TIMESPAN_12, blank=False)),
    (r"cmi\.suspend_data", _string(4096)),
    (r"cmi\.comments", _string(4096)),
    (r"cmi\.student_preference\.(audio|speed|text)", _real(-100, 100)),
    (r"cmi\.student_preference\.language", _string(255)),
    (rf"cmi\.objectives\.{_n}\.id", _string(255)),
    (rf"cmi\.objectives\.{_n}\.score\.(raw|min|max)", _real(0, 100)),
    (
        rf"cmi\.objectives\.{_n}\.status",
        _choice("passed", "completed", "failed", "incomplete", "browsed", "not attempted"),
    ),
    (rf"cmi\.interactions\.{_n}\.id", _string(255)),
    (rf"cmi\.interactions\.{_n}\.objectives\.{_n}\.id", _string(255)),
    (rf"cmi\.interactions\.{_n}\.time", _matches(TIME_12)),
    (rf"cmi\.interactions\.{_n}\.type", _choice("", *INTERACTION_TYPES_12)),
    (rf"cmi\.interactions\.{_n}\.correct_responses\.{_n}\.pattern", _string(255)),
    (rf"cmi\.interactions\.{_n}\.weighting", _real()),
    (rf"cmi\.interactions\.{_n}\.student_response", _string(255)),
    (rf"cmi\.interactions\.{_n}\.result", _string(30)),
    (rf"cmi\.interactions\.{_n}\.latency", _matches(TIMESPAN_12)),
    # What the LMS gives and the content only reads: accepted back, never stored from here.
    (r"cmi\.core\.(student_id|student_name|credit|entry|total_time|lesson_mode)", LMS_OWNED),
    (r"cmi\.(launch_data|comments_from_lms)", LMS_OWNED),
    (r"cmi\.student_data\.\w+", LMS_OWNED),
]

ELEMENTS_2004 = [
    (r"cmi\.location", _string(1000)),
    (r"cmi\.suspend_data", _string(64000)),
    (r"cmi\.completion_status", _choice("completed", "incomplete", "not attempted", "unknown")),
    (r"cmi\.success_status", _choice("passed", "failed", "unknown")),
    (r"cmi\.score\.scaled", _real(-1, 1)),
    (r"cmi\.score\.(raw|min|max)", _real()),
    (r"cmi\.progress_measure", _real(0, 1)),
    (r"cmi\.exit", _choice("", "time-out", "suspend", "logout", "normal")),
    (r"cmi\.session_time", _matches(DURATION)),
    (r"cmi\.learner_preference\.(audio_level|delivery_speed)", _real(0)),
    (r"cmi\.learner_preference\.audio_captioning", _choice("-1", "0", "1")),
    (r"cmi\.learner_preference\.language", _string(250)),
    (rf"cmi\.comments_from_learner\.{_n}\.comment", _string(4000)),
    (rf"cmi\.comments_from_learner\.{_n}\.location", _string(250)),
    (rf"cmi\.comments_from_learner\.{_n}\.timestamp", _matches(STAMP)),
    (rf"cmi\.objectives\.{_n}\.id", _string(4000)),
    (rf"cmi\.objectives\.{_n}\.score\.scaled", _real(-1, 1)),
    (rf"cmi\.objectives\.{_n}\.score\.(raw|min|max)", _real()),
    (rf"cmi\.objectives\.{_n}\.success_status", _choice("passed", "failed", "unknown")),
    (
        rf"cmi\.objectives\.{_n}\.completion_status",
        _choice("completed", "incomplete", "not attempted", "unknown"),
    ),
    (rf"cmi\.objectives\.{_n}\.progress_measure", _real(0, 1)),
    (rf"cmi\.objectives\.{_n}\.description", _string(250)),
    (rf"cmi\.interactions\.{_n}\.id", _string(4000)),
    (rf"cmi\.interactions\.{_n}\.type", _choice("", *INTERACTION_TYPES_2004)),
    (rf"cmi\.interactions\.{_n}\.objectives\.{_n}\.id", _string(4000)),
    (rf"cmi\.interactions\.{_n}\.timestamp", _matches(STAMP)),
    (rf"cmi\.interactions\.{_n}\.correct_responses\.{_n}\.pattern", _string(4000)),
    (rf"cmi\.interactions\.{_n}\.weighting", _real()),
    (rf"cmi\.interactions\.{_n}\.learner_response", _string(4000)),
    (rf"cmi\.interactions\.{_n}\.result", _string(30)),
    (rf"cmi\.interactions\.{_n}\.latency", _matches(DURATION)),
    (rf"cmi\.interactions\.{_n}\.description", _string(250)),
    (r"adl\.nav\.request", _string(250)),
    (
        r"cmi\.(learner_id|learner_name|credit|entry|mode|total_time|launch_data|"
        r"completion_threshold|scaled_passing_score|max_time_allowed|time_limit_action)",
        LMS_OWNED,
    ),
    (rf"cmi\.comments_from_lms\.{_n}\.\w+", LMS_OWNED),
]


def _compile(table: list[tuple[str, Any]]) -> list[Element]:
    return [Element(re.compile(f"^{pattern}$"), check) for pattern, check in table]


TABLES = {
    PackageKind.SCORM12: _compile(ELEMENTS_12),
    PackageKind.SCORM2004: _compile(ELEMENTS_2004),
}


def clean_cmi(kind: str, data: Any) -> dict[str, str]:
    """The writable elements of a flattened commit (``{"cmi.x.y": "text"}``), each checked
    against the data model of ``kind``; a ``ValidationError`` naming the first bad one.

    Empty collections (scorm-again writes ``"cmi.objectives": {}``) and the LMS-owned
    elements the runtime echoes back are skipped; anything else unknown is refused."""
    table = TABLES[kind]
    if not isinstance(data, dict):
        raise ValidationError(_("cmi must be an object of element names to values."))
    if len(data) > MAX_KEYS:
        raise ValidationError(_("Too many CMI elements."))
    out: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(key, str) or len(key) > 255:
            raise ValidationError(_("A CMI element name is invalid."))
        if value == {} or value == []:
            continue  # an empty collection, as scorm-again flattens it
        element = next((e for e in table if e.pattern.match(key)), None)
        if element is None:
            raise ValidationError(_("Unknown CMI element: %(k)s") % {"k": key[:80]})
        if not isinstance(value, str):
            raise ValidationError(_("%(k)s: the value must be text.") % {"k": key[:80]})
        if element.check is None:
            continue
        indexes = [int(i) for i in re.findall(r"\.(\d+)\.", key)]
        if any(i >= MAX_INDEX for i in indexes):
            raise ValidationError(_("%(k)s: too many entries.") % {"k": key[:80]})
        problem = element.check(value)
        if problem:
            raise ValidationError(f"{key[:80]}: {problem}")
        out[key] = value
    return out


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _seconds_12(value: str) -> float:
    try:
        h, m, s = value.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    except ValueError:
        return 0.0


def _seconds_iso(value: str) -> float:
    match = DURATION.match(value or "")
    if not match:
        return 0.0
    # Months before T are months, after T minutes: split on T to tell them apart.
    date_part, _sep, time_part = value[1:].partition("T")
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)([YMD])", date_part):
        total += float(number) * {"Y": 365 * 86400, "M": 30 * 86400, "D": 86400}[unit]
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)([HMS])", time_part):
        total += float(number) * {"H": 3600, "M": 60, "S": 1}[unit]
    return total


def _interactions(kind: str, cmi: dict[str, str]) -> dict[int, dict[str, Any]]:
    response_key = "student_response" if kind == PackageKind.SCORM12 else "learner_response"
    rows: dict[int, dict[str, Any]] = defaultdict(lambda: {"correct": {}})
    for key, value in cmi.items():
        match = re.match(r"^cmi\.interactions\.(\d+)\.(.+)$", key)
        if not match:
            continue
        index, rest = int(match.group(1)), match.group(2)
        row = rows[index]
        pattern = re.match(r"^correct_responses\.(\d+)\.pattern$", rest)
        if pattern:
            row["correct"][int(pattern.group(1))] = value
        elif rest == response_key:
            row["response"] = value
        elif rest in ("id", "type", "result", "weighting", "latency", "description"):
            row[rest] = value
        elif rest in ("time", "timestamp"):
            row["timestamp"] = value
    return rows


class SessionReplaced(APIException):
    """A commit from a session a newer launch of the same attempt has replaced (409)."""

    status_code = 409
    default_detail = gettext_lazy(
        "This session of the attempt was replaced by a newer launch; its commit is not kept."
    )
    default_code = "conflict"


@transaction.atomic
def attempt_commit(
    *, user: Any, attempt_id: int, data: Any, session: int | None = None
) -> PackageAttempt:
    """Store a commit of ``attempt_id`` (the caller's own; else 404): the checked CMI
    elements over what the attempt had, the typed columns, the interactions; then the
    activity's completion. A bad element refuses the whole commit, nothing stored.

    ``session`` is the launch the commit comes from (the player's commit URL says it). A
    commit from an older session than the attempt's latest launch is refused whole
    (``SessionReplaced``, 409): the leaving page's last (keepalive) commit that arrives
    after the learner opened the SCO again would otherwise overwrite the state the new
    session started from and count the old session's time twice. A caller that names no
    session (a REST client) is not checked."""
    attempt = attempt_of(user=user, pk=attempt_id)
    attempt = (
        PackageAttempt.objects.select_for_update()
        .select_related("unit__package__activity__course")
        .get(pk=attempt.pk)
    )
    kind = attempt.unit.package.kind
    if kind not in TABLES:
        raise ValidationError(_("A cmi5 attempt reports through xAPI statements."))
    if session is not None and session != launch_session(attempt):
        raise SessionReplaced
    # A finished attempt still takes the commits of its session (Commit then Terminate);
    # once a newer attempt exists it is closed.
    if PackageAttempt.objects.filter(
        user=attempt.user_id, unit=attempt.unit_id, number__gt=attempt.number
    ).exists():
        raise ValidationError(_("This attempt is closed; a newer one exists."))
    cmi = {**attempt.cmi, **clean_cmi(kind, data)}
    attempt.cmi = cmi
    if kind == PackageKind.SCORM12:
        attempt.location = cmi.get("cmi.core.lesson_location", "")
        attempt.lesson_status = cmi.get("cmi.core.lesson_status", "")
        status = attempt.lesson_status
        attempt.completion_status = (
            "completed" if status in FINISHED_12 else "incomplete" if status else ""
        )
        attempt.success_status = status if status in ("passed", "failed") else ""
        raw, low, high = (cmi.get(f"cmi.core.score.{p}") for p in ("raw", "min", "max"))
        attempt.score_raw, attempt.score_min, attempt.score_max = (
            _float(raw),
            _float(low),
            _float(high),
        )
        top = attempt.score_max if attempt.score_max else 100.0
        bottom = attempt.score_min or 0.0
        attempt.score_scaled = (
            (attempt.score_raw - bottom) / (top - bottom)
            if attempt.score_raw is not None and top > bottom
            else None
        )
        attempt.session_time = cmi.get("cmi.core.session_time", "")
        session = _seconds_12(attempt.session_time)
        attempt.exit = cmi.get("cmi.core.exit", "")
    else:
        attempt.location = cmi.get("cmi.location", "")
        attempt.completion_status = cmi.get("cmi.completion_status", "")
        attempt.success_status = cmi.get("cmi.success_status", "")
        attempt.score_raw = _float(cmi.get("cmi.score.raw"))
        attempt.score_min = _float(cmi.get("cmi.score.min"))
        attempt.score_max = _float(cmi.get("cmi.score.max"))
        attempt.score_scaled = _float(cmi.get("cmi.score.scaled"))
        attempt.session_time = cmi.get("cmi.session_time", "")
        session = _seconds_iso(attempt.session_time)
        attempt.exit = cmi.get("cmi.exit", "")
    attempt.suspend_data = cmi.get("cmi.suspend_data", "")
    # Session time is the time of this session so far: the total is what the earlier
    # sessions left plus it (kept apart in the JSON so repeated commits do not add twice).
    earlier = float(attempt.launch_data.get("earlier_seconds", 0)) if attempt.launch_data else 0
    attempt.total_seconds = earlier + session
    attempt.commits += 1
    if is_finished(attempt) and attempt.finished_at is None:
        attempt.finished_at = timezone.now()
    attempt.save()
    _store_interactions(attempt, kind, cmi)
    _complete_if_done(attempt)
    return attempt


def _store_interactions(attempt: PackageAttempt, kind: str, cmi: dict[str, str]) -> None:
    rows = _interactions(kind, cmi)
    existing = {i.index: i for i in attempt.interactions.all()}
    for index, row in sorted(rows.items()):
        if not row.get("id"):
            continue
        values = {
            "identifier": row["id"][:4000],
            "type": row.get("type", "")[:30],
            "description": row.get("description", "")[:500],
            "learner_response": row.get("response", ""),
            "correct_responses": [row["correct"][k] for k in sorted(row["correct"])],
            "result": row.get("result", "")[:30],
            "weighting": _float(row.get("weighting")),
            "latency": row.get("latency", "")[:40],
            "timestamp": row.get("timestamp", "")[:40],
        }
        if index in existing:
            item = existing[index]
            if any(getattr(item, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(item, k, v)
                item.save()
        else:
            PackageInteraction.objects.create(attempt=attempt, index=index, **values)


def _complete_if_done(attempt: PackageAttempt) -> None:
    """Complete the activity (classrooms' service: progress, course completion, the live
    grid) once every unit of the current version has an attempt that completes it."""
    from classrooms import services as classroom_services
    from classrooms.models import Completion

    package = attempt.unit.package
    if current_package(package.activity) != package:
        return
    units = list(package.units.all())
    done_units = set()
    attempts = PackageAttempt.objects.select_related("unit__package").filter(
        user=attempt.user, unit__package=package
    )
    # Done before: only attempts started since the last time count (a new attempt done
    # again records a re-completion; a later commit to an old attempt does not).
    last = (
        Completion.objects.filter(user=attempt.user, activity=package.activity)
        .values_list("last_completed_at", flat=True)
        .first()
    )
    if last is not None:
        attempts = attempts.filter(started_at__gt=last)
    for other in attempts:
        if unit_done(other):
            done_units.add(other.unit_id)
    if all(u.pk in done_units for u in units):
        classroom_services.activity_complete(
            user=attempt.user, activity=package.activity, source="package"
        )


def launch_cmi(attempt: PackageAttempt, *, resumed: bool, user: Any) -> dict[str, str]:
    """The flattened CMI the player loads into the runtime before the content starts."""
    kind = attempt.unit.package.kind
    cmi = dict(attempt.cmi) if resumed else {}
    if not resumed:
        attempt.cmi = {}
    name = getattr(user, "name", "") or user.get_username()
    if kind == PackageKind.SCORM12:
        cmi.update(
            {
                "cmi.core.student_id": str(user.pk),
                "cmi.core.student_name": name[:255],
                "cmi.core.entry": "resume" if resumed else "ab-initio",
                "cmi.core.credit": "credit",
                "cmi.core.total_time": _timespan_12(attempt.total_seconds if resumed else 0),
            }
        )
        cmi.pop("cmi.core.exit", None)
        cmi.pop("cmi.core.session_time", None)
    else:
        cmi.update(
            {
                "cmi.learner_id": str(user.pk),
                "cmi.learner_name": name[:250],
                "cmi.entry": "resume" if resumed else "ab-initio",
                "cmi.credit": "credit",
            }
        )
        cmi.pop("cmi.exit", None)
        cmi.pop("cmi.session_time", None)
    if attempt.unit.parameters or attempt.unit.launch_parameters:
        key = "cmi.launch_data"
        cmi[key] = attempt.unit.launch_parameters or attempt.unit.parameters
    return cmi


def _timespan_12(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:04d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


# -- the trainer's report --------------------------------------------------------------------
def interactions_report(*, activity: Any) -> list[dict[str, Any]]:
    """Per question (interaction id) of the activity's package, every version: how many
    answered, the counts of each answer, and the share of ``correct`` results."""
    rows = (
        PackageInteraction.objects.filter(attempt__unit__package__activity=activity)
        .select_related("attempt__unit")
        .order_by("attempt__unit__position", "index")
    )
    questions: dict[tuple[str, str], dict[str, Any]] = {}
    for item in rows:
        key = (item.attempt.unit.identifier, item.identifier)
        entry = questions.setdefault(
            key,
            {
                "unit": item.attempt.unit.title or item.attempt.unit.identifier,
                "id": item.identifier,
                "description": item.description,
                "type": item.type,
                "answers": Counter(),
                "total": 0,
                "correct": 0,
                "correct_responses": item.correct_responses,
            },
        )
        entry["total"] += 1
        entry["answers"][item.learner_response] += 1
        if item.result == "correct":
            entry["correct"] += 1
        if item.description and not entry["description"]:
            entry["description"] = item.description
    out = []
    for entry in questions.values():
        entry["correct_rate"] = (
            round(100 * entry["correct"] / entry["total"]) if entry["total"] else 0
        )
        entry["answers"] = entry["answers"].most_common()
        out.append(entry)
    return out


def interactions_csv(report: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["unit", "question", "description", "type", "answer", "count", "answered",
                     "correct", "correct rate %"])  # fmt: skip
    for q in report:
        for answer, count in q["answers"]:
            writer.writerow(
                [
                    spreadsheet_cell(q["unit"]),
                    spreadsheet_cell(q["id"]),
                    spreadsheet_cell(q["description"]),
                    q["type"],
                    spreadsheet_cell(answer),
                    count,
                    q["total"],
                    q["correct"],
                    q["correct_rate"],
                ]
            )
    return buffer.getvalue()


def launch_payload(request: Any, attempt: PackageAttempt, *, resumed: bool) -> dict[str, Any]:
    """What the player needs to start the runtime and frame the unit (a POST's answer)."""
    from django.urls import reverse

    unit = attempt.unit
    if unit.package.kind == PackageKind.CMI5:
        return _cmi5_payload(request, attempt, resumed=resumed)
    cmi = launch_cmi(attempt, resumed=resumed, user=request.user)
    # The earlier sessions' time, and the CMI the launch document's bridge answers from
    # before the player's first answer arrives (integrations/views.py puts it there).
    attempt.launch_data = {
        **(attempt.launch_data or {}),
        "earlier_seconds": attempt.total_seconds,
        "seed": cmi,
    }
    attempt.save(update_fields=["launch_data"])
    content = reverse("package-content", args=[content_token(attempt), unit.href])
    if unit.parameters:
        content += "?" + unit.parameters
    commit = reverse("api-package-attempt", args=[attempt.pk])
    return {
        "attempt": attempt.pk,
        "number": attempt.number,
        "resumed": resumed,
        "kind": unit.package.kind,
        "session": launch_session(attempt),
        "cmi": cmi,
        "content_url": content,
        "commit_url": f"{commit}?session={launch_session(attempt)}",
    }


def _cmi5_payload(request: Any, attempt: PackageAttempt, *, resumed: bool) -> dict[str, Any]:
    """A cmi5 AU's launch: its URL with the cmi5 query (integrations/cmi5.py), no runtime."""
    from django.urls import reverse

    from integrations import cmi5

    unit = attempt.unit
    base = f"{request.scheme}://{request.get_host()}"
    content = reverse("package-content", args=[content_token(attempt), unit.href])
    query = cmi5.launch_query(attempt=attempt, base=base, user=request.user)
    return {
        "attempt": attempt.pk,
        "number": attempt.number,
        "resumed": resumed,
        "kind": unit.package.kind,
        "session": launch_session(attempt),
        "cmi": {},
        "content_url": f"{content}?{query}",
        "commit_url": reverse("api-package-attempt", args=[attempt.pk]),
    }


def units_with_status(*, user: Any, package: Package) -> list[dict[str, Any]]:
    """The package's units with the learner's latest attempt at each (for the player)."""
    latest: dict[int, PackageAttempt] = {}
    for attempt in PackageAttempt.objects.select_related("unit__package").filter(
        user=user, unit__package=package
    ):
        latest[attempt.unit_id] = attempt  # ordered by number: the last one wins
    return [
        {
            "unit": unit,
            "attempt": latest.get(unit.pk),
            "done": bool(latest.get(unit.pk) and unit_done(latest[unit.pk])),
        }
        for unit in package.units.all()
    ]
