"""Checking an uploaded SCORM 1.2, SCORM 2004 or cmi5 package (a zip) before anything of it
is kept: size, entry names (no traversal, no absolute path, no link), the zip bomb ratio,
and a manifest whose launch files are in the package.

``unpack`` writes a checked package under ``INTEGRATIONS_PACKAGE_ROOT``; the activity, its
serving and the runtime are in ``integrations/scorm.py`` (docs/INTEGRATIONS.md).
"""

from __future__ import annotations

import posixpath
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.etree import ElementTree as ET

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_ZIP_BYTES = 200 * 1024 * 1024
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
MAX_ENTRIES = 5000
MAX_RATIO = 100  # uncompressed / compressed, per entry (text compresses ~10x)
MAX_MANIFEST_BYTES = 2 * 1024 * 1024


@dataclass
class Sco:
    identifier: str
    title: str
    href: str
    parameters: str = ""  # SCORM: the item's ``parameters`` / the href's query
    move_on: str = ""  # cmi5 only
    mastery_score: float | None = None
    launch_parameters: str = ""


@dataclass
class PackageInfo:
    kind: str  # "scorm12" | "scorm2004" | "cmi5"
    title: str
    edition: str = ""
    scos: list[Sco] = field(default_factory=list)
    sequencing: bool = False
    course_id: str = ""  # cmi5


def _limit(name: str, default: int) -> int:
    return int(getattr(settings, f"INTEGRATIONS_PACKAGE_{name}", default))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def safe_name(name: str) -> bool:
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        return False
    if len(name) > 1 and name[1] == ":":  # C:...
        return False
    parts = name.split("/")
    return ".." not in parts and "." not in parts[:-1]


def _check_entries(archive: zipfile.ZipFile) -> set[str]:
    infos = archive.infolist()
    if len(infos) > _limit("MAX_ENTRIES", MAX_ENTRIES):
        raise ValidationError(_("The package has too many files."))
    total = 0
    names = set()
    for info in infos:
        if not safe_name(info.filename):
            raise ValidationError(
                _("The package has a file outside its folder: %(name)s")
                % {"name": info.filename[:100]}
            )
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ValidationError(
                _("The package has a link: %(name)s") % {"name": info.filename[:100]}
            )
        if info.flag_bits & 0x1:
            raise ValidationError(_("The package has an encrypted file."))
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ValidationError(_("The package looks like a zip bomb."))
        if not info.is_dir():
            names.add(info.filename)
    if total > _limit("MAX_UNPACKED_BYTES", MAX_UNPACKED_BYTES):
        raise ValidationError(_("The package is too large once unpacked."))
    return names


def _read_manifest(archive: zipfile.ZipFile, name: str) -> ET.Element:
    limit = MAX_MANIFEST_BYTES
    with archive.open(name) as f:
        data = f.read(limit + 1)  # the declared size may lie: read no more than the limit
    if len(data) > limit:
        raise ValidationError(_("The manifest is too large."))
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise ValidationError(_("The manifest may not declare a DTD or entities."))
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValidationError(_("The manifest is not valid XML: %(e)s") % {"e": exc}) from exc


def _href_in(names: set[str], base: str, href: str) -> str:
    path = href.split("?", 1)[0].split("#", 1)[0]
    full = posixpath.normpath(posixpath.join(base, path)) if base else posixpath.normpath(path)
    if not safe_name(full) or full not in names:
        raise ValidationError(
            _("The manifest launches a file the package lacks: %(f)s") % {"f": href[:100]}
        )
    return full


def _scorm(root: ET.Element, names: set[str]) -> PackageInfo:
    version = ""
    for el in root.iter():
        if _local(el.tag) == "schemaversion" and el.text:
            version = el.text.strip()
            break
    if version == "1.2":
        kind, edition = "scorm12", "1.2"
    elif version.startswith("2004") or version == "CAM 1.3":
        kind, edition = "scorm2004", version
    else:
        raise ValidationError(_("Unknown SCORM version: %(v)s") % {"v": version[:40] or "?"})
    resources = {}
    for el in root.iter():
        if _local(el.tag) == "resource":
            scorm_type = next(
                (v for k, v in el.attrib.items() if _local(k).lower() == "scormtype"), ""
            )
            base = next((v for k, v in el.attrib.items() if _local(k) == "base"), "")
            resources[el.get("identifier")] = (scorm_type.lower(), el.get("href"), base)
    title = ""
    scos = []
    sequencing = False
    for el in root.iter():
        name = _local(el.tag)
        if name == "organization" and not title:
            title = next((c.text or "" for c in el if _local(c.tag) == "title"), "")
        if name == "sequencing":
            sequencing = True
        if name == "item" and el.get("identifierref"):
            scorm_type, href, base = resources.get(el.get("identifierref"), ("", None, ""))
            if scorm_type != "sco" or not href:
                continue
            item_title = next((c.text or "" for c in el if _local(c.tag) == "title"), "")
            full = _href_in(names, base, href)
            query = href.split("?", 1)[1] if "?" in href else ""
            parameters = (el.get("parameters") or "").lstrip("?")
            scos.append(
                Sco(
                    el.get("identifier") or "",
                    item_title.strip(),
                    full,
                    "&".join(p for p in (query, parameters) if p),
                )
            )
    if not scos:
        raise ValidationError(_("The manifest lists no SCO to launch."))
    return PackageInfo(kind, title.strip(), edition, scos, sequencing)


