"""The package that `tests.argos_package` builds goes through the real argostranslate, offline.

argostranslate reads its settings from the environment once, at import, creates folders under
the XDG paths, and costs hundreds of MB: so it is imported only in a child process, whose
environment points everything at a temporary folder and which refuses any network attempt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import onnx
import pytest

from tests.argos_package import build_argos_package

ROOT = "translate-es_en-1_0"
PARTS = {"metadata.json", "sentencepiece.model", "model/model.bin", "model/config.json",
         "model/shared_vocabulary.json", "minisbd/es.onnx"}

# Run first in the child: record and refuse every name lookup or connection beyond loopback.
# Name lookups count too: without DNS, a download fails there, before any connect.
OFFLINE = '''
import ipaddress, json, sys

network_attempts = []

def _offline(event, args):
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event == "socket.connect" and isinstance(args[1], tuple):
        host = args[1][0]
    else:
        return
    host = host.decode() if isinstance(host, bytes) else str(host)
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        network_attempts.append(f"{event} {host}")
        raise RuntimeError(f"network attempt refused: {event} {host}")

sys.addaudithook(_offline)

def report(**fields):
    print(json.dumps({**fields, "network": network_attempts}))
'''


def run_argos(tmp_path: Path, script: str, *args: object) -> dict:
    """Run `script` after OFFLINE in a fresh Python with argostranslate's settings in `tmp_path`.

    Returns what the script passed to `report(...)`, plus the refused network attempts.
    """
    base = tmp_path / "argos"
    (base / "home").mkdir(parents=True)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ARGOS_", "SNAP")) and not key.lower().endswith("_proxy")}
    env.update({
        "HOME": str(base / "home"),
        "ARGOS_PACKAGES_DIR": str(base / "packages"),
        "XDG_DATA_HOME": str(base / "data"),
        "XDG_CONFIG_HOME": str(base / "config"),
        "XDG_CACHE_HOME": str(base / "cache"),  # onnxruntime writes a device id here too
        "ARGOS_CHUNK_TYPE": "MINISBD",
        "ARGOS_DEVICE_TYPE": "cpu",
        "ARGOS_INTER_THREADS": "1",
        "ARGOS_INTRA_THREADS": "1",
    })
    child = subprocess.run([sys.executable, "-c", OFFLINE + textwrap.dedent(script), *map(str, args)],
                           env=env, cwd=base, capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-4000:]
    return json.loads(child.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {
        "with_minisbd": build_argos_package(tmp_path_factory.mktemp("with"), "es", "en"),
        "without_minisbd": build_argos_package(tmp_path_factory.mktemp("without"), "es", "en", with_minisbd=False),
    }


@pytest.mark.parametrize("variant", ["with_minisbd", "without_minisbd"])
def test_package_is_one_folder_with_the_parts_argos_reads(packages: dict[str, Path], variant: str) -> None:
    path = packages[variant]
    assert path.name == "es_en.argosmodel"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        metadata = json.loads(archive.read(f"{ROOT}/metadata.json"))
    assert {name.split("/")[0] for name in names} == {ROOT}
    files = {name.split("/", 1)[1] for name in names if not name.endswith("/")}
    assert files == (PARTS if variant == "with_minisbd" else PARTS - {"minisbd/es.onnx"})
    assert metadata["type"] == "translate"
    assert (metadata["from_code"], metadata["from_name"], metadata["to_code"], metadata["to_name"]) == (
        "es", "Spanish", "en", "English")
    assert {"package_version", "argos_version", "links"} <= metadata.keys()


def test_minisbd_model_has_what_sbdetect_reads(packages: dict[str, Path]) -> None:
    with zipfile.ZipFile(packages["with_minisbd"]) as archive:
        model = onnx.load_from_string(archive.read(f"{ROOT}/minisbd/es.onnx"))
    inputs = {i.name: (i.type.tensor_type.elem_type, len(i.type.tensor_type.shape.dim)) for i in model.graph.input}
    assert inputs == {"units": (onnx.TensorProto.INT64, 2), "features": (onnx.TensorProto.FLOAT, 3)}
    (output,) = model.graph.output
    assert output.type.tensor_type.shape.dim[-1].dim_value == 5  # argmax over Stanza's 5 classes
    meta = {prop.key: prop.value for prop in model.metadata_props}
    assert meta["lang_code"] == "es" and json.loads(meta["lexicon"]) is None
    assert json.loads(meta["config"])["feat_funcs"]
    vocab = json.loads(meta["vocab"])
    assert vocab["_id2unit"][:2] == ["<PAD>", "<UNK>"] and vocab["_unit2id"]["."] == vocab["_id2unit"].index(".")


def test_same_seed_builds_the_same_bytes(tmp_path: Path) -> None:
    first = build_argos_package(tmp_path / "a", "es", "en").read_bytes()
    assert build_argos_package(tmp_path / "b", "es", "en").read_bytes() == first
    assert build_argos_package(tmp_path / "c", "es", "en", seed=1).read_bytes() != first


def test_installs_lists_and_translates_offline(packages: dict[str, Path], tmp_path: Path) -> None:
    result = run_argos(tmp_path, """
        from argostranslate import package, translate
        package.install_from_path(sys.argv[1])
        report(
            installed=[(p.package_path.name, p.from_code, p.to_code) for p in package.get_installed_packages()],
            languages=sorted(language.code for language in translate.get_installed_languages()),
            translation=translate.translate("Hola. Esto es una prueba.", "es", "en"),
        )
    """, packages["with_minisbd"])
    assert result["installed"] == [[ROOT, "es", "en"]]
    assert result["languages"] == ["en", "es"]
    assert isinstance(result["translation"], str) and result["translation"].strip()
    assert result["network"] == []


def test_minisbd_in_the_package_splits_sentences(packages: dict[str, Path], tmp_path: Path) -> None:
    result = run_argos(tmp_path, """
        from argostranslate import package, sbd, translate
        package.install_from_path(sys.argv[1])
        (pkg,) = package.get_installed_packages()
        splitter = sbd.MiniSBDSentencizer(pkg)
        # What translate() itself splits with: CachedTranslation -> PackageTranslation -> sentencizer.
        used = translate.get_translation_from_codes("es", "en").underlying.sentencizer
        report(
            sentences=splitter.split_sentences("Uno. Dos. Tres."),
            model_file=splitter.lazy_detector().model_file,
            package=str(pkg.package_path),
            used=type(used).__name__,
            used_sentences=used.split_sentences("Uno. Dos. Tres."),
        )
    """, packages["with_minisbd"])
    assert result["sentences"] == ["Uno.", "Dos.", "Tres."]
    assert result["model_file"] == str(Path(result["package"]) / "minisbd" / "es.onnx")
    assert result["used"] == "MiniSBDSentencizer" and result["used_sentences"] == result["sentences"]
    assert result["network"] == []


def test_package_without_minisbd_reaches_for_the_network(packages: dict[str, Path], tmp_path: Path) -> None:
    """Our code must refuse such a package: argostranslate would download MiniSBD's model on first use."""
    result = run_argos(tmp_path, """
        from argostranslate import package, translate
        package.install_from_path(sys.argv[1])
        (pkg,) = package.get_installed_packages()
        languages = sorted(language.code for language in translate.get_installed_languages())
        before_translating = list(network_attempts)
        try:
            translate.translate("Hola. Esto es una prueba.", "es", "en")
            error = None
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        report(splitter_in_package=pkg.packaged_sbd_path is not None, languages=languages,
               before_translating=before_translating, error=error)
    """, packages["without_minisbd"])
    assert result["splitter_in_package"] is False
    assert result["languages"] == ["en", "es"] and result["before_translating"] == []
    assert result["network"] and all("github.com" in attempt for attempt in result["network"])
    assert result["error"].startswith("RuntimeError: network attempt refused")
