"""Tokens stay out of the server's logs: every path that carries one is logged with the token replaced."""

from __future__ import annotations

import logging
import re

from .links import CLERK_PATH, UNIT_PATH

# /don-vi/<token>, also as //don-vi//<token> or /don-vi/%2F<token> decoded (a server may log either), any case
_TOKEN_IN_PATH = re.compile(rf"/({UNIT_PATH}|{CLERK_PATH})/+[^/\s?#'\"]+", re.IGNORECASE)
HIDDEN = "…"
LOGGERS = ("waitress", "waitress.queue", "werkzeug", "flask.app", "consolidate.web")


def redact(text: str) -> str:
    """``/don-vi/<token>/…`` → ``/don-vi/…/…``: where a request went, never whose link it was."""
    return _TOKEN_IN_PATH.sub(rf"/\1/{HIDDEN}", text)


class RedactTokens(logging.Filter):
    """Rewrites each record's message (and its exception text) before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def redact_logs(*names: str) -> None:
    """Put the filter on these loggers (the server's by default), once."""
    for name in names or LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
