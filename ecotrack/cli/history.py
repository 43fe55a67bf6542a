"""``ecotrack sessions list`` and ``ecotrack history export``: reading the history from the command line.

Both find the database like the daemon does: the configuration's ``store.url``, else ``ecotrack.db`` in
the data directory (``--data-dir``, else the configuration's ``data_dir``, else the platform default).
A missing SQLite file is reported, never created.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.table import Table

    from ecotrack.services.store.db import Store

__all__ = ["history_app", "sessions_app"]

sessions_app = typer.Typer(
    help=(
        "Charging sessions from the history database.\n\n"
        "Example:\n  [bold]ecotrack sessions list --data-dir ~/.local/share/ecotrack --json[/bold]"
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
)
history_app = typer.Typer(
    help=(
        "Readings, sessions and events from the history database.\n\n"
        "Example:\n  [bold]ecotrack history export --csv --from 2024-06-01 > june.csv[/bold]"
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Configuration file (its store.url / data_dir are used).", show_default=False
    ),
]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory holding ecotrack.db (overrides the config).")
]
FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Start: a date (2024-06-01) or time (2024-06-01T08:00, local unless an offset is given).",
    ),
]
ToOpt = Annotated[
    str | None, typer.Option("--to", help="End (exclusive), same forms as --from; a date means its end.")
]


def parse_when(text: str, *, end: bool = False) -> datetime:
    """A date or ISO date-time; naive values are local time. A bare date as an end means the next midnight."""
    text = text.strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            value = datetime.combine(d + timedelta(days=1) if end else d, time())
        else:
            value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date (2024-06-01) or date-time (2024-06-01T08:00)"
        ) from None
    if value.tzinfo is None:
        value = value.astimezone()  # local time
    return value.astimezone(UTC)


def open_store(config: Path | None, data_dir: Path | None) -> Store:
    """The history database the daemon uses for these options (exit 1 with a message when there is none)."""
    from ecotrack.cli.config import load_or_exit
    from ecotrack.config_load import DataDirError, resolve_data_dir
    from ecotrack.services.store.db import Store, database_url

    cfg = load_or_exit(config) if config is not None else None
    store_cfg = cfg.store if cfg is not None else None
    if store_cfg is not None and store_cfg.url and data_dir is None:
        url = store_cfg.url
    else:
        try:
            url = database_url(None, resolve_data_dir(cfg, data_dir))
        except DataDirError as e:
            typer.echo(str(e), err=True)
            raise typer.Exit(1) from None
        db_file = Path(url.removeprefix("sqlite:///"))
        if not db_file.exists():
            typer.echo(
                f"no history database at {db_file}: run 'ecotrack demo --data-dir DIR' or 'ecotrack run' first, "
                "or pass --data-dir / -c",
                err=True,
            )
            raise typer.Exit(1)
    try:
        return Store(url)
    except Exception as e:
        typer.echo(f"cannot open the history database: {e}", err=True)
        raise typer.Exit(1) from None


SESSION_COLUMNS = [
    "id",
    "loadpoint",
    "charger",
    "vehicle",
    "start",
    "end",
    "energy_kwh",
    "solar_kwh",
    "grid_kwh",
    "solar_share",
    "max_power_kw",
    "meter_start_kwh",
    "meter_end_kwh",
    "cost",
    "savings",
    "currency",
]


@sessions_app.command("list")
def sessions_list(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    loadpoint: Annotated[str | None, typer.Option(help="Only this loadpoint.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line (JSON Lines).")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV with a header row.")] = False,
) -> None:
    """List charging sessions that started in [--from, --to), oldest first.

    Each session: id, loadpoint, charger, vehicle, start, end (empty while it runs), energy_kwh, solar_kwh, grid_kwh, solar_share, max_power_kw, meter readings, cost and savings (when a tariff is configured).

    Example:
      [bold]ecotrack sessions list --data-dir /var/lib/ecotrack --from 2024-06-01 --json[/bold]
    """
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv")
    lo = parse_when(start) if start else None
    hi = parse_when(end, end=True) if end else None
    store = open_store(config, data_dir)
    try:
        sessions = store.sessions(lo, hi, loadpoint)
    finally:
        store.close()
    rows = [s.as_json() for s in sessions]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    if as_csv:
        writer = csv.DictWriter(
            sys.stdout, fieldnames=SESSION_COLUMNS, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
        return
    _print_table(rows)


def _print_table(rows: list[dict[str, Any]]) -> None:
    """The sessions as a table that fits the terminal: names, times and figures are never cut.

    A loadpoint name cut to "dri…" is useless when there are two wallboxes, so nothing wraps; an end on
    the start's day shows only its time. The vehicle column comes last and only when it fits whole
    (a VIN is 17 characters); otherwise a note says that ``--json`` or ``--csv`` show it.
    """
    from rich.console import Console

    console = Console()
    vehicles = any(r["vehicle"] for r in rows)
    table = _sessions_table(rows, vehicle=vehicles)
    if vehicles and console.measure(table, options=console.options.update_width(10_000)).maximum > console.width:
        table = _sessions_table(rows, vehicle=False)
        table.caption = "vehicles: widen the terminal, or use --json / --csv"
        table.caption_justify = "left"
    console.print(table)


def _sessions_table(rows: list[dict[str, Any]], *, vehicle: bool) -> Table:
    from rich import box
    from rich.table import Table

    def local(v: object) -> datetime | None:
        return datetime.fromisoformat(str(v)).astimezone() if v else None

    table = Table(
        title=f"{len(rows)} charging session{'s' if len(rows) != 1 else ''}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    table.add_column("start", no_wrap=True)
    table.add_column("end", no_wrap=True)
    table.add_column("loadpoint", no_wrap=True)
    for col in ("kWh", "solar", "grid", "cost"):
        table.add_column(col, justify="right", no_wrap=True)
    if vehicle:
        table.add_column("vehicle", no_wrap=True)
    for r in rows:
        started, ended = local(r["start"]), local(r["end"])
        share = f"{r['solar_share']:.0%}" if r["solar_share"] is not None else "-"
        cost = f"{r['cost']:.2f} {r['currency'] or ''}".strip() if r["cost"] is not None else "-"
        if ended is None:
            end_text = "running"
        elif started is not None and ended.date() == started.date():
            end_text = ended.strftime("%H:%M")
        else:
            end_text = ended.strftime("%Y-%m-%d %H:%M")
        cells = [
            started.strftime("%Y-%m-%d %H:%M") if started is not None else "-",
            end_text,
            str(r["loadpoint"]),
            f"{r['energy_kwh']:.2f}",
            share,
            f"{r['grid_kwh']:.2f}",
            cost,
        ]
        table.add_row(*cells, *([str(r["vehicle"] or "")] if vehicle else []))
    return table


@history_app.command("export")
def history_export(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="CSV with a header row (the only format so far).")
    ] = True,
    kind: Annotated[
        str,
        typer.Option(
            help="readings (full resolution), readings-5m (5-minute aggregates), sessions or events."
        ),
    ] = "readings",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Export history as CSV: site readings with one power/current column pair per loadpoint, or the 5-minute aggregates, the sessions, or the events.

    Example:
      [bold]ecotrack history export --csv --from 2024-06-01 --to 2024-06-30 -o june.csv[/bold]
    """
    if not as_csv:
        raise typer.BadParameter("only --csv is supported")
    if kind not in {"readings", "readings-5m", "sessions", "events"}:
        raise typer.BadParameter(f"unknown kind {kind!r}: readings, readings-5m, sessions or events")
    lo = parse_when(start) if start else None
    hi = parse_when(end, end=True) if end else None
    store = open_store(config, data_dir)
    try:
        header, rows = _export_rows(store, kind, lo, hi)
    finally:
        store.close()
    fh = output.open("w", newline="", encoding="utf-8") if output is not None else sys.stdout
    try:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    finally:
        if output is not None:
            fh.close()
            typer.echo(f"wrote {len(rows)} rows to {output}", err=True)


