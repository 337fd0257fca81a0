"""Uploaded files: what their bytes are, where they are stored, and who may read them.

One module for every app's uploads:

- ``sniff(head)``: the type a file's first bytes say it is (the client's Content-Type and
  extension are the uploader's word; the bytes decide), ``check_image`` (a raster image
  Pillow reads, within ``LYCEUM_MAX_IMAGE_PIXELS``: a 17 KB PNG can declare 144 megapixels).
- ``RandomName(prefix)``: the ``upload_to`` of every private kind: an unguessable stored
  name; the original name is kept on the row, for display and the download's file name.
- ``register(prefix, reader)``: each app says, for the files under its prefix, who may read
  one (its own selectors: conversation membership, forum access, ...), checked on every
  request, so access ends when membership does. ``register_public`` marks brand assets
  (space logos, badge images) that anyone may fetch.
- ``media`` (the view at ``MEDIA_URL``): the permission check, then the bytes with
  ``nosniff``, a ``sandbox`` CSP, ``Content-Disposition: attachment`` unless the sniffed
  type is a safe inline one, and single Range requests (206/416) for audio and video
  seeking. With ``LYCEUM_FILE_ACCEL`` set, the front proxy sends the bytes instead
  (``X-Accel-Redirect`` for nginx, ``X-Sendfile`` for Apache/lighttpd): docs/FILES.md.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import re
import secrets
import warnings
from collections.abc import AsyncIterator, Callable
from typing import IO, Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.deconstruct import deconstructible
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

# -- what the bytes are ----------------------------------------------------------------------
# (offset, magic, type). Order matters where one format contains another (RIFF).
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
    (0, b"OggS", "audio/ogg"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\xff\xfb", "audio/mpeg"),
    (0, b"\xff\xf3", "audio/mpeg"),
    (0, b"\xff\xf2", "audio/mpeg"),
    (0, b"PK\x03\x04", "application/zip"),
    # Programs: never "text", whatever else their first bytes look like.
    (0, b"MZ", "application/x-msdownload"),
    (0, b"\x7fELF", "application/x-executable"),
    (0, b"\xcf\xfa\xed\xfe", "application/x-mach-binary"),
    (0, b"\xca\xfe\xba\xbe", "application/java-vm"),
)
# Bytes that never occur in text (the WHATWG MIME sniffing standard's "binary data bytes").
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
SNIFF_BYTES = 512

# Served inline (shown in the page or the browser's own viewer); anything else is a
# download. Never HTML, SVG, XML or PDF (the PDF viewer cannot run in a sandboxed document).
INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "audio/mp4",
        "video/mp4",
        "video/webm",
    }
)
RASTER_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "video/webm": "webm",
    "video/mp4": "mp4",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "application/zip": "zip",
    "text/plain": "txt",
}


def sniff(head: bytes) -> str | None:
    """The content type a file's first bytes (``SNIFF_BYTES`` of them) show, or ``None``.

    Text is anything without the bytes that never occur in text: an HTML or SVG page is
    *text* here, served as a text download, never as a page.
    """
    if head[8:12] in (b"WEBP", b"WAVE") and head.startswith(b"RIFF"):
        return "image/webp" if head[8:12] == b"WEBP" else "audio/wav"
    if head[4:8] == b"ftyp":
        return "audio/mp4" if head[8:11] == b"M4A" else "video/mp4"
    for offset, magic, kind in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return kind
    if head and not _BINARY.search(head):
        return "text/plain"  # in whatever encoding: it is only ever a download
    return None


def read_head(file: Any) -> bytes:
    """The first bytes of an uploaded (or stored) file, leaving its position at the start."""
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    return head.encode() if isinstance(head, str) else head


def sniff_upload(file: Any) -> str | None:
    return sniff(read_head(file))


def max_image_pixels() -> int:
    return int(getattr(settings, "LYCEUM_MAX_IMAGE_PIXELS", 40_000_000))


def check_image(file: Any, *, field: str = "image") -> str:
    """Refuse anything but a PNG, JPEG, GIF or WebP that Pillow reads, of at most
    ``LYCEUM_MAX_IMAGE_PIXELS``; return its content type. Only the header is decoded to
    learn the size, so a decompression bomb is refused before it is expanded."""
    from PIL import Image, UnidentifiedImageError

    limit = max_image_pixels()
    too_large = ValidationError(
        {
            field: _("This image is too large: at most %(mp)s megapixels.")
            % {"mp": f"{limit / 1e6:g}"}
        }
    )
    try:
        file.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(file) as picture:
                width, height = picture.size
                kind = Image.MIME.get(picture.format or "", "")
                if width * height > limit:
                    raise too_large
                picture.verify()
    except Image.DecompressionBombError:
        raise too_large from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise ValidationError({field: _("The file is not a valid image.")}) from None
    finally:
        file.seek(0)
    if kind not in RASTER_IMAGE_TYPES:
        raise ValidationError({field: _("Use a PNG, JPEG, GIF or WebP image.")})
    return kind


def is_new_upload(value: Any) -> bool:
    """A file being uploaded now, not one already stored (a form's unchanged FieldFile)."""
    return bool(value) and not getattr(value, "_committed", False)


def validate_image(file: Any) -> None:
    """Model-field validator form of ``check_image`` (space logos)."""
    if not is_new_upload(file):
        return  # a stored file, not a new upload: it was checked when it came in
    try:
        check_image(file)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict["image"]) from None


