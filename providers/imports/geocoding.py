"""Geocoding imported addresses against the atlas's own address index (never a web service)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import FieldError
from django.db.models import Case, When
from django.utils.translation import gettext as _

from planning_areas.address_search import street_key


@dataclass
class GeocodeResult:
    point: tuple[float, float] | None  # (lon, lat)
    note: str = ""
    error: str = ""


HOUSE_NUMBER = re.compile(r"^\s*(\d+)\s*([A-Za-z]?)")


def _street_key(name: str) -> str:
    """The address index's folded street key (“Karl-Marx-Str.” = “karlmarxstrasse”)."""
    return street_key(name)


class AddressIndexGeocoder:
    """Looks addresses up in ``planning_areas.Address`` if the address index exists.

    An address with a position gives that point; one known only by its official
    planning area gives a point inside that area, reported as approximate.
    """

    def __init__(self) -> None:
        try:
            self.model = apps.get_model("planning_areas", "Address")
        except LookupError:
            self.model = None
        self.available = self.model is not None and self.model.objects.exists()

    @staticmethod
    def _best(candidates, postcode: str):
        """The candidate with the row's postcode first: a postcode ranks, and only refuses
        when these addresses have postcodes and none is this one (a same-named street of
        another town). An index without postcodes answers by street and number alone."""
        candidates = candidates.select_related("area")
        if not postcode:
            return candidates.first()
        ranked = candidates.annotate(
            postcode_rank=Case(
                When(postcode=postcode, then=0), When(postcode="", then=1), default=2
            )
        ).order_by("postcode_rank", "pk")
        best = ranked.first()
        return None if best is not None and best.postcode_rank == 2 else best

    def geocode(self, street: str, house_number: str, postcode: str = "") -> GeocodeResult:
        if not self.available:
            return GeocodeResult(
                None,
                error=_("no coordinates, and there is no address index to look the address up in"),
            )
        if not street:
            return GeocodeResult(None, error=_("neither coordinates nor a street"))
        match = HOUSE_NUMBER.match(house_number or "")
        try:
            candidates = self.model.objects.filter(street__key=_street_key(street))
            if match:
                candidates = candidates.filter(house_number=int(match.group(1)))
                if match.group(2):
                    candidates = candidates.filter(house_number_suffix__iexact=match.group(2))
            address = self._best(candidates, postcode)
        except FieldError:
            return GeocodeResult(None, error=_("the address index cannot be searched by street"))
        if address is None:
            return GeocodeResult(
                None,
                error=_("address “%(address)s” not found in the address index")
                % {"address": " ".join(p for p in (street, house_number, postcode) if p)},
            )
        if address.point is not None:
            return GeocodeResult((address.point.x, address.point.y), note=_("geocoded"))
        if getattr(address, "area", None) is not None:
            inside = address.area.geometry.point_on_surface
            return GeocodeResult(
                (inside.x, inside.y),
                note=_("approximate position: a point inside planning area %(code)s")
                % {"code": address.area.code},
            )
        return GeocodeResult(None, error=_("the address index has no position for this address"))
