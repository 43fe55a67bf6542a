"""The Modbus side every register meter shares: one pymodbus client (TCP or RTU) and checked reads.

pymodbus reports a device's refusal as an exception *response* and a lost link as an exception;
:meth:`ModbusSource.read` turns both into a :class:`~ecotrack.meters.polling.SourceError` naming the
address, and a failed attempt drops the connection so the next one reconnects (a device that was
rebooted, or a TCP link a NAT forgot, comes back without a restart). pymodbus' own retries are off:
the poll loop retries.
"""

from __future__ import annotations

import logging
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from ecotrack.clock import Clock
from ecotrack.meters.polling import PollingSource, PollSettings, SourceError

__all__ = ["ModbusSource", "Transport"]

log = logging.getLogger(__name__)

#: pymodbus' exception codes in words.
_EXCEPTIONS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}


class Transport:
    """Where a Modbus device is: TCP ``host:port`` or a serial ``device`` (RTU)."""

    def __init__(
        self,
        *,
        host: str | None = None,
        port: int = 502,
        device: str | None = None,
        baudrate: int = 9600,
        parity: str = "N",
        stopbits: int = 1,
    ) -> None:
        if (host is None) == (device is None):
            raise ValueError("set exactly one of host or device")
        self.host, self.port, self.device = host, port, device
        self.baudrate, self.parity, self.stopbits = baudrate, parity, stopbits

    @classmethod
    def from_config(cls, config: Any) -> Transport:
        """From a Modbus config model."""
        return cls(
            host=config.host,
            port=config.port,
            device=config.device,
            baudrate=config.baudrate,
            parity=config.parity,
            stopbits=config.stopbits,
        )

    def __str__(self) -> str:
        return (
            f"{self.host}:{self.port}" if self.host is not None else f"{self.device} ({self.baudrate} baud)"
        )

    def client(self, timeout_s: float) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        """A new, unconnected pymodbus client."""
        if self.host is not None:
            return AsyncModbusTcpClient(self.host, port=self.port, timeout=timeout_s, retries=0)
        assert self.device is not None
        return AsyncModbusSerialClient(
            self.device,
            baudrate=self.baudrate,
            parity=self.parity,
            stopbits=self.stopbits,
            bytesize=8,
            timeout=timeout_s,
            retries=0,
        )


class ModbusSource(PollingSource):
    """A polling source reading registers from unit ``unit_id`` over ``transport``."""

    def __init__(
        self, name: str, clock: Clock, settings: PollSettings | None, *, transport: Transport, unit_id: int
    ) -> None:
        super().__init__(name, clock, settings)
        self.transport = transport
        self.unit_id = unit_id
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None

    def describe(self) -> str:
        return f"{self.transport} unit {self.unit_id}"

    async def connect(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        """The connected client (connecting when needed)."""
        if self._client is not None and self._client.connected:
            return self._client
        await self.reset()
        client = self.transport.client(self.settings.timeout_s)
        self._client = client
        if not await client.connect():
            raise SourceError(f"{self.describe()}: cannot connect")
        return client

    async def read(self, address: int, count: int, *, kind: str = "holding") -> list[int]:
        """``count`` registers from ``address`` (``kind`` "holding" or "input")."""
        client = await self.connect()
        what = f"{self.describe()}: reading {kind} registers {address}..{address + count - 1}"
        try:
            if kind == "input":
                response = await client.read_input_registers(address, count=count, device_id=self.unit_id)
            else:
                response = await client.read_holding_registers(address, count=count, device_id=self.unit_id)
        except ModbusException as e:
            raise SourceError(f"{what}: {e}") from None
        if response.isError():
            code = getattr(response, "exception_code", None)
            words = _EXCEPTIONS.get(code, "error") if isinstance(code, int) else "error"
            raise SourceError(f"{what}: the device answered exception {code} ({words})")
        registers = list(response.registers)
        if len(registers) < count:
            raise SourceError(f"{what}: got {len(registers)} registers")
        return registers[:count]

    async def reset(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            client.close()

    async def close(self) -> None:
        await self.reset()
