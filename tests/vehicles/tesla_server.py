"""A local HTTP server speaking the Tesla Fleet API's documented JSON (token endpoint, vehicle, vehicle_data).

Only what ecotrack uses: ``POST /oauth2/v3/token`` (refresh-token grant, rotating the refresh token),
``GET /api/1/vehicles/{vin}`` (state, never wakes) and ``GET /api/1/vehicles/{vin}/vehicle_data``
(408 while the car sleeps, as Tesla documents), plus ``POST .../wake_up`` so a test can prove that it
is never called. ``script`` queues canned answers (status, body, headers) for the next data requests.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

VIN = "5YJ3E1EA7KF000001"


def vehicle_data(soc: int = 64, limit: int = 80, charging_state: str = "Charging",
                 lat: float = 52.52, lon: float = 13.405) -> dict[str, Any]:
    """A vehicle_data body shaped like Tesla's documented example (trimmed to the fields that matter)."""
    return {
        "response": {
            "id": 100021,
            "vehicle_id": 99999,
            "vin": VIN,
            "state": "online",
            "charge_state": {
                "battery_level": soc,
                "battery_range": 190.3,
                "est_battery_range": 150.5,
                "charge_limit_soc": limit,
                "charging_state": charging_state,
                "charge_amps": 16,
                "charge_current_request": 16,
                "charge_current_request_max": 32,
                "charger_actual_current": 16 if charging_state == "Charging" else 0,
                "conn_charge_cable": "IEC",
                "timestamp": 1692141038420,
            },
            "drive_state": {"latitude": lat, "longitude": lon, "heading": 289, "timestamp": 1692141038419},
        }
    }


class TeslaServer:
    """The fake Fleet API on 127.0.0.1 (a real socket, a real HTTP/1.1 exchange)."""

    def __init__(self) -> None:
        self.car_state = "online"
        self.data: dict[str, Any] = vehicle_data()
        self.access_token = "A1"
        self.refresh_token = "R1"
        self.requests: list[tuple[str, str, str | None]] = []
        self.commands: list[tuple[str, Any]] = []
        self.command_result = True
        self.script: deque[tuple[int, bytes, dict[str, str]]] = deque()
        self.state_script: deque[tuple[int, bytes, dict[str, str]]] = deque()
        self._lock = threading.Lock()
        self._n = 1
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server_body = self.rfile.read(length)
                form = parse_qs(server_body.decode())
                path = urlsplit(self.path).path
                with server._lock:
                    server.requests.append(("POST", path, self.headers.get("Authorization")))
                    if path.startswith(f"/api/1/vehicles/{VIN}/"):
                        if self.headers.get("Authorization") != f"Bearer {server.access_token}":
                            self._send(401, b'{"error":"invalid bearer token"}')
                            return
                        server.commands.append((path.rsplit("/", 1)[-1], json.loads(server_body or b"{}")))
                        if path.endswith("/wake_up"):
                            self._send(200, b'{"response":{"state":"online"}}')
                        elif server.car_state != "online":
                            self._send(408, b'{"response":null,"error":"vehicle unavailable"}')
                        else:
                            ok = server.command_result
                            body = {"response": {"result": ok, "reason": "" if ok else "not_charging"}}
                            self._send(200, json.dumps(body).encode())
                        return
                    if path == "/oauth2/v3/token":
                        if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [server.refresh_token]:
                            self._send(401, b'{"error":"login_required"}')
                            return
                        server._n += 1
                        server.access_token, server.refresh_token = f"A{server._n}", f"R{server._n}"
                        body = {"access_token": server.access_token, "refresh_token": server.refresh_token,
                                "expires_in": 28800, "token_type": "Bearer"}
                        self._send(200, json.dumps(body).encode())
                        return
                self._send(404, b"{}")

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                auth = self.headers.get("Authorization")
                with server._lock:
                    server.requests.append(("GET", path, auth))
                    if auth != f"Bearer {server.access_token}":
                        self._send(401, b'{"error":"invalid bearer token"}')
                        return
                    if path == f"/api/1/vehicles/{VIN}":
                        if server.state_script:
                            self._send(*server.state_script.popleft())
                            return
                        body = {"response": {"id": 100021, "vin": VIN, "state": server.car_state}}
                        self._send(200, json.dumps(body).encode())
                        return
                    if path == f"/api/1/vehicles/{VIN}/vehicle_data":
                        if server.script:
                            self._send(*server.script.popleft())
                            return
                        if server.car_state != "online":
                            self._send(408, b'{"response":null,"error":"vehicle unavailable: vehicle is offline or asleep"}')
                            return
                        self._send(200, json.dumps(server.data).encode())
                        return
                self._send(404, b"{}")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> TeslaServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def paths(self) -> list[str]:
        with self._lock:
            return [p.rsplit("/", 1)[-1] for _, p, _ in self.requests]