def _fmt(v: object) -> object:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, float):
        return round(v, 3)
    return v


def _export_rows(
    store: Store, kind: str, lo: datetime | None, hi: datetime | None
) -> tuple[list[str], list[list[object]]]:
    if kind == "sessions":
        return SESSION_COLUMNS, [
            [_fmt(s.as_json()[c]) for c in SESSION_COLUMNS] for s in store.sessions(lo, hi)
        ]
    if kind == "events":
        return ["time", "kind", "loadpoint", "message"], [
            [_fmt(e.time), e.kind, e.loadpoint or "", e.message] for e in store.events(lo, hi)
        ]
    if kind == "readings-5m":
        site = store.site_aggregates(lo, hi)
        lps = store.loadpoint_aggregates(lo, hi)
        names = sorted({r["loadpoint"] for r in lps})
        by_time: dict[datetime, dict[str, Any]] = {r["bucket"]: r for r in site}
        lp_by: dict[tuple[datetime, str], dict[str, Any]] = {(r["bucket"], r["loadpoint"]): r for r in lps}
        times = sorted(set(by_time) | {b for b, _ in lp_by})
        header = [
            "time",
            "samples",
            "grid_w",
            "grid_min_w",
            "grid_max_w",
            "pv_w",
            "battery_w",
            "battery_soc_pct",
            "surplus_w",
        ]
        header += [f"{n}_{c}" for n in names for c in ("power_w", "max_power_w", "current_a")]
        out: list[list[object]] = []
        for t in times:
            s = by_time.get(t, {})
            row: list[object] = [_fmt(t)] + [_fmt(s.get(c)) for c in header[1:9]]
            for n in names:
                r = lp_by.get((t, n), {})
                row += [_fmt(r.get("power_w")), _fmt(r.get("max_power_w")), _fmt(r.get("current_a"))]
            out.append(row)
        return header, out
    site_rows = store.site_readings(lo, hi)
    lp_rows = store.loadpoint_readings(lo, hi)
    names = sorted({r.loadpoint for r in lp_rows})
    lp_map = {(r.time, r.loadpoint): r for r in lp_rows}
    times = sorted({r.time for r in site_rows} | {t for t, _ in lp_map})
    site_map = {r.time: r for r in site_rows}
    header = ["time", "grid_w", "pv_w", "battery_w", "battery_soc_pct", "surplus_w"]
    header += [f"{n}_{c}" for n in names for c in ("power_w", "current_a", "commanded_a")]
    out = []
    for t in times:
        sr = site_map.get(t)
        row = [_fmt(t)]
        row += [_fmt(getattr(sr, c)) if sr is not None else "" for c in header[1:6]]
        for n in names:
            lr = lp_map.get((t, n))
            row += (
                [_fmt(lr.power_w), _fmt(lr.current_a), _fmt(lr.commanded_a)]
                if lr is not None
                else ["", "", ""]
            )
        out.append(row)
    return header, out
