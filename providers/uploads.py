"""Uploaded import files, kept between the preview and the import itself.

Files go to ``MEDIA_ROOT/imports/<random token>/`` under a sanitised name; the token is
remembered in the uploader's session, so one user cannot commit another's upload.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from django.conf import settings
from django.utils.text import get_valid_filename

SESSION_KEY = "atlas_uploads"


def _root() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def store(request, files: dict, options: dict) -> str:
    """Save uploaded files; return the token under which the session remembers them."""
    token = secrets.token_urlsafe(16)
    folder = _root() / token
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, upload in files.items():
        if upload is None:
            continue
        target = folder / get_valid_filename(Path(upload.name).name)
        with open(target, "wb") as sink:
            for chunk in upload.chunks():
                sink.write(chunk)
        paths[key] = str(target)
    uploads = request.session.get(SESSION_KEY, {})
    uploads[token] = {"paths": paths, "options": options}
    request.session[SESSION_KEY] = uploads
    return token


def load(request, token: str) -> dict | None:
    """The files and options stored under ``token`` by this session, if any."""
    entry = request.session.get(SESSION_KEY, {}).get(token)
    if entry is None or not all(Path(p).exists() for p in entry["paths"].values()):
        return None
    return entry


def discard(request, token: str) -> None:
    uploads = request.session.get(SESSION_KEY, {})
    uploads.pop(token, None)
    request.session[SESSION_KEY] = uploads
    if token and "/" not in token and token not in (".", ".."):
        shutil.rmtree(_root() / token, ignore_errors=True)
