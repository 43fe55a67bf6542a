"""The fault suite: every row of ``docs/reliability.md`` as a test (see :mod:`tests.faults.scenarios`).

The rows spend most of their time waiting for the daemon (max ages, retries, session flushes), so they
run five at a time in threads, each with its own daemon, ports and data directory; each row is still its
own test with its own verdict.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from .scenarios import SCENARIOS, Result

PARALLEL = 5


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result | BaseException]:
    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = {name: pool.submit(run, tmp_path_factory.mktemp(name)) for name, run in SCENARIOS.items()}
        return {name: f.exception() or f.result() for name, f in futures.items()}


@pytest.mark.timeout(400)
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_fault(name: str, outcomes: dict[str, Result | BaseException]) -> None:
    outcome = outcomes[name]
    if isinstance(outcome, BaseException):
        raise outcome
    assert outcome.lost == 0, outcome
