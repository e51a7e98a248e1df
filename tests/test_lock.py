"""The lock files pin exactly what pyproject.toml asks for, so a fresh machine installs what CI tested.

Checked offline, from the installed distributions' own metadata: starting at pyproject.toml's
requirements, every requirement reached (markers evaluated for this machine) must be pinned in
the lock with a hash, at a version inside its range, and the lock must pin nothing else. A
dependency added to pyproject.toml, a range moved past its pin, or one removed without
regenerating the locks (`bash scripts/lock`) fails here.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)(?:\s*\\)?$")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


@dataclass
class Pin:
    version: Version
    hashes: list[str] = field(default_factory=list)


def read_lock(name: str) -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        if found := PIN.match(line):
            current = pins[canonicalize_name(found.group(1))] = Pin(Version(found.group(2)))
        elif current is not None and (hashes := HASH.findall(line)):
            current.hashes += hashes
    return pins


def roots(*extras: str) -> list[Requirement]:
    """What pyproject.toml asks for: the build backend, the dependencies, and the named extras."""
    wanted = [*PYPROJECT["build-system"]["requires"], *PYPROJECT["project"]["dependencies"]]
    for extra in extras:
        wanted += PYPROJECT["project"]["optional-dependencies"][extra]
    return [Requirement(text) for text in wanted]


def reached(requirements: list[Requirement]) -> dict[str, list[Requirement]]:
    """Every distribution the requirements need on this machine, with the requirements naming it."""
    found: dict[str, list[Requirement]] = {}
    extras_done: set[tuple[str, str]] = set()
    queue = [(requirement, "") for requirement in requirements]
    while queue:
        requirement, extra = queue.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        found.setdefault(name, []).append(requirement)
        try:
            needs = distribution(name).requires or []
        except PackageNotFoundError:
            continue  # reported by the test as not installed
        for wanted_extra in {"", *requirement.extras}:
            if (name, wanted_extra) not in extras_done:
                extras_done.add((name, wanted_extra))
                queue += [(Requirement(text), wanted_extra) for text in needs]
    return found


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))])
def test_the_lock_pins_exactly_what_pyproject_asks_for(lock: str, extras: tuple[str, ...]) -> None:
    pins, needed = read_lock(lock), reached(roots(*extras))

    assert sorted(set(needed) - set(pins)) == [], f"needed but not pinned in {lock}; run `bash scripts/lock`"
    assert sorted(set(pins) - set(needed)) == [], f"pinned in {lock} but nothing needs it; run `bash scripts/lock`"
    outside = [
        f"{name}=={pins[name].version} but {requirement} asks for {requirement.specifier}"
        for name, requirements in needed.items()
        for requirement in requirements
        if not requirement.specifier.contains(pins[name].version, prereleases=True)
    ]
    assert outside == []
    assert [name for name, pin in pins.items() if not pin.hashes] == []


def test_the_bot_lock_and_the_test_lock_agree() -> None:
    """The tests run on the very versions the bot is installed with."""
    bot, dev = read_lock("requirements.lock"), read_lock("requirements-dev.lock")
    assert {name: (pin.version, sorted(pin.hashes)) for name, pin in bot.items()} == {
        name: (dev[name].version, sorted(dev[name].hashes)) for name in bot
    }


def test_this_environment_was_installed_from_the_lock() -> None:
    installed = {name: Version(distribution(name).version) for name in read_lock("requirements-dev.lock")}
    assert installed == {name: pin.version for name, pin in read_lock("requirements-dev.lock").items()}


def test_a_dependency_missing_from_the_lock_is_caught() -> None:
    """The check above can fail: a new requirement that the lock does not pin is found."""
    needed = reached([*roots(), Requirement("tomli-w>=1")])
    assert "tomli-w" in set(needed) - set(read_lock("requirements.lock"))
