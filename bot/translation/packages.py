"""Argos Translate packages on disk: read them, check an archive, install it, find paths.

The standard library only: the CLI stays light, and argostranslate (hundreds of MB, settings
pinned at import) lives in the translation worker alone. Installed packages are folders in
`<translation_dir>/packages`, each with a metadata.json; the worker notices new pairs by itself.
"""

from __future__ import annotations

import fnmatch
import json
import tempfile
import urllib.request
import zipfile
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bot.translation.worker import safe_package  # the worker's own rule; argostranslate is imported lazily there

PIVOT = "en"  # Argos publishes most languages to and from English
DOWNLOAD_TIMEOUT = 30.0  # seconds without a byte before a download gives up
NO_MINISBD = (
    "it has no MiniSBD sentence splitter (minisbd/*.onnx): argostranslate would download one from "
    "the internet at first use, so the bot refuses it"
)
REFUSED = "refused: would need the internet (no minisbd/*.onnx inside)"
BROKEN = "broken, remove it (argostranslate loads no package at all while it is there):"


class PackageError(Exception):
    """Why an archive cannot be installed, in one line."""


@dataclass(frozen=True)
class Package:
    folder: Path
    from_code: str = ""
    to_code: str = ""
    from_name: str = ""
    to_name: str = ""
    version: str = ""
    problem: str | None = None  # why the bot cannot use it; None if it can

    @property
    def pair(self) -> tuple[str, str]:
        return self.from_code, self.to_code

    @property
    def broken(self) -> bool:
        return bool(self.problem and self.problem.startswith(BROKEN))


def packages_dir(translation_dir: Path) -> Path:
    return translation_dir / "packages"


def installed(translation_dir: Path) -> list[Package]:
    """Every folder in the packages directory, as argostranslate would see it."""
    folder = packages_dir(translation_dir)
    if not folder.is_dir():
        return []
    return [read_package(path) for path in sorted(folder.iterdir()) if path.is_dir()]


def read_package(folder: Path) -> Package:
    try:
        metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Package(folder, problem=f"{BROKEN} no metadata.json")
    except (OSError, UnicodeDecodeError, ValueError):
        metadata = None
    if not isinstance(metadata, dict):
        return Package(folder, problem=f"{BROKEN} metadata.json is not a readable JSON object")
    problem = _metadata_problem(metadata)
    if problem:
        return Package(folder, problem=f"ignored: {problem}")
    return Package(
        folder, metadata["from_code"], metadata["to_code"], metadata.get("from_name", ""), metadata.get("to_name", ""),
        str(metadata.get("package_version", "")), None if safe_package(folder) else REFUSED,
    )  # fmt: skip


def usable_pairs(packages: Iterable[Package]) -> set[tuple[str, str]]:
    """The pairs the worker can use: none at all while a broken folder makes argostranslate fail."""
    packages = list(packages)
    if any(package.broken for package in packages):
        return set()
    return {package.pair for package in packages if package.problem is None}


# --- checking and installing an archive --------------------------------------------------------

def check_archive(archive: zipfile.ZipFile) -> tuple[str, dict]:
    """The archive's one top-level folder and its metadata, or PackageError saying what is wrong."""
    names = archive.namelist()
    for name in names:
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or ".." in parts or (parts and parts[0].endswith(":")):
            raise PackageError(f"unsafe path {name!r} in the archive (absolute or with ..)")
    roots = {name.split("/", 1)[0] for name in names}
    if len(roots) != 1 or any("/" not in name for name in names) or roots & {"", "."}:
        raise PackageError(f"an .argosmodel holds exactly one top-level folder; this one holds {sorted(roots)}")
    root = roots.pop()
    inside = {name.removeprefix(f"{root}/") for name in names}
    try:
        metadata = json.loads(archive.read(f"{root}/metadata.json"))
    except KeyError:
        raise PackageError(f"{root}/metadata.json is missing") from None
    except (ValueError, UnicodeDecodeError):
        raise PackageError(f"{root}/metadata.json is not valid JSON") from None
    problem = _metadata_problem(metadata)
    if problem:
        raise PackageError(f"{root}/metadata.json: {problem}")
    if not any(name.startswith("model/") and not name.endswith("/") for name in inside):
        raise PackageError(f"{root}/model/ is missing or empty")
    if "sentencepiece.model" not in inside:
        raise PackageError(f"{root}/sentencepiece.model is missing")
    if not fnmatch.filter((name for name in inside if name.count("/") == 1), "minisbd/*.onnx"):
        raise PackageError(f"{root}: {NO_MINISBD}")
    return root, metadata