# -- where they are stored -------------------------------------------------------------------
@deconstructible
class RandomName:
    """``upload_to`` of private files: ``<prefix>/<random token>.<ext>``.

    The stored name says nothing about the file (the original name stays on the row), so a
    URL cannot be guessed from a file name or an uploader's id.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.strip("/")

    def __call__(self, instance: Any, filename: str) -> str:
        extension = os.path.splitext(filename or "")[1].lower().lstrip(".")
        suffix = f".{extension}" if re.fullmatch(r"[a-z0-9]{1,5}", extension) else ""
        return f"{self.prefix}/{secrets.token_urlsafe(18)}{suffix}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RandomName) and other.prefix == self.prefix


def display_name(name: str, *, default: str = "file") -> str:
    """The uploader's file name, reduced to a safe display form (no path, no controls)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip().strip(".")
    return base[:150] or default


def download_name(title: str, stored: str) -> str:
    """A download name made of a title and the stored file's extension (kinds whose rows
    keep no original name: covers, course media, submissions, recordings)."""
    from django.utils.text import get_valid_filename

    extension = os.path.splitext(stored)[1].lower()
    try:
        base = get_valid_filename(title)[:100]
    except Exception:  # SuspiciousFileOperation: nothing usable in the title
        base = "file"
    return f"{base}{extension}"


# -- who may read them -----------------------------------------------------------------------
# reader(user, stored_name) -> the file's display name if ``user`` may read it, else None.
Reader = Callable[[Any, str], "str | None"]
_readers: dict[str, Reader] = {}
_public: set[str] = set()


def register(prefix: str, reader: Reader) -> None:
    """Files stored under ``prefix`` are read through ``reader`` (from ``AppConfig.ready``)."""
    _readers[prefix.strip("/") + "/"] = reader


def register_public(prefix: str) -> None:
    """Files under ``prefix`` are public brand assets (space logos, badge images)."""
    _public.add(prefix.strip("/") + "/")


def _longest(prefixes: Any, name: str) -> str | None:
    matches = [p for p in prefixes if name.startswith(p)]
    return max(matches, key=len) if matches else None


def readable_name(user: Any, name: str) -> tuple[str, bool] | None:
    """``(display name, public)`` if ``user`` may read the stored file ``name``, else None."""
    public = _longest(_public, name)
    private = _longest(_readers, name)
    if public is not None and (private is None or len(public) >= len(private)):
        return posixpath.basename(name), True
    if private is None:
        return None  # no kind owns it (a stray or half-written file): nobody reads it
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    shown = _readers[private](user, name)
    return (shown, False) if shown else None


# -- the bytes -------------------------------------------------------------------------------
FILE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; media-src 'self'; img-src 'self'; sandbox"
)
CHUNK_BYTES = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _clean_name(path: str) -> str:
    name = posixpath.normpath(path).lstrip("/")
    if name in ("", ".") or name.startswith("..") or "\\" in path or "\x00" in path:
        raise Http404
    return name