CMI5_MOVE_ON = (
    "Passed",
    "Completed",
    "CompletedAndPassed",
    "CompletedOrPassed",
    "NotApplicable",
)


def _cmi5(root: ET.Element, names: set[str]) -> PackageInfo:
    title = course_id = ""
    scos = []
    for el in root.iter():
        name = _local(el.tag)
        if name == "course" and not course_id:
            course_id = el.get("id") or ""
        if name == "course" and not title:
            title = "".join(
                (s.text or "") for t in el if _local(t.tag) == "title" for s in t
            ).strip()
        if name == "au":
            url = next((c.text or "" for c in el if _local(c.tag) == "url"), "").strip()
            au_title = "".join(
                (s.text or "") for t in el if _local(t.tag) == "title" for s in t
            ).strip()
            launch = next(
                (c.text or "" for c in el if _local(c.tag) == "launchParameters"), ""
            ).strip()
            try:
                mastery = float(el.get("masteryScore")) if el.get("masteryScore") else None
            except ValueError as exc:
                raise ValidationError(_("The masteryScore of an AU is not a number.")) from exc
            move_on = el.get("moveOn") or "NotApplicable"
            if move_on not in CMI5_MOVE_ON:
                raise ValidationError(_("Unknown moveOn: %(v)s") % {"v": move_on[:40]})
            if "://" not in url:  # a local file; an absolute URL is content hosted elsewhere
                url = _href_in(names, "", url)
            elif not url.startswith("https://"):
                raise ValidationError(_("An AU's URL must be https."))
            scos.append(Sco(el.get("id") or "", au_title, url, "", move_on, mastery, launch[:1000]))
    if not scos:
        raise ValidationError(_("The course structure lists no assignable unit."))
    return PackageInfo("cmi5", title, "", scos, course_id=course_id)


def inspect_package(upload: IO[bytes], *, size: int | None = None) -> PackageInfo:
    """What the package is, or a ``ValidationError`` that says what is wrong with it."""
    if size is not None and size > _limit("MAX_ZIP_BYTES", MAX_ZIP_BYTES):
        raise ValidationError(_("The package is too large."))
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationError(_("This is not a zip file.")) from exc
    with archive:
        names = _check_entries(archive)
        if "imsmanifest.xml" in names:
            return _scorm(_read_manifest(archive, "imsmanifest.xml"), names)
        if "cmi5.xml" in names:
            return _cmi5(_read_manifest(archive, "cmi5.xml"), names)
    raise ValidationError(_("No imsmanifest.xml (SCORM) or cmi5.xml (cmi5) at the top."))


def package_root() -> Path:
    """Where unpacked packages live: outside MEDIA_ROOT, never served by /media/."""
    configured = getattr(settings, "INTEGRATIONS_PACKAGE_ROOT", None)
    return Path(configured) if configured else Path(settings.MEDIA_ROOT).parent / "packages"


def unpack(upload: IO[bytes], folder: str) -> int:
    """Write the package (already checked by ``inspect_package``) into ``folder`` under
    the package root; the bytes written. Each entry is read with a cap of its declared
    size, so a zip that lies about sizes cannot write more than it was checked for."""
    target = package_root() / folder
    target.mkdir(parents=True, exist_ok=False)
    written = 0
    upload.seek(0)
    with zipfile.ZipFile(upload) as archive:
        names = _check_entries(archive)
        for info in archive.infolist():
            if info.is_dir() or info.filename not in names:
                continue
            path = target.joinpath(*info.filename.split("/"))
            if target not in path.parents:  # _safe_name refused this; belt and braces
                raise ValidationError(_("The package has a file outside its folder."))
            path.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(path, "wb") as out:
                left = info.file_size
                while True:
                    chunk = source.read(min(65536, left + 1))
                    if not chunk:
                        break
                    left -= len(chunk)
                    if left < 0:
                        raise ValidationError(_("The package looks like a zip bomb."))
                    out.write(chunk)
                    written += len(chunk)
    return written
