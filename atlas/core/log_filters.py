"""Logging filters that keep personal data out of the application log."""

import logging
import re

_QUERY_STRING = re.compile(r"\?[^\s\"]*")


class RedactQueryStrings(logging.Filter):
    """Drops query strings from request lines: address searches are personal data."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _QUERY_STRING.sub("?…", a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = _QUERY_STRING.sub("?…", record.msg)
        return True
