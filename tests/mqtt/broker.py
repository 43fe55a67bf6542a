"""A real mosquitto for tests: own process, generated config, free loopback port; stop/kill/restart.

Not the system service: every test gets its broker on its own port with persistence off, so a restart
really loses the retained messages (and ecotrack has to republish them).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import aiomqtt

REPO_ROOT = Path(__file__).resolve().parents[2]


def find_mosquitto() -> str:
    """Path of the mosquitto binary; installs the Debian package (scripts/ensure-debian-packages) if missing."""
    for _ in range(2):
        found = shutil.which("mosquitto") or next(
            (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
        )
        if found:
            return found
        subprocess.run([str(REPO_ROOT / "scripts" / "ensure-debian-packages")], check=False)
    raise RuntimeError("mosquitto is not installed and could not be installed (apt-get install mosquitto)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """One mosquitto process on 127.0.0.1:<port>."""

    def __init__(self, directory: Path, port: int | None = None, *, nodelay: bool = True) -> None:
        self.directory = directory
        self.port = port if port is not None else free_port()
        self.binary = find_mosquitto()
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = directory / "mosquitto.conf"
        self.log = directory / "mosquitto.log"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if nodelay:  # mosquitto's default (Nagle on) adds ~40 ms per hop on loopback
            lines.append("set_tcp_nodelay true")
        if os.geteuid() == 0:
            lines.append("user root")  # else mosquitto drops to a user that cannot read the temp dir
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        log = self.log.open("ab")
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.02)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop(kill=True)
        deadline = time.monotonic() + 5
        while True:  # the port may linger for a moment
            try:
                self.start()
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


class Recorder:
    """A test client that records every message on its filters and can wait for a condition."""

    def __init__(self, port: int, filters: tuple[str, ...] = ("#",)) -> None:
        self.port = port
        self.filters = filters
        self.messages: list[tuple[str, str, bool]] = []
        self.client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def __aenter__(self) -> Recorder:
        self.client = aiomqtt.Client("127.0.0.1", self.port, identifier=f"test-recorder-{id(self)}")
        await self.client.__aenter__()
        for f in self.filters:
            await self.client.subscribe(f)
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._task
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.__aexit__(None, None, None)

    async def _read(self) -> None:
        assert self.client is not None
        async for m in self.client.messages:
            payload = m.payload if isinstance(m.payload, bytes | bytearray) else str(m.payload or "").encode()
            self.messages.append((m.topic.value, bytes(payload).decode("utf-8", "replace"), bool(m.retain)))
            self._changed.set()

    async def publish(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        assert self.client is not None
        await self.client.publish(topic, payload, retain=retain)

    def last(self, topic: str) -> str | None:
        for t, p, _ in reversed(self.messages):
            if t == topic:
                return p
        return None

    def on(self, topic: str) -> list[str]:
        return [p for t, p, _ in self.messages if t == topic]

    async def wait_for(self, condition: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what or condition}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 0.05)):
                    await self._changed.wait()


async def until(condition: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
    """Poll ``condition`` until true (AssertionError naming ``what`` after ``timeout`` s).

    The default timeout only bounds a failing test: it is long because a loaded machine (CI, two CPUs
    shared with other jobs) can take seconds for what takes milliseconds here.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.02)
