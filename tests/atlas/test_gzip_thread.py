"""The gzip copy made on a thread of its own (atlas.core.compression.GzipThread)."""

from __future__ import annotations

import gzip
import os
import threading

import pytest

from atlas.core.compression import GzipThread


def copy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "gzip-copy"]


def test_the_sink_gets_one_gzip_stream_of_every_chunk_in_order():
    received: list[bytes] = []
    copy = GzipThread(received.append, max_pending=2)
    chunks = [os.urandom(1000) + bytes([i]) * 50_000 for i in range(40)]
    for chunk in chunks:
        copy.put(chunk)
    assert copy.close() is True
    assert gzip.decompress(b"".join(received)) == b"".join(chunks)
    assert copy_threads() == []


def test_nothing_put_is_an_empty_gzip_stream():
    received: list[bytes] = []
    copy = GzipThread(received.append)
    assert copy.close() is True
    assert gzip.decompress(b"".join(received)) == b""


def test_a_failing_sink_stops_the_copy_but_never_the_producer():
    calls: list[int] = []

    def full_disk(packed: bytes) -> None:
        calls.append(len(packed))
        raise OSError(28, "No space left on device")

    copy = GzipThread(full_disk, max_pending=1)
    # Far more chunks than may wait: the thread keeps taking them after the failure, so
    # put() never blocks for good.
    for _ in range(200):
        copy.put(os.urandom(20_000))
    assert copy.close() is False
    assert isinstance(copy.error, OSError)
    assert len(calls) == 1  # nothing more was handed to the sink
    assert copy_threads() == []


def test_a_broken_off_copy_drops_what_waits_and_writes_no_end():
    received: list[bytes] = []
    copy = GzipThread(received.append)
    copy.put(b"a" * 100_000)
    assert copy.close(complete=False) is False
    with pytest.raises(EOFError):  # no gzip trailer: the copy is not a whole stream
        gzip.decompress(b"".join(received))
    assert copy_threads() == []


def test_a_copy_that_falls_behind_holds_the_producer_back():
    release = threading.Event()
    copy = GzipThread(lambda packed: release.wait(), max_pending=2, level=0)
    produced: list[int] = []

    def produce():
        for i in range(10):
            copy.put(os.urandom(100_000))
            produced.append(i)

    producer = threading.Thread(target=produce)
    producer.start()
    producer.join(timeout=1)
    # One chunk in the sink, two waiting, one put blocked: memory stays bounded.
    assert producer.is_alive() and len(produced) <= 4
    release.set()
    producer.join(timeout=10)
    assert produced == list(range(10))
    assert copy.close() is True
