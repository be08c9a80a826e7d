"""Large downloads kept as files per data version, served by the web server's sendfile.

A download that is the same for everyone until the data changes (the complete service
export: 107 MB of GeoJSON at 103,701 services, 2 s to stream) is written to a file while
its first request streams it, with a gzip copy beside it, and every later request with
the same key gets the file (``FileResponse``: gunicorn hands it to the kernel's
``sendfile``). What makes a stored file trustworthy is its key, which the caller derives
from what the bytes were made of (``providers.export_files``): the bytes must be a
function of the key. The file is only named once the stream has ended, with the key the
stream reports then, because the caller learns the exact data version from the rows.

- Files are written to a temporary name in the same directory and renamed (atomic); a
  stream that breaks off (client gone, error) leaves nothing behind.
- One writer per download at a time (``flock`` on a lock file, released by the kernel if
  the worker dies); a request that finds the lock taken streams without writing. Two
  writers of the same key would write the same bytes, so the lock only saves work.
- After a file is stored, the other files of the same download are removed: writers take
  turns (the lock) and each reads a snapshot at least as new as the one before, so they
  are older. A worker still sending one keeps its open file.
- A directory that cannot be created or written (disk full, permissions) costs nothing but
  a log line: the request streams as before.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse

from .compression import (
    GzipThread,
    accepts_gzip,
    attachment_headers,
    gzip_chunks,
    gzip_compressor,
)

logger = logging.getLogger(__name__)

TEMPORARY_PREFIX = ".writing-"


@dataclass(frozen=True)
class StoredDownload:
    """A download kept as files named ``<name>-<key>.<suffix>`` (and ``….gz``)."""

    name: str
    suffix: str
    content_type: str
    filename: str

    def path(self, key: str, *, compressed: bool) -> Path:
        return directory() / f"{self.name}-{key}.{self.suffix}{'.gz' if compressed else ''}"


def directory() -> Path:
    return Path(settings.ATLAS_EXPORT_FILES_DIR)


def response(
    request,
    download: StoredDownload,
    key: str,
    stream: Callable[[], tuple[Iterable[str | bytes], Callable[[], str | None]]],
):
    """The stored file of ``key`` if there is one; else ``stream()``'s chunks, streamed and
    stored on the way. ``stream`` answers the chunks and a function that tells, once they
    are exhausted, the key they were made under (``None``: do not store them)."""
    compressed = accepts_gzip(request)
    stored = _file_response(download, key, compressed)
    if stored is not None:
        return stored
    writer = _Writer.begin(download)
    if writer is not None and download.path(key, compressed=compressed).exists():
        # Stored by another worker between the look and the lock.
        writer.release()
        stored = _file_response(download, key, compressed)
        if stored is not None:
            return stored
        writer = None
    chunks, final_key = stream()
    if writer is None:
        body = gzip_chunks(chunks) if compressed else chunks
    else:
        body = writer.write(chunks, final_key, compressed=compressed)
    answer = StreamingHttpResponse(body, content_type=download.content_type)
    return attachment_headers(answer, compressed=compressed, filename=download.filename)


def store(
    download: StoredDownload,
    key: str,
    stream: Callable[[], tuple[Iterable[str | bytes], Callable[[], str | None]]],
) -> str:
    """Write the files of ``key`` without a request (a scheduled job after imports), unless
    they exist or another writer is at it; ``stream`` as for ``response``. Answers what
    happened: ``"stored"``, ``"present"``, ``"busy"`` or ``"failed"`` (logged)."""
    if all(download.path(key, compressed=p).exists() for p in (False, True)):
        return "present"
    writer, reason = _Writer.acquire(download)
    if writer is None:
        return reason
    if all(download.path(key, compressed=p).exists() for p in (False, True)):
        writer.release()
        return "present"
    chunks, final_key = stream()
    for _ in writer.write(chunks, final_key, compressed=True):
        pass
    return "stored" if writer.stored else "failed"


def _file_response(download: StoredDownload, key: str, compressed: bool):
    path = download.path(key, compressed=compressed)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    except OSError as exc:
        logger.warning("Stored download %s unreadable, streaming instead: %s", path, exc)
        return None
    answer = FileResponse(handle, content_type=download.content_type)
    # Servers without sendfile (runserver, the test client) read it in blocks of this size.
    answer.block_size = 1 << 18
    return attachment_headers(answer, compressed=compressed, filename=download.filename)


class _Writer:
    """Holds a download's lock and writes its plain and gzip files while the chunks pass."""

    def __init__(self, download: StoredDownload, lock: int):
        self.download = download
        self.lock = lock
        self.files: dict[bool, tuple[int, str]] = {}
        self.failure: Exception | None = None
        self.stored = False

    @classmethod
    def begin(cls, download: StoredDownload) -> _Writer | None:
        """The writer, or ``None`` if another one holds the lock or the directory fails."""
        writer, _ = cls.acquire(download)
        return writer

    @classmethod
    def acquire(cls, download: StoredDownload) -> tuple[_Writer | None, str]:
        """The writer and ``""``, or ``None`` and why not: ``"busy"`` (another writer holds
        the lock) or ``"failed"`` (the directory or the lock file fails; logged)."""
        try:
            directory().mkdir(parents=True, exist_ok=True)
            lock = os.open(directory() / f".{download.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            logger.warning("Downloads are not stored, %s: %s", directory(), exc)
            return None, "failed"
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another worker is writing this download
            os.close(lock)
            return None, "busy"
        return cls(download, lock), ""

    def write(
        self,
        chunks: Iterable[str | bytes],
        final_key: Callable[[], str | None],
        *,
        compressed: bool,
    ) -> Iterator[bytes]:
        """Yield the chunks (gzip-compressed if ``compressed``) and write both files; name
        them by ``final_key()`` when the chunks are exhausted. A plain stream leaves its
        gzip copy to a thread (``GzipThread``): nobody waits for that file."""
        complete = False
        compressor = gzip_compressor() if compressed else None
        copy = None  # the gzip file's compressor when the stream is plain
        try:
            # Inside the try: whatever fails here still releases the lock in _finish.
            self._open_files()
            if not compressed and self.failure is None:
                copy = GzipThread(lambda packed: self._append(True, packed))
            for chunk in chunks:
                data = chunk.encode() if isinstance(chunk, str) else chunk
                self._append(False, data)
                if compressor is None:
                    if copy is not None and self.failure is None:
                        copy.put(data)
                    yield data
                else:
                    packed = compressor.compress(data)
                    self._append(True, packed)
                    if packed:
                        yield packed
            if compressor is not None:
                tail = compressor.flush()
                self._append(True, tail)
                yield tail
            complete = True
        finally:
            # Also on GeneratorExit (the client went away) and on errors: files are only
            # named after a complete stream, and only once the copy's thread has ended.
            if copy is not None and not copy.close(complete=complete) and complete:
                self._fail(copy.error)
            self._finish(final_key() if complete else None)

    def _open_files(self) -> None:
        for packed in (False, True):
            try:
                handle, name = tempfile.mkstemp(
                    prefix=f"{TEMPORARY_PREFIX}{self.download.name}-", dir=directory()
                )
            except OSError as exc:
                self._fail(exc)
                return
            self.files[packed] = (handle, name)

    def _append(self, packed: bool, data: bytes) -> None:
        """Write ``data`` to one of the files; the plain one's in the stream's thread, the
        gzip one's in the copy's thread, if there is one. The files stay open until
        ``_finish``, which runs after the copy's thread has ended."""
        if self.failure is not None or not data:
            return
        try:
            os.write(self.files[packed][0], data)  # a regular file writes everything
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        """Give up storing (both threads may call this): log, write nothing more and let
        ``_finish`` discard the files."""
        if self.failure is None:
            self.failure = exc
            logger.warning("Download %s not stored, streaming only: %s", self.download.name, exc)

    def _discard(self) -> None:
        for handle, name in self.files.values():
            os.close(handle)
            Path(name).unlink(missing_ok=True)
        self.files = {}

    def _finish(self, key: str | None) -> None:
        try:
            if key is None or self.failure is not None:
                self._discard()
                return
            try:
                for handle, _ in self.files.values():
                    os.fsync(handle)  # the bytes are on disk before the name is
                for packed, (_, name) in self.files.items():
                    os.chmod(name, 0o644)
                    os.replace(name, self.download.path(key, compressed=packed))
            except OSError as exc:
                self._fail(exc)
                self._discard()
                return
            for handle, _ in self.files.values():
                os.close(handle)
            self.files = {}
            self.stored = True
            self._remove_others(key)
        finally:
            self.release()

    def _remove_others(self, key: str) -> None:
        """Older files of this download, and temporary files of writers that died."""
        keep = {self.download.path(key, compressed=p).name for p in (False, True)}
        prefixes = (f"{self.download.name}-", f"{TEMPORARY_PREFIX}{self.download.name}-")
        for path in directory().iterdir():
            if path.name.startswith(prefixes) and path.name not in keep:
                try:
                    path.unlink()
                except OSError as exc:
                    logger.warning("Old download %s not removed: %s", path, exc)

    def release(self) -> None:
        if self.lock >= 0:
            os.close(self.lock)  # closing the descriptor releases the flock
            self.lock = -1
