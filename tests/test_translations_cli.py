"""`outreach-bot translations list|install|check`, as an admin would use them, offline.

The packages are real `.argosmodel` archives built at test time (tests/argos_package.py). The
index is a local file reached through a file:// URL; "offline" is a loopback port nobody listens
on. `check` runs the real translation worker, so argostranslate is imported in a child process.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.i18n import available_locales
from bot.translation.translator import language_code
from tests.argos_package import build_argos_package
from tests.processes import error_lines

STAFF_CHAT_ID = -1001234567890
VALID_TOKEN = "123456789:AAH" + "x" * 32
SECRET_KEY = "k" * 40
ROOT = "translate-es_en-1_0"  # the folder inside es_en.argosmodel


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No bot configuration, package index or proxy from the real environment."""
    for name in [*(field.upper() for field in Settings.model_fields), "ARGOS_PACKAGE_INDEX"]:
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("argos")
    packages = {f"{a}_{b}": build_argos_package(directory, a, b) for a, b in (("es", "en"), ("en", "ar"))}
    packages["es_en_v2"] = build_argos_package(directory / "v2", "es", "en", seed=1)
    packages["es_en_unsafe"] = build_argos_package(directory / "unsafe", "es", "en", with_minisbd=False)
    return packages


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., int]:
    """`outreach-bot --env-file <tmp>/.env …` with TRANSLATION_DIR in tmp; settings as keywords."""

    def run(*args: str, officer_locale: str = "en") -> int:
        env_file = tmp_path / ".env"
        values = {"TELEGRAM_BOT_TOKEN": VALID_TOKEN, "STAFF_CHAT_ID": str(STAFF_CHAT_ID), "SECRET_KEY": SECRET_KEY,
                  "TRANSLATION_DIR": str(tmp_path / "translation"), "OFFICER_LOCALE": officer_locale}
        env_file.write_text("".join(f"{name}={value}\n" for name, value in values.items()), encoding="utf-8")
        return main(["--env-file", str(env_file), "translations", *args])

    return run


def packages_dir(tmp_path: Path) -> Path:
    return tmp_path / "translation" / "packages"


def installed_folders(tmp_path: Path) -> list[str]:
    folder = packages_dir(tmp_path)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def leftovers(tmp_path: Path) -> list[str]:
    """Staging or download folders left in the translation folder."""
    return sorted(p.name for p in (tmp_path / "translation").glob(".*"))


def rewrite(source: Path, target: Path, change: Callable[[dict[str, bytes]], dict[str, bytes]]) -> Path:
    """A copy of an archive with its members (name → bytes) changed by `change`."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in change(members).items():
            archive.writestr(name, data)
    return target


# --- --help ------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [[], ["list"], ["install"], ["check"]], ids=lambda c: "-".join(c) or "translations")
def test_help_exits_0_and_prints_usage(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["translations", *command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(" ".join(["usage: outreach-bot translations", *command]))
    if command == ["install"]:
        assert "--from-file" in out and "FROM" in out and "TO" in out


def languages_but(*excluded: str) -> str:
    """The bot's languages (as Argos codes) other than `excluded`, as `list` prints them."""
    return ", ".join(sorted({language_code(locale) for locale in available_locales()} - set(excluded)))


# --- install --from-file and list ------------------------------------------------------------

