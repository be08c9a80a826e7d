"""Validators for provider data."""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from opening_hours import OpeningHours, ParserError

validate_hex_colour = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #RRGGBB, for example #1f78b4.")
)


def validate_opening_hours(value: str) -> None:
    """Accept only strings in OpenStreetMap `opening_hours` syntax."""
    if not value:
        return
    try:
        OpeningHours(value)
    except ParserError as exc:
        raise ValidationError(
            _(
                "“%(value)s” is not valid opening_hours syntax "
                "(example: “Mo-Fr 09:00-17:00; Sa 10:00-14:00”)."
            ),
            code="invalid_opening_hours",
            params={"value": value},
        ) from exc
