"""One running seam (Rasa + action server + handoff API, real processes) for the whole suite: the
model loads once; tests that kill a process start it again before they end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.system import Seam, running_seam


@pytest.fixture(scope="session")
def seam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seam]:
    from scripts.prepare import model_problem

    if (problem := model_problem()) is not None:
        pytest.fail(f"the fault-injection suite needs the trained Rasa model: {problem} "
                    "(run `make train`)")
    with running_seam(tmp_path_factory.mktemp("faults")) as s:
        yield s


@pytest.fixture
def alive(seam: Seam) -> Iterator[Seam]:
    """The seam, with every process brought back up after the test whatever it killed."""
    yield seam
    for service in seam.system.services:
        if service.process is None or service.process.poll() is not None:
            seam.restart(service.name)
