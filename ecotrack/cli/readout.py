"""What the ``read`` commands (``meters read``, ``vehicles read``) share: ending a device's run task,
saying why it stopped, and printing the results as JSON lines or a table with the failures in full.

Each command reads its devices its own way (a meter is polled or gives a first reading, a vehicle
settles for a moment); the parts here are the same for both, so both commands answer alike.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["DeviceResult", "print_failures", "print_results", "stop_task", "why_stopped"]


class DeviceResult(Protocol):
    """One device's line of a ``read`` command: its name, whether it failed and why, its JSON object."""

    @property
    def name(self) -> str: ...

    @property
    def error(self) -> str | None: ...

    @property
    def failed(self) -> bool: ...

    def to_json(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=DeviceResult)


def why_stopped(task: asyncio.Future[Any], nothing: str) -> str:
    """Why a finished run ``task`` gave no value: its exception, or ``nothing`` when it simply returned."""
    exc = task.exception()
    return f"{type(exc).__name__}: {exc}" if exc else nothing


async def stop_task(task: asyncio.Future[Any]) -> None:
    """Cancel a device's run ``task`` and wait until it has ended (its own errors are swallowed)."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def print_failures(console: Console, results: Sequence[DeviceResult], nothing: str) -> None:
    """Each failed device's error in full below the table (errors are long and must not be cut to a column)."""
    from rich.text import Text

    for res in results:
        if res.failed:
            console.print(Text.assemble((res.name, "bold red"), ": ", res.error or nothing), soft_wrap=True)


def print_results(results: Sequence[R], as_json: bool, print_table: Callable[[Sequence[R]], None]) -> None:
    """Print ``results`` as one JSON object per line or with ``print_table``; exit 1 when any failed."""
    if as_json:
        for res in results:
            typer.echo(json.dumps(res.to_json()))
    else:
        print_table(results)
    if any(res.failed for res in results):
        raise typer.Exit(1)
