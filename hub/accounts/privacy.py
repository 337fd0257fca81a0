"""Privacy (issue 16): a person's data export, and erasure on request with an administrator's
approval.

The export walks every model with a foreign key to the user (whatever app it belongs to, so
a new app's rows are included without touching this file), writes them as JSON, and adds the
files those rows point at; secrets (password hashes, tokens, second-factor secrets) are left
out. Progress goes to the person's own topic ``hub.user.<id>`` as ``export.progress``.

Erasure anonymises the person's row in place, which becomes their tombstone identity:
attendance, completions, points and badges keep their counts (and every unique constraint
holds), messages and posts keep their place, shown as "Deleted user".
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub import audit
from hub.accounts.models import (
    DataExport,
    EmailAddressState,
    ErasureRequest,
    RecoveryCode,
    Role,
    TOTPDevice,
    User,
)

logger = logging.getLogger(__name__)

SECRET_FIELDS = {"password", "feed_token", "secret", "code_hash", "key", "token_hash", "p256dh"}
SKIPPED_MODELS = {
    "accounts.totpdevice",
    "accounts.recoverycode",
    "passkeys.passkey",
    "accounts.dataexport",
    "authtoken.token",
    "authtoken.tokenproxy",
    "audit.entry",
    "admin.logentry",
}
DELETED_NAME = "Deleted user"


# -- export ----------------------------------------------------------------------------------
def exports_of(*, user: User) -> list[DataExport]:
    return list(DataExport.objects.filter(user=user))


def _publish(export: DataExport) -> None:
    from hub.realtime import publish

    publish(
        f"hub.user.{export.user_id}",
        "export.progress",
        {"id": export.pk, "status": export.status, "progress": export.progress},
    )


@transaction.atomic
def export_request(*, user: User, request: Any = None) -> DataExport:
    from hub.accounts.tasks import build_data_export

    export = DataExport.objects.create(user=user)
    audit.record(action="privacy.export_requested", actor=user, target=user, request=request)
    transaction.on_commit(lambda: build_data_export.enqueue(export.pk))
    _publish(export)
    return export


def _user_links() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with a foreign key (or one-to-one) to the user, and those fields."""
    found = []
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in SKIPPED_MODELS:
            continue
        fields = [
            f.name
            for f in model._meta.get_fields()
            if isinstance(f, models.ForeignKey) and f.related_model is User and f.concrete
        ]
        if fields:
            found.append((model, fields))
    return sorted(found, key=lambda pair: pair[0]._meta.label_lower)


def _row(obj: models.Model) -> dict[str, Any]:
    data: dict[str, Any] = {"id": obj.pk}
    for field in obj._meta.concrete_fields:
        if field.name in SECRET_FIELDS or field.primary_key:
            continue
        value = field.value_from_object(obj)
        if isinstance(field, models.FileField):
            value = value.name if value else ""
        data[field.name] = value
    return data


