"""CSV bulk import and update of people: a dry-run preview with row-level errors, then one
transaction that applies every row or none, with live progress on ``identity.import.<id>``.

Columns (a header row names them, any order; ``email`` is required):
``email, username, first_name, last_name, display_name, roles, team, manager, active``.
``roles`` lists role codes separated by ``;`` or spaces (replaces the person's roles);
``team`` names a team of the space (unknown teams are row errors unless the import may
create them); ``manager`` is the e-mail of a person already in the space or in the file;
``active`` is yes/no. Empty cells leave a field as it is. The file must be UTF-8 (a BOM is
fine). Writes are in bulk: the number of queries does not grow with the number of rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from hub.accounts.models import Role, RoleGrant, Space, SpaceMembership, Team
from identity import hooks, people
from identity.models import ImportJob, ReportsTeam

User = get_user_model()

COLUMNS = (
    "email",
    "username",
    "first_name",
    "last_name",
    "display_name",
    "roles",
    "team",
    "manager",
    "active",
)
MAX_ROWS = 50_000
MAX_BYTES = 10 * 1024 * 1024
BATCH = 500
YES = {"yes", "y", "true", "1", "oui"}
NO = {"no", "n", "false", "0", "non"}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (encoding, header, size)."""


@dataclass
class Row:
    line: int
    email: str
    values: dict[str, str]
    roles: set[str] | None = None
    active: bool | None = None


@dataclass
class Plan:
    rows: list[Row] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    new: int = 0
    updated: int = 0
    new_teams: set[str] = field(default_factory=set)

    @property
    def summary(self) -> dict[str, Any]:
        return {
            "rows": len(self.rows),
            "new": self.new,
            "updated": self.updated,
            "new_teams": sorted(self.new_teams),
            "errors": len(self.errors),
        }


def read_csv(raw: bytes) -> list[tuple[int, dict[str, str]]]:
    if len(raw) > MAX_BYTES:
        raise ImportFileError(_("The file is larger than 10 MB."))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            _("The file is not UTF-8 (line %(line)d). Save it as CSV UTF-8 and try again.")
            % {"line": line}
        ) from exc
    if "\x00" in text:
        raise ImportFileError(_("The file is not a CSV text file."))
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration as exc:
        raise ImportFileError(_("The file is empty.")) from exc
    if "email" not in header:
        raise ImportFileError(_("The first row must name the columns, with an 'email' column."))
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        raise ImportFileError(
            _("Unknown column: %(name)s. Columns: %(all)s.")
            % {"name": unknown[0], "all": ", ".join(COLUMNS)}
        )
    if len(set(header)) != len(header):
        raise ImportFileError(_("A column is named twice."))
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportFileError(_("The file has more than %(n)d rows.") % {"n": MAX_ROWS})
        record = {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)}
        rows.append((reader.line_num, record))
    return rows


def plan(*, space: Space, raw: bytes, create_teams: bool = False) -> Plan:
    """Read and check every row without writing anything."""
    result = Plan()
    records = read_csv(raw)

    def error(line: int, column: str, message: str) -> None:
        result.errors.append({"line": line, "column": column, "message": str(message)})

    emails = {r["email"].lower() for _line, r in records if r.get("email")}
    existing = {
        e: (pk, username)
        for e, pk, username in User.objects.annotate(e=Lower("email"))
        .filter(e__in=emails)
        .values_list("e", "pk", "username")
    }
    members = set(
        User.objects.filter(space_memberships__space=space)
        .annotate(e=Lower("email"))
        .values_list("e", flat=True)
    )
    teams = {
        n.lower()
        for n in Team.objects.filter(space=space, reports_of__isnull=True).values_list(
            "name", flat=True
        )
    }
    usernames = {r["username"].lower() for _line, r in records if r.get("username")}
    taken = {
        (u.lower(), (e or "").lower())
        for u, e in User.objects.annotate(u=Lower("username"))
        .filter(u__in=usernames)
        .values_list("username", "email")
    }
    seen: dict[str, int] = {}
    seen_usernames: dict[str, int] = {}
    for line, record in records:
        email = record.get("email", "").lower()
        row = Row(line=line, email=email, values=record)
        ok = True
        try:
            validate_email(email)
        except ValidationError:
            error(line, "email", _("Not an e-mail address: %(v)s") % {"v": email or "—"})
            ok = False
        if email in seen:
            error(line, "email", _("%(v)s is also on line %(n)d.") % {"v": email, "n": seen[email]})
            ok = False
        seen.setdefault(email, line)
        username = record.get("username", "")
        if username:
            low = username.lower()
            if len(username) > 150:
                error(line, "username", _("Longer than 150 characters."))
                ok = False
            elif low in seen_usernames:
                error(line, "username", _("Also on line %(n)d.") % {"n": seen_usernames[low]})
                ok = False
            elif any(u == low and e != email for u, e in taken):
                error(line, "username", _("Taken by another person."))
                ok = False
            seen_usernames.setdefault(low, line)
        for column in ("first_name", "last_name", "display_name"):
            if len(record.get(column, "")) > 150:
                error(line, column, _("Longer than 150 characters."))
                ok = False
        if record.get("roles"):
            codes = {c.strip().lower() for c in record["roles"].replace(";", " ").split()}
            bad = sorted(codes - set(Role.values))
            if bad:
                error(line, "roles", _("Unknown role: %(v)s") % {"v": bad[0]})
                ok = False
            row.roles = codes
        if record.get("active"):
            flag = record["active"].lower()
            if flag not in YES | NO:
                error(line, "active", _("Write yes or no."))
                ok = False
            row.active = flag in YES
        team = record.get("team", "")
        if team:
            if len(team) > 120:
                error(line, "team", _("Longer than 120 characters."))
                ok = False
            elif team.lower() not in teams:
                if create_teams:
                    result.new_teams.add(team)
                else:
                    error(line, "team", _("No team %(v)s in this space.") % {"v": team})
                    ok = False
        manager = record.get("manager", "").lower()
        if manager:
            if manager == email:
                error(line, "manager", _("A person cannot be their own manager."))
                ok = False
            elif manager not in members and manager not in emails:
                error(line, "manager", _("No one with the e-mail %(v)s here.") % {"v": manager})
                ok = False
        if ok:
            result.rows.append(row)
            if email in existing:
                result.updated += 1
            else:
                result.new += 1
    return result


