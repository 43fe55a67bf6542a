"""Secrets out of every log line: a :class:`logging.Filter` that redacts them in place.

Why a filter on the handlers rather than care at each call: libraries log URLs and headers we do not
write (uvicorn's access log prints ``/ws?token=...``, httpx prints ``GET ...?api_key=...`` at INFO),
and a filter on a *handler* sees every record that reaches it, whichever logger made it. So
:func:`install` puts one :class:`RedactSecrets` on every handler of the root logger and of the loggers
that keep their own handlers (uvicorn's), and :func:`redact` is usable on any string.

What counts as a secret: the value of a query or form parameter, JSON key or ``key=value`` pair whose
name says so (token, api_key, password, secret, ...), the credentials in ``Authorization:`` /
``Bearer`` / ``Basic`` headers, and the password in a ``scheme://user:password@host`` URL. Values are
replaced by ``***``; the names stay, so a line still says what was sent.

This module sits at the bottom of the import layers (standard library only): the commands
(:mod:`ecotrack.cli.logs`) and the web server both use it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

__all__ = ["LIBRARY_LOGGERS", "MASK", "SECRET_NAMES", "SHOW_SECRET", "RedactSecrets", "install", "redact"]

MASK = "***"
#: The ``extra`` key that lets one deliberate record through unredacted (see :class:`RedactSecrets`).
SHOW_SECRET = "ecotrack_show_secret"

#: Parameter names whose values are secrets (compared case-insensitively; ``-`` and ``_`` alike).
SECRET_NAMES = (
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "auth_token",
    "api_key",
    "apikey",
    "api_token",
    "key",
    "password",
    "passwd",
    "pwd",
    "pass",
    "secret",
    "client_secret",
    "signature",
    "authorization",
)

_NAMES = "|".join(sorted((re.escape(n).replace("_", "[-_]?") for n in SECRET_NAMES), key=len, reverse=True))

#: ``name=value`` in a query string, form body or log text (``?token=x``, ``&password=y``, ``key=z``).
_PAIR = re.compile(rf"(?i)(?<![A-Za-z0-9])((?:{_NAMES})\s*=\s*)([^&\s\"',;)\]}}]+)")
#: ``"name": "value"`` / ``'name': 'value'`` in JSON or a Python repr.
_QUOTED = re.compile(rf"(?i)([\"'](?:{_NAMES})[\"']\s*:\s*b?[\"'])([^\"']*)")
#: ``Bearer x`` wherever it appears.
_BEARER = re.compile(r"(?i)\b(Bearer)(\s+)([A-Za-z0-9._~+/=:-]{8,})")
#: The value of an ``Authorization`` / ``Proxy-Authorization`` header as text, a dict item or a tuple.
_AUTH_HEADER = re.compile(r"(?i)(authorization[\"']?\s*[:,]\s*(?:b?[\"'])?)([^\"'\r\n]+)")
#: ``scheme://user:password@host``.
_USERINFO = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^/\s:@]*:)([^/\s@]+)(@)")


def redact(text: str) -> str:
    """``text`` with every secret value it recognises replaced by ``***``."""
    if not text:
        return text
    text = _USERINFO.sub(rf"\g<1>{MASK}\g<3>", text)
    text = _QUOTED.sub(rf"\g<1>{MASK}", text)
    text = _AUTH_HEADER.sub(rf"\g<1>{MASK}", text)
    text = _BEARER.sub(rf"\g<1>\g<2>{MASK}", text)
    return _PAIR.sub(rf"\g<1>{MASK}", text)


class RedactSecrets(logging.Filter):
    """Rewrite each record's message (and exception text) with :func:`redact`; never drops a record.

    A record logged with ``extra={SHOW_SECRET: True}`` is passed unchanged: that is how the daemon
    shows its own freshly generated token once, on purpose.

    The record is formatted once here (``msg % args``) and its arguments cleared, so formatters later
    print the redacted text; a record whose arguments cannot be formatted is left for the handler to
    report as usual.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_ecotrack_redacted", False) or getattr(record, SHOW_SECRET, False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # let the handler report the broken record as logging always does
            return True
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            # The redacted text stands in for the exception: a handler that renders exc_info itself
            # (rich's tracebacks) would print the exception's message, URL and all, unredacted.
            record.exc_text = redact(record.exc_text)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._ecotrack_redacted = True
        return True


#: Loggers that libraries configure with their own handlers (not propagating to the root).
LIBRARY_LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error", "uvicorn.asgi")


def install(extra_loggers: Iterable[str] = LIBRARY_LOGGERS) -> None:
    """Put a :class:`RedactSecrets` on every handler of the root logger and of ``extra_loggers``.

    Idempotent (a handler gets one filter). Call it again after something adds handlers.
    """
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in extra_loggers)]
    for logger in loggers:
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            # On the logger too: records it makes are redacted before any handler, even one added later.
            logger.addFilter(RedactSecrets())
        for handler in logger.handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())
