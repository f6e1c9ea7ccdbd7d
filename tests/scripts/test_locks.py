"""The lock files that `scripts/bootstrap.sh` installs with (`pip install -c <lock>`).

A merge once left two pins of one package in requirements/app.lock and pip refused to build the
environment on a clean clone; these tests catch that before CI does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCKS = {"bot": ROOT / "requirements/bot.lock", "app": ROOT / "requirements/app.lock"}


def pins(lock: Path) -> list[tuple[str, str, int]]:
    """(canonical name, pinned version, line number) of every requirement line."""
    found = []
    for number, raw in enumerate(lock.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        match = re.fullmatch(r"==([^,]+)", str(requirement.specifier))
        assert match, f"{lock.name}:{number}: {raw!r} is not an exact pin (name==version)"
        found.append((canonicalize_name(requirement.name), match.group(1), number))
    return found


@pytest.mark.parametrize("extra", sorted(LOCKS))
def test_every_package_is_pinned_once(extra: str) -> None:
    seen: dict[str, int] = {}
    twice = []
    for name, _version, number in pins(LOCKS[extra]):
        if name in seen:
            twice.append(f"{name} (lines {seen[name]} and {number})")
        seen[name] = number
    assert not twice, f"{LOCKS[extra].name} pins these more than once: {', '.join(twice)}"


@pytest.mark.parametrize("extra", sorted(LOCKS))
def test_the_lock_satisfies_pyproject(extra: str) -> None:
    """Every direct dependency of the extra is in its lock, at a version pyproject accepts."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    locked = {name: version for name, version, _ in pins(LOCKS[extra])}
    problems = []
    for spec in project["optional-dependencies"][extra]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        if name not in locked:
            problems.append(f"{name} is not in the lock")
        elif not SpecifierSet(str(requirement.specifier)).contains(locked[name], prereleases=True):
            problems.append(f"{name}=={locked[name]} does not satisfy {requirement.specifier}")
    assert not problems, f"{LOCKS[extra].name} vs pyproject [{extra}]: {'; '.join(problems)}"
