#!/usr/bin/env python3
"""Run the fault suite's rows and print (or write) the table of ``docs/reliability.md``.

Every row starts the real daemon as a process and injects one fault (see ``tests/faults/scenarios.py``);
the same rows run as tests under ``make test``. Usage::

    python scripts/reliability.py                          # print the table
    python scripts/reliability.py --write docs/reliability.md
    python scripts/reliability.py --only meter_hangs broker_restart
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from tests.faults.scenarios import SCENARIOS, Result  # noqa: E402

HEADER = ["Fault", "What the daemon did", "Time to safe current", "Time to recover", "Rows lost",
          "Highest current commanded"]
BEGIN, END = "<!-- faults:begin -->", "<!-- faults:end -->"


def table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", type=Path, help="replace the table between the markers in this file")
    parser.add_argument("--only", nargs="*", choices=list(SCENARIOS), help="run only these rows")
    args = parser.parse_args()
    names = args.only or list(SCENARIOS)
    rows: list[list[str]] = []
    failed = 0
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] {name} ...", end=" ", flush=True, file=sys.stderr)
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"fault-{name}-") as tmp:
            try:
                result: Result = SCENARIOS[name](Path(tmp))
            except Exception as exc:  # a row that fails is reported in the table, not hidden
                failed += 1
                traceback.print_exc()
                rows.append([name, f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}", "", "", "?",
                             ""])
                print(f"FAILED ({time.monotonic() - t0:.0f} s)", file=sys.stderr)
                continue
        rows.append(result.cells())
        print(f"ok ({time.monotonic() - t0:.0f} s)", file=sys.stderr)
    text = table(rows)
    print(text)
    if args.write:
        doc = args.write.read_text()
        start, end = doc.index(BEGIN) + len(BEGIN), doc.index(END)
        args.write.write_text(doc[:start] + "\n" + text + "\n" + doc[end:])
        print(f"wrote {args.write}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
