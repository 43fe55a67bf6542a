"""A Prism's MQTT side with a car behind it, for tests, benchmarks and the demo.

It connects to a broker with its own client (like the real unit), publishes ``<base>/hello``, its
status topics **retained and on change** (plus ``amp``/``w`` every ``report_s`` while charging, as the
real one reports every second), and obeys ``<base>/<port>/command/set_current_limit``, ``set_mode`` and
``set_current_user`` with ``<base>/commandresult/<cmd>/success|error`` acknowledgements. Malformed
commands get an ``error`` result, like the firmware's ``Bad syntax`` answers.

The car follows :class:`~ecotrack.world.car.Car`; ``down_a_per_s`` makes it slow to follow a cut. A car
drawing more than 10 % above the limit trips the Prism: the charge stops (state 4, counted in
``trips``) until the next ``set_mode`` or re-plug — which is what the driver's staged step-down avoids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass, field

import aiomqtt

from ecotrack.chargers.prism.state import PRISM_MAX_A, PRISM_MIN_A, PrismMode, PrismState, format_amps
from ecotrack.clock import Clock, RealClock
from ecotrack.transport.mqtt.connection import raise_if_cancelling
from ecotrack.world.car import Car, CarParams

__all__ = ["PrismSimulator", "SimulatedPrismConfig"]

log = logging.getLogger(__name__)

#: The Prism tolerates this much current above its limit before it stops the charge.
TRIP_RATIO = 1.10


@dataclass(slots=True)
class SimulatedPrismConfig:
    """Settings of a simulated Prism."""

    host: str = "127.0.0.1"
    port: int = 1883
    base_topic: str = "prism"
    prism_port: int = 1
    client_id: str = "prism-simulator"
    voltage_v: float = 236.0
    phases: int = 1
    car: CarParams = field(default_factory=CarParams)
    #: How fast the car lowers its draw after a cut (A/s); None: at once.
    down_a_per_s: float | None = None
    #: Model step and the period of amp/w reports while charging (s).
    report_s: float = 1.0
    car_connected: bool = True
    #: Limit at power-on (A).
    initial_limit_a: float = 32.0
    initial_mode: int = int(PrismMode.NORMAL)


class PrismSimulator:
    """A simulated Prism on an MQTT broker (see the module docstring)."""

    def __init__(self, config: SimulatedPrismConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config if config is not None else SimulatedPrismConfig()
        self.clock = clock if clock is not None else RealClock()
        self.car = Car(self.config.car)
        self.car_connected = self.config.car_connected
        self.mode = self.config.initial_mode
        self.limit_a = self.config.initial_limit_a
        self.user_amp = 16
        self.drawn_a = 0.0
        self.wh = 0.0
        self.wh_total = 719_800.0
        self.session_s = 0.0
        self.tripped = False
        #: Times the car drew more than 10 % above the limit (the real Prism stops the charge then).
        self.trips = 0
        #: Highest ratio of drawn current to limit seen while charging.
        self.max_over_ratio = 0.0
        #: Commands received: (clock time, name, payload text).
        self.commands: list[tuple[float, str, str]] = []
        self.connected = asyncio.Event()
        #: When True the simulator publishes nothing (a hung Prism, for offline tests).
        self.silent = False
        self._published: dict[str, str] = {}
        self._client: aiomqtt.Client | None = None
        self._last_s: float | None = None
        self._last_report_s = -math.inf

    @property
    def base(self) -> str:
        """``<base_topic>/<port>``."""
        return f"{self.config.base_topic}/{self.config.prism_port}"

    # ------------------------------------------------------------------ the car and the EVSE
    @property
    def state(self) -> PrismState:
        """What the Prism would publish as ``state``."""
        if not self.car_connected:
            return PrismState.IDLE
        if self.mode == PrismMode.PAUSE or self.tripped:
            return PrismState.PAUSE
        return PrismState.CHARGING if self.drawn_a > 0 else PrismState.WAITING

    def offer_a(self) -> float:
        """The current signalled to the car (0 when paused, tripped or unplugged)."""
        if not self.car_connected or self.tripped or self.mode not in (PrismMode.NORMAL, PrismMode.SOLAR):
            return 0.0
        return self.limit_a

    def plug(self, connected: bool) -> None:
        """Connect or disconnect the car; a new plug-in starts a new session."""
        self.car_connected = connected
        self.tripped = False
        if connected:
            self.wh = 0.0
            self.session_s = 0.0
        else:
            self.car.step(0.0, 0.0)
            self.drawn_a = 0.0

    def power_w(self) -> float:
        """Power the car draws now (W)."""
        return self.drawn_a * self.config.voltage_v * self.config.phases

    def advance(self) -> None:
        """Step the car model to the clock's now."""
        now = self.clock.now()
        if self._last_s is None:
            self._last_s = now
            return
        dt = now - self._last_s
        if dt <= 0:
            return
        self._last_s = now
        offer = self.offer_a()
        while dt > 0:
            step = min(dt, 0.2)
            dt -= step
            model = self.car.step(step, offer)
            down = self.config.down_a_per_s
            if model < self.drawn_a and down is not None and offer > 0:
                self.drawn_a = max(model, self.drawn_a - down * step)
            else:
                self.drawn_a = model
            if self.drawn_a > 0 and self.limit_a > 0 and offer > 0:
                ratio = self.drawn_a / self.limit_a
                self.max_over_ratio = max(self.max_over_ratio, ratio)
                if ratio > TRIP_RATIO + 1e-9:
                    self.trips += 1
                    self.tripped = True
                    log.warning(
                        "simulated Prism: car draws %.1f A, more than 10 %% above the limit %.1f A: charge stopped",
                        self.drawn_a,
                        self.limit_a,
                    )
                    self.car.step(0.0, 0.0)
                    self.drawn_a = 0.0
                    offer = 0.0
            energy = self.drawn_a * self.config.voltage_v * self.config.phases * step / 3600.0
            self.wh += energy
            self.wh_total += energy
            if self.car_connected:
                self.session_s += step

    def status_values(self) -> dict[str, str]:
        """Every status topic suffix and its payload now."""
        state = self.state
        return {
            "state": str(int(state)),
            "mode": str(self.mode),
            "volt": f"{self.config.voltage_v:.1f}",
            "w": str(round(self.power_w())),
            "amp": str(round(self.drawn_a * 1000)),
            "pilot": format_amps(self.offer_a() if state != PrismState.PAUSE else PRISM_MIN_A),
            "user_amp": str(self.user_amp),
            "session_time": str(int(self.session_s)),
            "wh": str(round(self.wh)),
            "wh_total": str(round(self.wh_total)),
            "error": "0",
        }

    # ------------------------------------------------------------------ commands
    def handle_command(self, name: str, payload: str) -> tuple[bool, str]:
        """Apply one command; (ok, message) as published on commandresult."""
        self.commands.append((self.clock.now(), name, payload))
        self.advance()
        text = payload.strip()
        if name == "set_current_limit":
            try:
                value = float(text)
            except ValueError:
                return False, "Bad syntax, current must be a number"
            if not math.isfinite(value):
                return False, "Bad syntax, current must be a number"
            self.limit_a = min(PRISM_MAX_A, max(PRISM_MIN_A, value))
            return True, format_amps(self.limit_a)
        if name == "set_mode":
            if text not in ("1", "2", "3", "4"):
                return False, "Bad syntax, mode must be [0-9]"
            self.mode = int(text)
            self.tripped = False
            return True, text
        if name == "set_current_user":
            if not text.isdigit() or not PRISM_MIN_A <= int(text) <= PRISM_MAX_A:
                return False, "Bad syntax, current must be an integer 6-32"
            self.user_amp = int(text)
            return True, text
        return False, f"Unknown command {name}"

    # ------------------------------------------------------------------ MQTT
    async def _publish_status(self, client: aiomqtt.Client, force: bool = False) -> None:
        if self.silent:
            return
        now = self.clock.now()
        periodic = self.state == PrismState.CHARGING and now - self._last_report_s >= self.config.report_s
        if periodic:
            self._last_report_s = now
        for key, value in self.status_values().items():
            if force or self._published.get(key) != value or (periodic and key in ("amp", "w")):
                self._published[key] = value
                await client.publish(f"{self.base}/{key}", value, qos=0, retain=True)
                raise_if_cancelling()

    async def run(self) -> None:
        """Connect and simulate until cancelled; reconnects when the broker goes away."""
        cfg = self.config
        while True:
            try:
                async with aiomqtt.Client(
                    cfg.host, cfg.port, identifier=cfg.client_id, keepalive=10
                ) as client:
                    self._client = client
                    await client.subscribe(f"{self.base}/command/+")
                    await client.publish(f"{cfg.base_topic}/hello", "Prism-SIM001 3.2.77 (simulated)")
                    self.advance()
                    await self._publish_status(client, force=True)
                    self.connected.set()
                    ticker = asyncio.create_task(self._tick(client))
                    try:
                        async for message in client.messages:
                            name = message.topic.value.rsplit("/", 1)[1]
                            raw = message.payload
                            payload = (
                                raw.decode("utf-8", "replace")
                                if isinstance(raw, bytes | bytearray)
                                else str(raw or "")
                            )
                            ok, text = self.handle_command(name, payload)
                            result = "success" if ok else "error"
                            await client.publish(f"{cfg.base_topic}/commandresult/{name}/{result}", text)
                            raise_if_cancelling()
                            await self._publish_status(client)
                    finally:
                        ticker.cancel()
                        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                            await ticker
            except aiomqtt.MqttError as e:
                log.info("simulated Prism: broker lost (%s); reconnecting", e)
            finally:
                self._client = None
                self.connected.clear()
            await asyncio.sleep(0.2)

    async def _tick(self, client: aiomqtt.Client) -> None:
        step = min(self.config.report_s, 0.2)
        while True:
            await self.clock.sleep(step)
            self.advance()
            await self._publish_status(client)
