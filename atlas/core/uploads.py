"""Uploaded import files, kept between the preview and the import itself, never for ever.

Files go to ``MEDIA_ROOT/imports/<random token>/`` under a sanitised name; the token is
remembered in the uploader's session, so one user cannot commit another's upload.
A page discards the folder once the import ran or the preview failed; a preview that
is never confirmed expires after ``ATLAS_UPLOAD_MAX_AGE_SECONDS``: every new upload
removes expired folders, and ``manage.py purge_uploads`` does the same from cron.
"""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from .files import Limits

SESSION_KEY = "atlas_uploads"


def root() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def validate_upload_size(upload) -> None:
    """Form field validator: refuse an upload above ``ATLAS_IMPORT_MAX_FILE_BYTES``."""
    limit = Limits.from_settings().file_bytes
    if upload is not None and upload.size > limit:
        raise ValidationError(
            _("The file has %(size).1f MB; the atlas takes files up to %(limit).1f MB.")
            % {"size": upload.size / 1_000_000, "limit": limit / 1_000_000},
            code="file_too_large",
        )


def store(request, files: dict, options: dict) -> str:
    """Save uploaded files; return the token under which the session remembers them."""
    purge_expired()
    token = secrets.token_urlsafe(16)
    folder = root() / token
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, upload in files.items():
        if upload is None:
            continue
        validate_upload_size(upload)
        target = folder / get_valid_filename(Path(upload.name).name)
        with open(target, "wb") as sink:
            for chunk in upload.chunks():
                sink.write(chunk)
        paths[key] = str(target)
    uploads = request.session.get(SESSION_KEY, {})
    uploads[token] = {"paths": paths, "options": options}
    request.session[SESSION_KEY] = uploads
    return token


def _safe_token(token: str | None) -> bool:
    return bool(token) and "/" not in token and "\\" not in token and token not in (".", "..")


def load(request, token: str) -> dict | None:
    """The files and options stored under ``token`` by this session, if any and not expired."""
    entry = request.session.get(SESSION_KEY, {}).get(token)
    if entry is None or not _safe_token(token) or _expired(root() / token, time.time()):
        return None
    if not all(Path(p).exists() for p in entry["paths"].values()):
        return None
    return entry


def discard(request, token: str) -> None:
    uploads = request.session.get(SESSION_KEY, {})
    uploads.pop(token, None)
    request.session[SESSION_KEY] = uploads
    if _safe_token(token):
        shutil.rmtree(root() / token, ignore_errors=True)


def _expired(folder: Path, now: float) -> bool:
    try:
        return now - folder.stat().st_mtime > settings.ATLAS_UPLOAD_MAX_AGE_SECONDS
    except FileNotFoundError:
        return True


def expired_folders(now: float | None = None) -> list[Path]:
    """Upload folders older than ``ATLAS_UPLOAD_MAX_AGE_SECONDS`` (and stray files beside them)."""
    now = time.time() if now is None else now
    if not root().is_dir():
        return []
    return sorted(entry for entry in root().iterdir() if _expired(entry, now))


def purge_expired(now: float | None = None) -> list[Path]:
    """Remove expired upload folders; return what was removed."""
    removed = expired_folders(now)
    for entry in removed:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    return removed
