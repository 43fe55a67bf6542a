"""The HTTP side every web-API meter shares: one httpx client, requests, and readable failures.

Vendors' APIs fail in a handful of ways and users need to tell them apart: wrong credentials (401),
a broken device (500), nothing listening, a device that hangs, a proxy or captive page answering with
HTML, an answer cut off mid-way. :meth:`HttpSource.request` and :meth:`HttpSource.get_json` turn each
into a :class:`~ecotrack.meters.polling.SourceError` that says which one, with the URL (never its
query string, which may carry an API key).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx

from ecotrack.clock import Clock
from ecotrack.meters.polling import PollingSource, PollSettings, SourceError

__all__ = ["HttpSource", "QueryRedactor"]

_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


class QueryRedactor(logging.Filter):
    """Drops the query string from the URLs httpx logs ("HTTP Request: GET <url> ...") at INFO.

    Some vendors take their key only as a query parameter (SolarEdge ``api_key``, Efergy ``token``);
    httpx would print it in every request line. The filter rewrites the record's URL argument, so the
    line stays useful (method, host, path, status) without the secret.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                arg.copy_with(query=None) if isinstance(arg, httpx.URL) and arg.query else arg
                for arg in record.args
            )
        return True


def _redact_httpx_queries() -> None:
    """Attach one :class:`QueryRedactor` to httpx's logger (idempotent)."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, QueryRedactor) for f in logger.filters):
        logger.addFilter(QueryRedactor())


class HttpSource(PollingSource):
    """A polling source that talks HTTP to ``base_url``.

    ``auth`` is an httpx auth (basic auth for smart-me) and ``headers`` extra headers (a bearer
    token). ``verify_tls`` False accepts self-signed certificates (Envoy, Powerwall serve HTTPS with
    one). The client is created on first use and kept (connection reuse); :meth:`close` drops it.
    """

    def __init__(
        self,
        name: str,
        clock: Clock,
        settings: PollSettings | None = None,
        *,
        base_url: str = "",
        auth: httpx.Auth | None = None,
        headers: dict[str, str] | None = None,
        verify_tls: bool = True,
    ) -> None:
        super().__init__(name, clock, settings)
        self.base_url = base_url.rstrip("/")
        self._auth = auth
        self._headers = dict(headers or {})
        self._verify_tls = verify_tls
        self._client: httpx.AsyncClient | None = None

    def describe(self) -> str:
        return self.base_url or self.name

    @property
    def client(self) -> httpx.AsyncClient:
        """The shared client (created on first use)."""
        if self._client is None:
            _redact_httpx_queries()
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                auth=self._auth,
                headers={"Accept": "application/json, text/plain;q=0.9, */*;q=0.5", **self._headers},
                timeout=httpx.Timeout(self.settings.timeout_s),
                verify=self._verify_tls,
                follow_redirects=True,
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        json_body: object = None,
        content: str | None = None,
        headers: dict[str, str] | None = None,
        ok_statuses: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send a request; any transport failure or non-2xx status is a :class:`SourceError`.

        Statuses in ``ok_statuses`` are returned instead (the Powerwall logs in again on a 401).
        """
        try:
            response = await self.client.request(
                method,
                url,
                params=params,
                json=json_body,
                content=content,
                headers=headers,
            )
        except httpx.TimeoutException:
            raise SourceError(f"{self._where(url)}: no answer within {self.settings.timeout_s:g} s") from None
        except httpx.ConnectError as e:
            raise SourceError(f"{self._where(url)}: cannot connect ({_reason(e)})") from None
        except httpx.HTTPError as e:
            raise SourceError(f"{self._where(url)}: {type(e).__name__} ({_reason(e)})") from None
        if response.is_success or response.status_code in ok_statuses:
            return response
        raise SourceError(_status_message(response))

    async def get_json(self, url: str, *, params: dict[str, str] | None = None) -> Any:
        """GET ``url`` and parse the answer as JSON."""
        return self.parse_json(await self.request("GET", url, params=params))

    async def get_text(self, url: str, *, params: dict[str, str] | None = None) -> str:
        """GET ``url`` and return the body as text (an HTML error page is still an error)."""
        response = await self.request("GET", url, params=params)
        text = response.text
        if _looks_like_html(text):
            raise SourceError(f"{_url(response)}: answered with an HTML page{_title(text)}, not a value")
        return text

    @staticmethod
    def parse_json(response: httpx.Response) -> Any:
        """The response's JSON, or a :class:`SourceError` telling HTML, empty and truncated apart."""
        text = response.text
        if not text.strip():
            raise SourceError(f"{_url(response)}: empty answer (expected JSON)")
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            if _looks_like_html(text):
                raise SourceError(
                    f"{_url(response)}: answered with an HTML page{_title(text)}, not JSON"
                ) from None
            hint = " (truncated?)" if e.pos >= len(text.rstrip()) else ""
            raise SourceError(f"{_url(response)}: invalid JSON{hint}: {e.msg} at character {e.pos}") from None

    def _where(self, url: str) -> str:
        if url.startswith(("http://", "https://")):
            return str(httpx.URL(url).copy_with(query=None))
        return self.base_url + (url if url.startswith("/") else "/" + url)


def _url(response: httpx.Response) -> str:
    """The request's URL without its query (which may hold an API key)."""
    return str(response.request.url.copy_with(query=None))


def _status_message(response: httpx.Response) -> str:
    status = response.status_code
    phrase = response.reason_phrase or httpx.codes.get_reason_phrase(status)
    base = f"{_url(response)}: HTTP {status} {phrase}".rstrip()
    if status in (401, 403):
        return base + ": check the credentials (token, password or API key) in the configuration"
    if status == 404:
        return base + ": wrong URL, or the device does not offer this API"
    if status == 429:
        return base + ": too many requests; increase interval_s"
    text = response.text
    if _looks_like_html(text):
        return base + _title(text)
    snippet = " ".join(text.split())[:120]
    return base + (f": {snippet}" if snippet else "")


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in head


def _title(text: str) -> str:
    m = _TITLE_RE.search(text)
    title = " ".join(m.group(1).split())[:80] if m else ""
    return f" ({title!r})" if title else ""


def _reason(e: Exception) -> str:
    text = str(e).strip()
    return text if text else type(e).__name__
