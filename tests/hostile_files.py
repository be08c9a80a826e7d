"""Hostile import files, built on the spot (tests and ``bench/abuse_files.py`` share them).

Each builder writes one file into ``folder`` and returns its path. Sizes are
parameters: the tests use small ones with small limits, the benchmark the sizes
of the audit (issue 10 item 6).
"""

from __future__ import annotations

import gzip
import re
import struct
import zipfile
from pathlib import Path

from openpyxl import Workbook

ZERO_CHUNK = bytes(1 << 20)


def zip_bomb(folder: Path, unpacked_bytes: int = 400_000_000, name: str = "bomb.zip") -> Path:
    """A small zip of one Shapefile (and sidecars) whose .dbf unpacks to ``unpacked_bytes``."""
    path = folder / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("areas.prj", 'GEOGCS["WGS 84"]')
        archive.writestr("areas.shx", b"\0" * 100)
        with archive.open("areas.shp", "w", force_zip64=True) as member:
            written = 0
            while written < unpacked_bytes:
                chunk = ZERO_CHUNK[: min(len(ZERO_CHUNK), unpacked_bytes - written)]
                member.write(chunk)
                written += len(chunk)
    return path


def lying_zip(folder: Path, real_bytes: int = 5_000_000, declared: int = 1000) -> Path:
    """A zip whose member declares ``declared`` bytes but holds ``real_bytes`` (headers patched)."""
    path = folder / "lying.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("areas.shp", bytes(real_bytes))
        archive.writestr("areas.prj", 'GEOGCS["WGS 84"]')
    data = bytearray(path.read_bytes())
    # Uncompressed size: offset 22 in the local header, 24 in the central directory entry.
    local = data.find(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, declared)
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))
    return path


def huge_dimension_xlsx(folder: Path, name: str = "huge.xlsx") -> Path:
    """A few-kB workbook with a header row and one stray cell at XFD1048576."""
    path = folder / name
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Nr", "Name", "Traeger"])
    sheet.append(["1", "Kita", "Träger"])
    sheet["XFD1048576"] = "x"
    workbook.save(path)
    return path


def lying_dimension_xlsx(folder: Path) -> Path:
    """A workbook that declares A1:C2 but holds a cell at XFD5."""
    path = huge_dimension_xlsx(folder, "lying.xlsx")
    source = zipfile.ZipFile(path)
    members = {info.filename: source.read(info) for info in source.infolist()}
    source.close()
    sheet = "xl/worksheets/sheet1.xml"
    members[sheet] = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:C2"', members[sheet])
    members[sheet] = (
        members[sheet].replace(b'r="XFD1048576"', b'r="XFD5"').replace(b'r="1048576"', b'r="5"')
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for filename, data in members.items():
            archive.writestr(filename, data)
    return path


def fake_xlsx(folder: Path) -> Path:
    """A CSV saved under an .xlsx name (what the audit sent to the admin import)."""
    path = folder / "angebote.xlsx"
    path.write_bytes(b"Nr;Name;Traeger\n1;Kita;Traeger\n")
    return path


def wide_csv(folder: Path, size_bytes: int = 7_800_000) -> Path:
    """A CSV with a header of hundreds of thousands of columns, then rows of separators."""
    path = folder / "wide.csv"
    columns = 200_000
    with open(path, "w", encoding="utf-8") as sink:
        sink.write(";".join(f"c{i}" for i in range(columns)) + "\n")
        while sink.tell() < size_bytes:
            sink.write("1;x" + ";" * (columns - 2) + "\n")
    return path


def long_csv(folder: Path, size_bytes: int = 7_800_000) -> Path:
    """A CSV of millions of short rows (7.8 MB holds about 900,000)."""
    path = folder / "long.csv"
    line = "{n};Angebot {n};Träger;52.5;13.4\n"
    with open(path, "w", encoding="utf-8") as sink:
        sink.write("Nr;Name;Traeger;Breite;Laenge\n")
        number = 0
        while sink.tell() < size_bytes:
            sink.write("".join(line.format(n=number + i) for i in range(1000)))
            number += 1000
    return path


def separator_line_csv(folder: Path, size_bytes: int = 7_800_000) -> Path:
    """A header and one line of millions of separators (one record of millions of cells)."""
    path = folder / "separators.csv"
    with open(path, "w", encoding="utf-8") as sink:
        sink.write("Nr;Name;Traeger\n")
        sink.write(";" * size_bytes + "\n")
    return path


def nul_csv(folder: Path) -> Path:
    """A CSV with a NUL byte inside a name (PostgreSQL text cannot store it)."""
    path = folder / "nul.csv"
    path.write_bytes(b"Nr;Name;Traeger;Breite;Laenge\n1;Ki\x00ta;Traeger;52.5;13.4\n")
    return path


def utf16_csv(folder: Path) -> Path:
    """A CSV saved as UTF-16 (every other byte is NUL when read as UTF-8)."""
    path = folder / "utf16.csv"
    path.write_bytes("Nr;Name;Traeger\n1;Kita;Traeger\n".encode("utf-16-le"))
    return path


MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def markup_csv(folder: Path) -> Path:
    """A CSV with markup in every text cell and an invalid website that echoes it back."""
    path = folder / "markup.csv"
    path.write_text(
        f"Nr;Name;Traeger;Breite;Laenge;Web\n1;{MARKUP};{MARKUP};52.5;13.4;{MARKUP}\n",
        encoding="utf-8",
    )
    return path


CSV_MAPPING = """
[columns]
external_id = "Nr"
name = "Name"
organization = "Traeger"
latitude = "Breite"
longitude = "Laenge"
"""
MARKUP_MAPPING = CSV_MAPPING + 'website = "Web"\n'


def gzip_bomb_csv(folder: Path, unpacked_bytes: int = 400_000_000) -> Path:
    """An address .csv.gz of a header and ``unpacked_bytes`` of blank lines (about 400 kB)."""
    path = folder / "adressen.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as sink:
        sink.write(b"strasse;hausnummer\n")
        block = b"\n" * (1 << 20)
        for _ in range(unpacked_bytes // len(block)):
            sink.write(block)
    return path


def long_address_csv(folder: Path, rows: int = 1_100_000) -> Path:
    """An address CSV of more rows than ATLAS_IMPORT_MAX_ADDRESS_ROWS (default 1,000,000)."""
    path = folder / "adressen.csv"
    with open(path, "w", encoding="utf-8") as sink:
        sink.write("strasse;hausnummer\n")
        for start in range(0, rows, 10_000):
            sink.write("".join(f"Weg;{n}\n" for n in range(start, start + 10_000)))
    return path