def install_archive(path: Path, translation_dir: Path, expect: tuple[str, str] | None = None) -> tuple[Package, list[str]]:
    """Check and install an .argosmodel; returns the package and the folders it replaced.

    It is extracted next to the packages folder (never inside it: argostranslate fails on a folder
    without metadata.json), then moved in, so a running bot never sees half a package. Installed
    packages of the same language pair are replaced.
    """
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise PackageError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, OSError):
        raise PackageError(f"{path} is not a zip archive (an .argosmodel is one)") from None
    with archive:
        root, metadata = check_archive(archive)
        pair = (metadata["from_code"], metadata["to_code"])
        if expect and pair != expect:
            raise PackageError(f"{path} translates {pair[0]} → {pair[1]}, not {expect[0]} → {expect[1]}")
        packages = packages_dir(translation_dir)
        packages.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=translation_dir, prefix=".install-") as scratch:
            staging = Path(scratch)
            archive.extractall(staging / "new")
            target = packages / root
            same_pair = [p.folder for p in installed(translation_dir) if p.pair == pair and p.folder != target]
            replaced = [target, *same_pair] if target.exists() else same_pair
            if target.exists():  # same name: moved out of the way first, a moment without it
                target.rename(staging / "old")
            (staging / "new" / root).rename(target)
            for number, folder in enumerate(same_pair):
                folder.rename(staging / f"old-{number}")
            # Leaving `with` deletes the old folders, already out of the packages folder.
    return read_package(target), [folder.name for folder in replaced]


def _metadata_problem(metadata: object) -> str | None:
    if not isinstance(metadata, dict):
        return "not a JSON object"
    # argostranslate takes a package without "type" for a translation package
    if metadata.get("type", "translate") != "translate":
        return f"type {metadata.get('type')!r}, not a translation package"
    missing = [key for key in ("from_code", "to_code") if not isinstance(metadata.get(key), str) or not metadata[key]]
    return f"no {' or '.join(missing)}" if missing else None


# --- translation paths -------------------------------------------------------------------------

def route(pairs: set[tuple[str, str]], source: str, target: str) -> list[str] | None:
    """The shortest chain of installed pairs from source to target (through English first), or None.

    argostranslate chains packages the same way when there is no direct one."""
    paths = {source: [source]}
    queue = deque([source])
    while queue:
        here = queue.popleft()
        for step in sorted((to for frm, to in pairs if frm == here), key=lambda code: (code != PIVOT, code)):
            if step not in paths:
                paths[step] = [*paths[here], step]
                if step == target:
                    return paths[step]
                queue.append(step)
    return None


def describe_route(path: list[str] | None) -> str:
    if path is None:
        return "no path"
    if len(path) == 2:
        return "direct"
    if path[1:-1] == [PIVOT]:
        return "through English (pivot)"
    return "through " + " → ".join(path[1:-1])


# --- the Argos package index -------------------------------------------------------------------

def fetch_index(url: str) -> list:
    """The package index (a JSON list). Raises OSError (URLError) when unreachable, ValueError if not JSON."""
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
        index = json.loads(response.read())
    if not isinstance(index, list):
        raise ValueError("the index is not a JSON list")
    return index


def find_in_index(index: list, from_code: str, to_code: str) -> dict | None:
    for entry in index:
        if (isinstance(entry, dict) and entry.get("type", "translate") == "translate"
                and (entry.get("from_code"), entry.get("to_code")) == (from_code, to_code) and entry.get("links")):
            return entry
    return None


def download(url: str, destination: Path, progress: Callable[[int, int | None], None]) -> None:
    """Save url to destination, calling progress(bytes so far, total or None) as it goes."""
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response, destination.open("wb") as out:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        done = 0
        progress(done, total)
        while chunk := response.read(1 << 16):
            out.write(chunk)
            done += len(chunk)
            progress(done, total)

