"""The web dashboard, REST API and WebSocket, served by the daemon in the engine's event loop.

Modules, one job each:

* :mod:`.config` — the ``http:`` configuration section (:class:`HttpConfig`);
* :mod:`.token` — the bearer token from the config, or generated once into the data directory;
* :mod:`.auth` — who may read and write; :mod:`.context` — per-app shared state and dependencies;
* :mod:`.schemas` — request/response bodies; :mod:`.state` — engine snapshot → API state;
* :mod:`.api` — REST endpoints, ``/healthz``, ``/metrics``; :mod:`.twc` — TWCManager-compatible ones;
* :mod:`.hub` and :mod:`.ws` — the rate-limited WebSocket push;
* :mod:`.history` — in-memory chart buffer and session log (served when no history store is given);
* :mod:`.source` — what the app reads of the history store (a protocol; :mod:`.stored` reads through it);
* :mod:`.guard` — token before body, bounded bodies in bounded time (ASGI middleware in front of it all);
  :mod:`.slowclient` — uvicorn's protocol with a deadline for request headers;
* :mod:`.metrics` — Prometheus text; :mod:`.app` — the app factory; :mod:`.server` — uvicorn as an
  engine service (:func:`attach_http`, given the ``http:`` section, the engine's surface, the data
  directory for the token and, optionally, the history store).

Importing this package loads only the configuration model, not FastAPI: :mod:`ecotrack.app` imports
:mod:`.server` when ``http.enabled`` is true.

The dashboard's sources are in ``web/`` at the top of the repository; ``make web`` bundles them into
``static/`` here, which is committed so ``pip install`` needs no npm.
"""

from __future__ import annotations

from ecotrack.services.web.config import HttpConfig

__all__ = ["HttpConfig"]
