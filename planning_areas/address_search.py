"""Understanding what people type into an address field.

The stored street key and the typed text go through the same folding, so
``Karl-Marx-Str. 12``, ``KarlMarx Str 12`` and ``karl marx strasse 12`` meet on
``karlmarxstrasse``. Postcode, district and house number are pulled out of the
text wherever they stand; what remains is compared with the street keys.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import Address, Area, Layer, Street

MAX_QUERY_LENGTH = 200
MIN_STREET_KEY_LENGTH = 2

_FOLD_CHARS = str.maketrans({"ß": "ss", "ẞ": "ss", "æ": "ae", "ø": "o"})
# Umlauts typed as ae/oe/ue and umlauts dropped (Muller) must meet Müller: fold all to a/o/u.
_DIGRAPHS = re.compile(r"(?<=[a-z])(ae|oe|ue)")
# Abbreviations at a word end (also before a digit: ``Karlmarxstr12``).
_ABBREVIATIONS = [
    (re.compile(r"str(?:\.|(?=[^a-z]|$))"), "strasse"),
    (re.compile(r"(?<=[a-z])pl(?:\.|(?=[^a-z]|$))"), "platz"),
    (re.compile(r"\bpl(?:\.|(?=[^a-z]|$))"), "platz"),
]
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_POSTCODE = re.compile(r"(?<!\d)(\d{5})(?!\d)")
_HOUSE_NUMBER = re.compile(r"(?<![0-9])(\d{1,4})(?:\s*([a-z])(?![a-z0-9]))?(?![0-9])")


def ignored_words() -> re.Pattern:
    """What the parser drops from typed text: the municipality's name and the words of
    ``ATLAS_ADDRESS_IGNORED_WORDS`` (the country), folded like the text."""
    words = [
        settings.ATLAS_MUNICIPALITY_NAME,
        settings.ATLAS_DEFAULT_CITY,
        *settings.ATLAS_ADDRESS_IGNORED_WORDS,
    ]
    patterns = set()
    for word in words:
        parts = _NOT_ALNUM.sub(" ", expand_abbreviations(fold(word or ""))).split()
        if parts:
            patterns.add(r"[^a-z0-9]+".join(map(re.escape, parts)))
    if not patterns:
        return re.compile(r"(?!x)x")  # matches nothing
    # Longest first, so that "frankfurt am main" goes before "frankfurt".
    return re.compile(r"\b(" + "|".join(sorted(patterns, key=len, reverse=True)) + r")\b")


def fold(text: str) -> str:
    """Lower case without accents, ß as ss, umlauts and their ae/oe/ue spellings as a/o/u."""
    text = text.lower().translate(_FOLD_CHARS)
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    return _DIGRAPHS.sub(lambda m: m.group(1)[0], text)


def expand_abbreviations(folded: str) -> str:
    for pattern, replacement in _ABBREVIATIONS:
        folded = pattern.sub(replacement, folded)
    return folded


def compact(folded: str) -> str:
    return _NOT_ALNUM.sub("", folded)


def street_key(name: str) -> str:
    """The search key of a street name: ``Karl-Marx-Straße`` → ``karlmarxstrasse``."""
    return compact(expand_abbreviations(fold(name)))


class QueryError(ValueError):
    """The query cannot be searched at all (empty or too long)."""


@dataclass
class ParsedQuery:
    street_keys: list[str] = field(default_factory=list)
    house_number: int | None = None
    suffix: str = ""
    postcode: str = ""
    districts: list[str] = field(default_factory=list)

    @property
    def has_street(self) -> bool:
        return any(len(k) >= MIN_STREET_KEY_LENGTH for k in self.street_keys)


def parse_query(text: str, districts: dict[str, str]) -> ParsedQuery:
    """Split typed text into street keys, house number, suffix, postcode and districts.

    ``districts`` maps folded district names to their spelling in the index; a
    district found in the text is both a ranking hint and removed from one of the
    street candidates (``Alt-Tempelhof`` keeps the candidate with it).
    """
    text = (text or "").strip()
    if not text:
        raise QueryError(_("Please type a street and house number."))
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(
            _("The search text is too long (at most %(max)d characters).")
            % {"max": MAX_QUERY_LENGTH}
        )
    folded = " " + expand_abbreviations(fold(text)) + " "
    parsed = ParsedQuery()

    postcode = _POSTCODE.search(folded)
    if postcode:
        parsed.postcode = postcode.group(1)
        folded = folded[: postcode.start()] + " " + folded[postcode.end() :]
    folded = ignored_words().sub(" ", folded)

    numbers = list(_HOUSE_NUMBER.finditer(folded))
    # A trailing 1xxx after a house number is a postcode being typed, not a number.
    if (
        len(numbers) >= 2
        and len(numbers[-1].group(1)) >= 3
        and not numbers[-1].group(2)
        and not re.search(r"[a-z]", folded[numbers[-2].end() : numbers[-1].start()])
    ):
        folded = folded[: numbers[-1].start()] + " " + folded[numbers[-1].end() :]
        numbers.pop()
    if numbers:
        number = numbers[-1]
        parsed.house_number = int(number.group(1))
        parsed.suffix = (number.group(2) or "").upper()
        folded = folded[: number.start()] + " " + folded[number.end() :]

    full_key = compact(folded)
    keys = [full_key] if full_key else []
    words = " ".join(_NOT_ALNUM.sub(" ", folded).split())
    for folded_name in sorted(districts, key=len, reverse=True):
        pattern = re.compile(rf"(?:^| ){re.escape(folded_name)}(?: |$)")
        if pattern.search(words):
            if districts[folded_name]:
                parsed.districts.append(districts[folded_name])
            words = pattern.sub(" ", words).strip()
    if parsed.districts:
        remainder = compact(words)
        if remainder and remainder not in keys:
            keys.insert(0, remainder)
    parsed.street_keys = keys
    return parsed


class DistrictNames:
    """Folded district names of the index, cached per process for a few minutes."""

    ttl_seconds = 300

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        # None means "never loaded". Not 0.0: the monotonic clock counts from boot, so
        # within ttl_seconds of a reboot 0.0 looked fresh and the names never loaded.
        self._loaded_at: float | None = None

    def get(self) -> dict[str, str]:
        now = time.monotonic()
        if self._loaded_at is None or now - self._loaded_at > self.ttl_seconds:
            self._names = self.load()
            self._loaded_at = now
        return self._names

    def clear(self) -> None:
        self._loaded_at = None

    @staticmethod
    def load() -> dict[str, str]:
        names: dict[str, str] = {}
        for name in Address.objects.distinct_districts():
            names[" ".join(_NOT_ALNUM.sub(" ", fold(name)).split())] = name
        # Top-level areas (Bezirke) are districts people type, too; they only steer parsing.
        top_layers = Layer.objects.current().filter(parent__isnull=True)
        for name in Area.objects.filter(layer__in=top_layers).values_list("name", flat=True):
            for part in [name, *re.split(r"[-/]", name)]:
                folded = " ".join(_NOT_ALNUM.sub(" ", fold(part)).split())
                if folded:
                    names.setdefault(folded, "")
        return names


district_names = DistrictNames()


@dataclass
class Suggestion:
    """One answer to typed text: an address, or a street when no number was typed yet."""

    kind: str
    street: str
    house_number: int | None
    house_number_suffix: str
    postcode: str
    district: str
    address_id: int | None = None
    address_count: int = 1
    has_position: bool = False

    @property
    def label(self) -> str:
        number = f"{self.house_number}{self.house_number_suffix}" if self.house_number else ""
        street = " ".join(p for p in (self.street, number) if p)
        town = " ".join(p for p in (self.postcode, self.district) if p)
        return ", ".join(p for p in (street, town) if p)


@dataclass
class SearchResult:
    query: ParsedQuery
    suggestions: list[Suggestion]
    message: str = ""


def search_addresses(text: str, limit: int = 10) -> SearchResult:
    """Suggestions for typed text, best first; raises :class:`QueryError` for unusable text.

    With a house number the suggestions are addresses (the exact one first);
    without, they are streets per postcode and district, to be completed.
    """
    parsed = parse_query(text, district_names.get())
    if not parsed.has_street:
        message = (
            _("Please add the street to the house number.")
            if parsed.house_number is not None or parsed.postcode
            else _("Please type at least two letters of the street.")
        )
        return SearchResult(parsed, [], str(message))
    # A postcode ranks; it only ends the search when the index has postcodes and not this one.
    if (
        parsed.postcode
        and not Address.objects.filter(postcode=parsed.postcode).exists()
        and Address.objects.has_postcodes()
    ):
        return SearchResult(
            parsed,
            [],
            str(
                _("The postcode %(postcode)s is not covered by the atlas.")
                % {"postcode": parsed.postcode}
            ),
        )
    scores = Street.objects.scored(parsed.street_keys)
    if not scores:
        return SearchResult(parsed, [], str(_("No matching address found.")))
    options = {
        "house_number": parsed.house_number,
        "suffix": parsed.suffix,
        "postcode": parsed.postcode,
        "districts": parsed.districts,
        "limit": limit,
    }
    if parsed.house_number is not None:
        suggestions = [
            Suggestion(
                kind="address",
                street=row["street"],
                house_number=row["house_number"],
                house_number_suffix=row["house_number_suffix"],
                postcode=row["postcode"],
                district=row["district"],
                address_id=row["id"],
                has_position=row["has_position"],
            )
            for row in Address.objects.suggest(scores, **options)
        ]
    else:
        suggestions = [
            Suggestion(
                kind="street",
                street=row["street"],
                house_number=None,
                house_number_suffix="",
                postcode=row["postcode"],
                district=row["district"],
                address_id=row["first_id"] if row["address_count"] == 1 else None,
                address_count=row["address_count"],
            )
            for row in Address.objects.suggest(scores, by_street=True, **options)
        ]
    message = "" if suggestions else str(_("No matching address found."))
    return SearchResult(parsed, suggestions, message)