def export_build(*, export_id: int) -> DataExport:
    """Build the zip (the job's body). Safe to run again: a finished export is left alone."""
    export = DataExport.objects.select_related("user").get(pk=export_id)
    if export.status == DataExport.Status.READY:
        return export
    user = export.user
    export.status = DataExport.Status.RUNNING
    export.progress = 0
    export.save(update_fields=["status", "progress"])
    _publish(export)
    links = _user_links()
    buffer = io.BytesIO()
    files: set[str] = set()
    try:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            profile = _row(user)
            profile["roles"] = sorted(user.role_codes)
            archive.writestr("profile.json", json.dumps(profile, cls=DjangoJSONEncoder, indent=2))
            if user.avatar:
                files.add(user.avatar.name)
            for n, (model, fields) in enumerate(links, start=1):
                q = models.Q()
                for name in fields:
                    q |= models.Q(**{name: user})
                rows = []
                for obj in model._default_manager.filter(q).iterator(chunk_size=500):
                    rows.append(_row(obj))
                    for field in obj._meta.concrete_fields:
                        if isinstance(field, models.FileField):
                            value = field.value_from_object(obj)
                            if value:
                                files.add(value.name)
                if rows:
                    archive.writestr(
                        f"data/{model._meta.label_lower}.json",
                        json.dumps(rows, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
                    )
                progress = int(90 * n / max(len(links), 1))
                if progress - export.progress >= 10:
                    export.progress = progress
                    DataExport.objects.filter(pk=export.pk).update(progress=progress)
                    _publish(export)
            from django.core.files.storage import default_storage

            for name in sorted(files):
                try:
                    with default_storage.open(name, "rb") as handle:
                        archive.writestr(f"files/{name}", handle.read())
                except OSError:
                    logger.warning("export %s: file %s is missing", export.pk, name)
            archive.writestr(
                "README.txt",
                "Your data in Lyceum: profile.json, data/<kind>.json (rows that name you), "
                "files/ (your uploads).\n",
            )
    except Exception:
        logger.exception("export %s failed", export.pk)
        export.status = DataExport.Status.FAILED
        export.save(update_fields=["status"])
        _publish(export)
        return export
    export.file.save(f"export-{export.pk}.zip", ContentFile(buffer.getvalue()), save=False)
    export.status = DataExport.Status.READY
    export.progress = 100
    export.finished_at = timezone.now()
    export.save(update_fields=["file", "status", "progress", "finished_at"])
    _publish(export)
    return export


def export_for_download(*, user: User, export_id: int, request: Any = None) -> DataExport | None:
    export = DataExport.objects.filter(
        pk=export_id, user=user, status=DataExport.Status.READY
    ).first()
    if export is not None:
        audit.record(action="privacy.export_downloaded", actor=user, target=export, request=request)
    return export


# -- erasure ---------------------------------------------------------------------------------
def erasure_pending(*, user: User) -> ErasureRequest | None:
    return ErasureRequest.objects.filter(user=user, status=ErasureRequest.Status.PENDING).first()


@transaction.atomic
def erasure_request(*, user: User, reason: str = "", request: Any = None) -> ErasureRequest:
    try:
        with transaction.atomic():
            erasure = ErasureRequest.objects.create(
                user=user, username=user.username, reason=reason[:1000]
            )
    except IntegrityError:
        raise ValidationError(_("Your request is already waiting for approval.")) from None
    audit.record(action="privacy.erasure_requested", actor=user, target=user, request=request)
    return erasure


@transaction.atomic
def erasure_decide(
    *, actor: User, erasure: ErasureRequest, approve: bool, request: Any = None
) -> None:
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only an administrator decides on erasure."))
    erasure = ErasureRequest.objects.select_for_update().get(pk=erasure.pk)
    if erasure.status != ErasureRequest.Status.PENDING:
        raise ValidationError(_("This request was already decided."))
    if approve and erasure.user_id == actor.pk:
        raise ValidationError(_("Another administrator must approve your own erasure."))
    erasure.decided_by = actor
    erasure.decided_at = timezone.now()
    erasure.status = ErasureRequest.Status.DONE if approve else ErasureRequest.Status.REFUSED
    erasure.save()
    if approve and erasure.user is not None:
        user_erase(actor=actor, user=erasure.user, request=request)
    else:
        audit.record(action="privacy.erasure_refused", actor=actor, target=erasure, request=request)


@transaction.atomic
def user_erase(*, actor: User, user: User, request: Any = None) -> None:
    """Anonymise ``user`` in place (the tombstone identity), end their access everywhere."""
    from django.contrib.sessions.models import Session  # noqa: F401
    from rest_framework.authtoken.models import Token

    from hub.accounts.lifecycle import sessions_end
    from hub.realtime import disconnect_user

    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied
    old_avatar = user.avatar.name if user.avatar else ""
    exports = [e.file.name for e in DataExport.objects.filter(user=user) if e.file]
    user.username = f"deleted-{user.pk}"
    user.display_name = DELETED_NAME
    user.first_name = user.last_name = user.email = user.bio = ""
    user.avatar = None
    user.email_visible = False
    user.time_zone = ""
    user.is_active = False
    user.is_staff = user.is_superuser = False
    user.set_unusable_password()
    user.save()
    Token.objects.filter(user=user).delete()
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    user.passkeys.all().delete()
    EmailAddressState.objects.filter(user=user).delete()
    DataExport.objects.filter(user=user).delete()
    ErasureRequest.objects.filter(user=user).update(username=user.username)
    sessions_end(user=user)
    disconnect_user(user_id=user.pk)
    audit.record(action="privacy.erased", actor=actor, target=user, request=request)

    def remove_files() -> None:
        from django.core.files.storage import default_storage

        for name in [old_avatar, *exports]:
            if name:
                default_storage.delete(name)

    transaction.on_commit(remove_files)