def _byte_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """``(start, end)`` inclusive for a single satisfiable range; ``None`` to send the whole
    file (no header, or one we do not serve: several ranges); ``False`` if unsatisfiable."""
    match = _RANGE.match(header.strip())
    if not match:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return False
        return max(size - length, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # not a valid range: ignored, as RFC 9110 says
    if start >= size:
        return False
    end = min(int(last), size - 1) if last else size - 1
    return start, end


async def _stream(handle: IO[bytes], start: int, length: int) -> AsyncIterator[bytes]:
    """The bytes, read in a worker thread chunk by chunk: under ASGI a synchronous iterator
    (FileResponse's) is read whole into memory before the first byte is sent."""
    try:
        await asyncio.to_thread(handle.seek, start)
        remaining = length
        while remaining > 0:
            chunk = await asyncio.to_thread(handle.read, min(CHUNK_BYTES, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _accel() -> tuple[str, str]:
    """(mode, location) from ``LYCEUM_FILE_ACCEL``: ``x-accel-redirect:/protected/``,
    ``x-sendfile`` or empty (Lyceum sends the bytes itself)."""
    value = (getattr(settings, "LYCEUM_FILE_ACCEL", "") or "").strip()
    mode, _sep, location = value.partition(":")
    return mode.lower(), location


def file_response(request: HttpRequest, name: str, *, filename: str, public: bool) -> HttpResponse:
    """The stored file ``name`` as a download or an inline view, with the headers every
    user file carries. The caller has checked who may read it."""
    try:
        handle = default_storage.open(name, "rb")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, ValueError):
        raise Http404 from None
    try:
        size = handle.size
        head = handle.read(SNIFF_BYTES)
    except OSError:
        handle.close()
        raise Http404 from None
    # The type is decided by the bytes, now, for every file (rows stored before uploads
    # were sniffed kept the uploader's claim).
    kind = sniff(head) or "application/octet-stream"
    inline = kind in INLINE_TYPES
    headers = {
        "Content-Type": f"{kind}; charset=utf-8" if kind == "text/plain" else kind,
        "Content-Disposition": content_disposition_header(not inline, filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": FILE_CSP,
        "Accept-Ranges": "bytes",
        "Cache-Control": "public, max-age=86400" if public else "private, max-age=300",
    }
    if not public:
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        headers["Vary"] = "Cookie, Authorization"
    mode, location = _accel()
    if mode in ("x-accel-redirect", "x-sendfile"):
        handle.close()
        response = HttpResponse(b"", headers=headers)
        if mode == "x-accel-redirect":
            response["X-Accel-Redirect"] = (
                (location or "/protected/").rstrip("/") + "/" + quote(name)
            )
        else:
            response["X-Sendfile"] = default_storage.path(name)
        # The proxy fills in the length and handles ranges itself.
        del response["Accept-Ranges"]
        return response
    span = _byte_range(request.headers.get("Range", ""), size)
    if span is False:
        handle.close()
        response = HttpResponse(b"", status=416, headers=headers)
        response["Content-Range"] = f"bytes */{size}"
        return response
    start, end = span if span else (0, size - 1)
    length = max(end - start + 1, 0)
    if request.method == "HEAD" or length == 0:
        handle.close()
        response = HttpResponse(b"", status=206 if span else 200, headers=headers)
    else:
        response = StreamingHttpResponse(
            _stream(handle, start, length), status=206 if span else 200, headers=headers
        )
    response["Content-Length"] = str(length)
    if span:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response


def _reader(request: HttpRequest) -> Any:
    """The session's user, or the API token's (apps and scripts fetch files too)."""
    if request.user.is_authenticated or "HTTP_AUTHORIZATION" not in request.META:
        return request.user
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.exceptions import AuthenticationFailed

    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return request.user
    return found[0] if found else request.user


@require_safe
def media(request: HttpRequest, path: str) -> HttpResponse:
    """Every uploaded file, at ``MEDIA_URL<stored name>``: 404 unless the reader may read
    it (the same answer whether it does not exist or is not theirs)."""
    name = _clean_name(path)
    grant = readable_name(_reader(request), name)
    if grant is None:
        raise Http404
    filename, public = grant
    return file_response(request, name, filename=filename, public=public)
