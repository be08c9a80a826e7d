"""URL converters of planning-area pages and API routes."""

from .models import is_area_code


class AreaCodeConverter:
    """An official area key in a path: a malformed one (a NUL byte, a control character, too
    long) does not match, so the URL answers 404 before any query."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        if not is_area_code(value):
            raise ValueError("not an area code")
        return value

    def to_url(self, value: str) -> str:
        return value
