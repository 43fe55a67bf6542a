"""Logging set-up for the commands (``run``, ``demo``, ``meters read``).

Every handler redacts secrets (:mod:`ecotrack.logredact`): a token, API key or password in a URL, a
header or a message never reaches the log, whichever library wrote the line. httpx and httpcore log
each request's URL at INFO/DEBUG; they are kept at WARNING unless the level asked for is DEBUG.

rich is imported when :func:`setup_logging` runs, not at import, so ``ecotrack --help`` stays fast.
"""

from __future__ import annotations

import logging
import sys

from ecotrack.logredact import install as install_redaction

__all__ = ["setup_logging"]


def setup_logging(level: str | int = "INFO") -> None:
    """Log to stderr at ``level`` (a name like ``"DEBUG"`` or a number).

    On a terminal the lines go through rich (colours, wrapped tracebacks); otherwise (systemd, a pipe,
    a container log) one plain line per record with a timestamp, which journald and grep handle better
    than rich's 80-column wrapping.
    """
    if isinstance(level, str):
        level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    handler: logging.Handler
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.logging import RichHandler

        handler = RichHandler(console=Console(stderr=True), rich_tracebacks=True, show_path=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s", datefmt="[%X]"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # A request line per poll is noise at INFO (and carried API keys in URLs before redaction).
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)
    install_redaction()
