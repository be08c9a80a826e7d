"""Template helpers of the public site."""

import json

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

# The same escapes as django.utils.html.json_script: nothing in the data can end the element.
_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag
def jsonld(data: dict) -> str:
    """A ``<script type="application/ld+json">`` element holding ``data``."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_SCRIPT_ESCAPES)
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(text))  # noqa: S308


@register.simple_tag(takes_context=True)
def page_url(context, page: int) -> str:
    """The current list URL with another page number, keeping every filter."""
    query = context.get("query_string", "")
    return f"?{query}&page={page}" if query else f"?page={page}"