def job_preview(
    *, space: Space, actor: Any, raw: bytes, filename: str, create_teams: bool
) -> ImportJob:
    """A dry run, kept so the same file can be applied after a look at the preview."""
    people_check_admin(actor, space)
    result = plan(space=space, raw=raw, create_teams=create_teams)
    return ImportJob.objects.create(
        space=space,
        created_by=actor,
        filename=filename[:255],
        content=raw.decode("utf-8-sig"),
        total=len(result.rows) + len({e["line"] for e in result.errors}),
        summary={**result.summary, "create_teams": create_teams},
        errors=result.errors[:1000],
    )


def people_check_admin(actor: Any, space: Space) -> None:
    from identity.sso import check_can_manage

    check_can_manage(actor, space)


def job_apply(
    *, job: ImportJob, actor: Any, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Apply every row in one transaction, or nothing (any row error: ``ValidationError``)."""
    people_check_admin(actor, job.space)
    if job.status != ImportJob.Status.PREVIEWED:
        raise ValidationError(_("This import has already run."))
    raw = job.content.encode()
    result = plan(space=job.space, raw=raw, create_teams=bool(job.summary.get("create_teams")))
    if result.errors:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, errors=result.errors[:1000]
        )
        raise ValidationError(
            _("%(n)d rows have errors: nothing was changed.")
            % {"n": len({e["line"] for e in result.errors})}
        )
    summary = _apply(job=job, actor=actor, result=result, progress=progress)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE, processed=len(result.rows), summary=summary
    )
    return summary


@transaction.atomic
def _apply(
    *, job: ImportJob, actor: Any, result: Plan, progress: Callable[[int, int], None] | None
) -> dict[str, Any]:
    space = job.space
    rows = result.rows
    total = len(rows)
    by_email = {
        u.email.lower(): u
        for u in User.objects.annotate(e=Lower("email")).filter(e__in=[r.email for r in rows])
    }
    # 1. People: new ones in bulk, changed ones in bulk.
    new_users, changed = [], []
    for row in rows:
        v = row.values
        user = by_email.get(row.email)
        if user is None:
            user = User(
                username=v.get("username") or row.email,
                email=row.email,
                first_name=v.get("first_name", ""),
                last_name=v.get("last_name", ""),
                display_name=v.get("display_name", ""),
                is_active=row.active if row.active is not None else True,
            )
            user.set_unusable_password()
            new_users.append(user)
            by_email[row.email] = user
            continue
        dirty = False
        for column in ("username", "first_name", "last_name", "display_name"):
            if v.get(column) and getattr(user, column) != v[column]:
                setattr(user, column, v[column])
                dirty = True
        if row.active is True and not user.is_active:
            user.is_active, dirty = True, True
        if dirty:
            changed.append(user)
    done = 0
    for start in range(0, len(new_users), BATCH):
        User.objects.bulk_create(new_users[start : start + BATCH])
        done += len(new_users[start : start + BATCH])
        if progress:
            progress(done // 2, total)
    if changed:
        User.objects.bulk_update(
            changed,
            ["username", "first_name", "last_name", "display_name", "is_active"],
            batch_size=BATCH,
        )
    if len(new_users) and not new_users[0].pk:  # a backend without RETURNING
        fresh = {
            u.email.lower(): u
            for u in User.objects.annotate(e=Lower("email")).filter(
                e__in=[u.email for u in new_users]
            )
        }
        by_email.update(fresh)
    users = [by_email[r.email] for r in rows]
    ids = [u.pk for u in users]
    # 2. Membership of the space; roles.
    SpaceMembership.objects.bulk_create(
        [SpaceMembership(space=space, user_id=pk) for pk in ids],
        ignore_conflicts=True,
        batch_size=BATCH,
    )
    with_roles = [(u, r.roles) for u, r in zip(users, rows, strict=True) if r.roles is not None]
    new_ids = {u.pk for u in new_users}
    with_roles += [
        (u, {Role.LEARNER})
        for u, r in zip(users, rows, strict=True)
        if r.roles is None and u.pk in new_ids
    ]
    if with_roles:
        wanted = {(u.pk, role) for u, roles in with_roles for role in roles}
        have = set(
            RoleGrant.objects.filter(user_id__in=[u.pk for u, _r in with_roles]).values_list(
                "user_id", "role"
            )
        )
        stale = have - wanted
        for uid, role in stale:
            RoleGrant.objects.filter(user_id=uid, role=role).delete()
        RoleGrant.objects.bulk_create(
            [RoleGrant(user_id=uid, role=role) for uid, role in wanted - have],
            ignore_conflicts=True,
            batch_size=BATCH,
        )
    if progress:
        progress(int(total * 0.6), total)
    # 3. Teams.
    through = Team.members.through
    plain = {t.name.lower(): t for t in Team.objects.filter(space=space, reports_of__isnull=True)}
    for name in sorted(result.new_teams):
        if name.lower() not in plain:
            plain[name.lower()] = Team.objects.create(space=space, name=name, manager=actor)
    with_team = [
        (u, plain[r.values["team"].lower()])
        for u, r in zip(users, rows, strict=True)
        if r.values.get("team")
    ]
    if with_team:
        # A person has one team from the file; SCIM groups and reports teams stay.
        through.objects.filter(
            user_id__in=[u.pk for u, _t in with_team],
            team_id__in=[t.pk for t in plain.values()],
            team__scim__isnull=True,
        ).delete()
        through.objects.bulk_create(
            [through(user_id=u.pk, team_id=t.pk) for u, t in with_team],
            ignore_conflicts=True,
            batch_size=BATCH,
        )
    if progress:
        progress(int(total * 0.8), total)
    # 4. Managers: each person in their manager's reports team.
    if any(r.values.get("manager") for r in rows):
        manager_emails = {r.values["manager"].lower() for r in rows if r.values.get("manager")}
        managers = {
            u.email.lower(): u
            for u in User.objects.annotate(e=Lower("email")).filter(
                e__in=manager_emails, space_memberships__space=space
            )
        }
        managers.update({e: by_email[e] for e in manager_emails if e in by_email})
        reports = {
            t.manager_id: t for t in Team.objects.filter(space=space, reports_of__isnull=False)
        }
        for manager in {m.pk: m for m in managers.values()}.values():
            if manager.pk not in reports:
                team = Team.objects.create(
                    space=space, manager=manager, name=people.reports_team_name(manager)
                )
                ReportsTeam.objects.create(team=team)
                reports[manager.pk] = team
        pairs = [
            (u, managers[r.values["manager"].lower()])
            for u, r in zip(users, rows, strict=True)
            if r.values.get("manager")
        ]
        through.objects.filter(
            user_id__in=[u.pk for u, _m in pairs],
            team_id__in=[t.pk for t in reports.values()],
        ).delete()
        through.objects.bulk_create(
            [through(user_id=u.pk, team_id=reports[m.pk].pk) for u, m in pairs],
            ignore_conflicts=True,
            batch_size=BATCH,
        )
    # 5. Deactivations go through the account life cycle (sessions, tokens, sockets end).
    for user, row in zip(users, rows, strict=True):
        if row.active is False and user.pk not in new_ids and user.is_active:
            hooks.deactivate(user=user, actor=actor, reason="csv")
    summary = {**result.summary, "applied": total}
    hooks.audit(
        action="identity.csv_import",
        actor=actor,
        target=job,
        space=space,
        details={"file": job.filename, **summary},
    )
    if progress:
        progress(total, total)
    return summary
