"""What the web app reads of the history store, as protocols, so the web never imports the store.

:mod:`ecotrack.app` passes the store's :class:`~ecotrack.services.store.service.Recorder` to
:func:`~ecotrack.services.web.app.create_app` typed as :class:`HistorySource`; without one (no store
configured) the app serves its in-memory buffers. Keeping this a protocol means a daemon with the store
off never imports SQLAlchemy for the web's sake, and a test can hand the app a small fake.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from ecotrack.services.store.records import LoadpointRow, SessionRecord, SiteRow

__all__ = ["HistoryReader", "HistorySource"]


class HistoryReader(Protocol):
    """The blocking, thread-safe reads of an open store (call them through ``asyncio.to_thread``)."""

    def sessions(self) -> list[SessionRecord]:
        """Every stored session, oldest first."""
        ...

    def site_readings(self, start: datetime | None = None, end: datetime | None = None) -> list[SiteRow]:
        """Site readings in ``[start, end)``."""
        ...

    def loadpoint_readings(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[LoadpointRow]:
        """Loadpoint readings in ``[start, end)``."""
        ...

    def site_aggregates(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        """5-minute roll-ups of the site readings (``bucket`` and the averaged powers)."""
        ...

    def loadpoint_aggregates(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        """5-minute roll-ups of the loadpoint readings."""
        ...


class HistorySource(Protocol):
    """The history store as the web sees it: a reader once the database is open, and its resolution."""

    @property
    def store(self) -> HistoryReader | None:
        """The open store, or None while its database cannot be opened (the web then serves memory)."""
        ...

    @property
    def resolution_s(self) -> float:
        """Seconds between two stored readings."""
        ...
