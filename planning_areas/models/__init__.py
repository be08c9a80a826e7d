"""Planning areas: layers (Gliederungen), areas (Planungsräume), the address index,
composed layers and crosswalks. New entities get their own module here."""

from .areas import (
    AREA_CODE_MAX_LENGTH,
    Address,
    AddressQuerySet,
    Area,
    AreaQuerySet,
    Composition,
    CompositionUnit,
    Crosswalk,
    CrosswalkShare,
    Layer,
    LayerQuerySet,
    Street,
    StreetQuerySet,
    is_area_code,
    valid_on,
)
from .indicators import Indicator, IndicatorValue, IndicatorValueQuerySet

__all__ = [
    "AREA_CODE_MAX_LENGTH",
    "Address",
    "AddressQuerySet",
    "Area",
    "AreaQuerySet",
    "Composition",
    "CompositionUnit",
    "Crosswalk",
    "CrosswalkShare",
    "Indicator",
    "IndicatorValue",
    "IndicatorValueQuerySet",
    "Layer",
    "LayerQuerySet",
    "Street",
    "StreetQuerySet",
    "is_area_code",
    "valid_on",
]