def test_install_from_file_then_list_shows_the_pair_and_what_has_no_path(
    cli, built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("install", "--from-file", str(built["es_en"])) == 0
    out = capsys.readouterr().out
    assert "Installed es → en (Spanish → English, version 1.0)" in out
    assert installed_folders(tmp_path) == [ROOT]
    assert (packages_dir(tmp_path) / ROOT / "minisbd" / "es.onnx").is_file()
    assert leftovers(tmp_path) == []

    assert cli("list", officer_locale="en") == 0
    out = capsys.readouterr().out
    assert f"  es → en  Spanish → English 1.0  {ROOT}\n" in out
    assert "  es → en: direct;" in out
    assert "  ar → en: no path;" in out
    assert f"No path to en from: {languages_but('en', 'es')}." in out
    first_missing = languages_but("en", "es").split(", ")[0]
    assert f"outreach-bot translations install {first_missing} en" in out
    assert f"Officers' replies cannot be translated into: {languages_but('en')}." in out


def test_installing_and_listing_models_need_no_bot_token(
    built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An admin prepares translation before the bot exists: no token, staff chat or secret yet."""
    env_file = tmp_path / ".env"
    env_file.write_text(f"TRANSLATION_DIR={tmp_path / 'translation'}\n", encoding="utf-8")

    assert main(["--env-file", str(env_file), "translations", "install", "--from-file", str(built["es_en"])]) == 0
    assert main(["--env-file", str(env_file), "translations", "list"]) == 0

    out, err = capsys.readouterr()
    assert "Installed es → en" in out and "  es → en: direct;" in out
    assert err == ""
    assert installed_folders(tmp_path) == [ROOT]


def test_a_bad_translation_setting_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("OFFICER_LOCALE=xx\nTRANSLATION_TIMEOUT_SECONDS=0\n", encoding="utf-8")

    assert main(["--env-file", str(env_file), "translations", "list"]) == 2

    lines = error_lines(capsys.readouterr().err)
    assert [line.split(":")[1].strip() for line in lines] == ["OFFICER_LOCALE", "TRANSLATION_TIMEOUT_SECONDS"]


def test_list_shows_a_path_through_english(cli, built, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Officers read Arabic; with es → en and en → ar, Spanish reports go through English."""
    assert cli("install", "--from-file", str(built["es_en"])) == 0
    assert cli("install", "--from-file", str(built["en_ar"])) == 0
    capsys.readouterr()

    assert cli("list", officer_locale="ar") == 0
    out = capsys.readouterr().out
    assert "Officers read ar" in out
    assert "  en → ar: direct;  ar → en: no path" in out
    assert "  es → ar: through English (pivot);  ar → es: no path" in out
    assert f"No path to ar from: {languages_but('ar', 'en', 'es')}." in out  # es is covered, via English


def test_list_marks_a_package_without_minisbd_and_never_counts_it(
    cli, built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Put there by hand (or by argospm): `install` would have refused it.
    with zipfile.ZipFile(built["es_en_unsafe"]) as archive:
        archive.extractall(packages_dir(tmp_path))

    assert cli("list") == 0
    out = capsys.readouterr().out
    assert f"  es → en  Spanish → English 1.0  {ROOT}  refused: would need the internet" in out
    assert "  es → en: no path;" in out
    assert f"No path to en from: {languages_but('en')}." in out


def test_a_folder_without_metadata_breaks_every_path_and_check_says_so(
    cli, built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """argostranslate fails on a package folder without metadata.json, so the worker translates nothing."""
    assert cli("install", "--from-file", str(built["es_en"])) == 0
    (packages_dir(tmp_path) / "stray").mkdir()
    capsys.readouterr()

    assert cli("list") == 0
    out = capsys.readouterr().out
    assert "  ?  stray  broken, remove it" in out
    assert "  es → en: no path;" in out
    assert cli("check") == 1
    assert "No pair was checked" in capsys.readouterr().out


def test_list_without_packages(cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("list") == 0
    out = capsys.readouterr().out
    assert f"No translation packages in {packages_dir(tmp_path)}." in out
    assert f"No path to en from: {languages_but('en')}." in out


# --- what install refuses ----------------------------------------------------------------------

def test_a_package_without_minisbd_is_refused_and_nothing_is_extracted(
    cli, built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("install", "--from-file", str(built["es_en_unsafe"])) == 2
    out, err = capsys.readouterr()
    [line] = error_lines(err)
    assert "MiniSBD" in line and "download" in line and "internet" in line
    assert err.count("\n") == 1 and "Installed" not in out
    assert installed_folders(tmp_path) == []
    assert leftovers(tmp_path) == []


def _add(name: str, data: bytes = b"x") -> Callable[[dict[str, bytes]], dict[str, bytes]]:
    return lambda members: {**members, name: data}


def _drop(prefix: str) -> Callable[[dict[str, bytes]], dict[str, bytes]]:
    return lambda members: {name: data for name, data in members.items() if not name.startswith(prefix)}


def _metadata(**changes: object) -> Callable[[dict[str, bytes]], dict[str, bytes]]:
    def change(members: dict[str, bytes]) -> dict[str, bytes]:
        metadata = json.loads(members[f"{ROOT}/metadata.json"]) | changes
        return {**members, f"{ROOT}/metadata.json": json.dumps({k: v for k, v in metadata.items() if v is not None}).encode()}

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_add("other/readme.txt"), "exactly one top-level folder"),
        (_add("readme.txt"), "exactly one top-level folder"),
        (_add("../evil"), "unsafe path '../evil'"),
        (_add(f"{ROOT}/../../evil"), "unsafe path"),
        (_add("/tmp/evil"), "unsafe path '/tmp/evil'"),
        (_drop(f"{ROOT}/metadata.json"), "metadata.json is missing"),
        (_add(f"{ROOT}/metadata.json", b"{not json"), "metadata.json is not valid JSON"),
        (_metadata(type="sbd"), "not a translation package"),
        (_metadata(to_code=None), "no to_code"),
        (_drop(f"{ROOT}/model/"), "model/ is missing or empty"),
        (_drop(f"{ROOT}/sentencepiece.model"), "sentencepiece.model is missing"),
        (_drop(f"{ROOT}/minisbd/"), "MiniSBD"),
    ],
    ids=["two-folders", "top-level-file", "dotdot", "dotdot-inside", "absolute", "no-metadata", "bad-json",
         "not-translate", "no-to-code", "no-model", "no-sentencepiece", "no-minisbd"],
)
def test_a_bad_archive_is_refused_in_one_line_before_anything_is_extracted(
    change, expected: str, cli, built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = rewrite(built["es_en"], tmp_path / "bad.argosmodel", change)
    assert cli("install", "--from-file", str(archive)) == 2
    _, err = capsys.readouterr()
    [line] = error_lines(err)
    assert err == line + "\n"
    assert expected in line
    assert installed_folders(tmp_path) == []
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "evil").exists() and not (tmp_path / "translation" / "evil").exists()


def test_a_file_that_is_not_a_zip_is_refused(cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "es_en.argosmodel"
    text.write_text("not a zip")
    assert cli("install", "--from-file", str(text)) == 2
    assert error_lines(capsys.readouterr().err) == [f"error: not installed: {text} is not a zip archive (an .argosmodel is one)"]
    assert cli("install", "--from-file", str(tmp_path / "missing.argosmodel")) == 2
    assert "no such file" in capsys.readouterr().err


def test_install_needs_a_pair_or_a_file(cli, built, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("install") == 2
    assert cli("install", "es", "en", "--from-file", str(built["es_en"])) == 2
    assert len(error_lines(capsys.readouterr().err)) == 2


# --- replacing ---------------------------------------------------------------------------------

def test_reinstalling_replaces_the_whole_folder(cli, built, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("install", "--from-file", str(built["es_en"])) == 0
    stale = packages_dir(tmp_path) / ROOT / "stale-file"
    stale.write_text("from the old version")

    assert cli("install", "--from-file", str(built["es_en_v2"])) == 0
    out = capsys.readouterr().out
    assert f"Replaced: {ROOT}." in out and "restart" in out
    assert installed_folders(tmp_path) == [ROOT]
    assert not stale.exists()
    with zipfile.ZipFile(built["es_en_v2"]) as archive:
        new_tokenizer = archive.read(f"{ROOT}/sentencepiece.model")
    assert (packages_dir(tmp_path) / ROOT / "sentencepiece.model").read_bytes() == new_tokenizer
    assert leftovers(tmp_path) == []


def test_a_new_version_of_a_pair_replaces_the_old_folder(
    cli, built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another folder name, same pair: argostranslate would otherwise pick one of the two at random."""
    assert cli("install", "--from-file", str(built["es_en"])) == 0
    renamed = rewrite(built["es_en_v2"], tmp_path / "v19.argosmodel",
                      lambda members: {name.replace(ROOT, "translate-es_en-1_9"): data for name, data in members.items()})
    assert cli("install", "--from-file", str(renamed)) == 0
    assert f"Replaced: {ROOT}." in capsys.readouterr().out
    assert installed_folders(tmp_path) == ["translate-es_en-1_9"]


# --- install FROM TO from the package index ----------------------------------------------------

def write_index(tmp_path: Path, entries: list[dict]) -> str:
    index = tmp_path / "index.json"
    index.write_text(json.dumps(entries), encoding="utf-8")
    return index.as_uri()


def test_install_from_the_index_downloads_with_progress_and_installs(
    cli, built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    size = built["es_en"].stat().st_size
    monkeypatch.setenv("ARGOS_PACKAGE_INDEX", write_index(tmp_path, [
        {"from_code": "en", "to_code": "ar", "links": [built["en_ar"].as_uri()]},
        {"from_code": "es", "to_code": "en", "package_version": "1.0", "links": [built["es_en"].as_uri(), "ipfs://nowhere"]},
    ]))  # fmt: skip

    assert cli("install", "es", "en") == 0
    out, err = capsys.readouterr()
    assert "Installed es → en" in out
    assert f"{size:,}/{size:,} bytes" in err and "es_en.argosmodel [" in err
    assert installed_folders(tmp_path) == [ROOT]
    assert leftovers(tmp_path) == []


def test_a_package_from_the_index_is_checked_like_a_file(
    cli, built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARGOS_PACKAGE_INDEX", write_index(tmp_path, [
        {"from_code": "es", "to_code": "en", "links": [built["es_en_unsafe"].as_uri()]},
        {"from_code": "en", "to_code": "ar", "links": [built["es_en"].as_uri()]},  # the wrong file
    ]))  # fmt: skip
    assert cli("install", "es", "en") == 2
    assert "MiniSBD" in error_lines(capsys.readouterr().err)[0]
    assert cli("install", "en", "ar") == 2
    assert "translates es → en, not en → ar" in error_lines(capsys.readouterr().err)[0]
    assert installed_folders(tmp_path) == []
    assert leftovers(tmp_path) == []


def test_a_pair_missing_from_the_index_is_one_error_line(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = write_index(tmp_path, [{"from_code": "es", "to_code": "en", "links": ["file:///nowhere"]}])
    monkeypatch.setenv("ARGOS_PACKAGE_INDEX", url)
    assert cli("install", "so", "en") == 2
    assert error_lines(capsys.readouterr().err) == [f"error: the Argos package index at {url} has no package from so to en"]


def test_install_offline_says_to_use_from_file(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "http://127.0.0.1:9/index.json"  # loopback, nobody listening: refused at once
    monkeypatch.setenv("ARGOS_PACKAGE_INDEX", url)
    assert cli("install", "es", "en") == 1
    out, err = capsys.readouterr()
    [line] = error_lines(err)
    assert err == line + "\n" and out == ""
    assert f"cannot read the Argos package index at {url} (ConnectionRefusedError)" in line
    assert "--from-file" in line
    assert installed_folders(tmp_path) == []


def test_a_link_that_cannot_be_downloaded_exits_1(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    link = "http://127.0.0.1:9/translate-es_en-1_9.argosmodel"
    monkeypatch.setenv("ARGOS_PACKAGE_INDEX", write_index(tmp_path, [{"from_code": "es", "to_code": "en", "links": [link]}]))
    assert cli("install", "es", "en") == 1
    [line] = error_lines(capsys.readouterr().err)
    assert f"cannot download {link}" in line and "--from-file" in line
    assert installed_folders(tmp_path) == [] and leftovers(tmp_path) == []


# --- check: the real worker --------------------------------------------------------------------

def test_check_translates_with_every_pair_through_the_worker(
    cli, built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("install", "--from-file", str(built["es_en"])) == 0
    assert cli("install", "--from-file", str(built["en_ar"])) == 0
    capsys.readouterr()

    assert cli("check") == 0
    out = capsys.readouterr().out
    checked = [re.fullmatch(r"  (\w+) → (\w+)  (\d+\.\d\d) s  (.+)", line) for line in out.splitlines()[1:]]
    assert all(checked), out
    assert [(match[1], match[2]) for match in checked] == [("en", "ar"), ("es", "en")]
    for match in checked:
        translated = ast.literal_eval(match[4])  # the repr of the output's first 60 characters
        assert 0 < len(translated) <= 60 and translated.strip()
    assert "Translation worker started in" in out
    assert "argostranslate" not in sys.modules


def test_check_reports_a_broken_pair_and_exits_1(cli, built, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("install", "--from-file", str(built["es_en"])) == 0
    assert cli("install", "--from-file", str(built["en_ar"])) == 0
    (packages_dir(tmp_path) / "translate-en_ar-1_0" / "model" / "model.bin").write_bytes(b"corrupt")
    capsys.readouterr()

    assert cli("check") == 1
    out = capsys.readouterr().out
    assert "  en → ar  FAILED: failed:" in out
    assert any(line.startswith("  es → en  ") and line.endswith("'") for line in out.splitlines())
