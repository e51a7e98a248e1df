"""The translation worker through its client: real argostranslate on tiny real packages.

The packages are built at test time (tests/argos_package.py) with random weights, so their output
is nonsense; what is tested is the pipeline: install, sentence splitting offline, translation,
pivoting, refusals, timeouts, crashes and restarts. The worker is a separate process; this one
never imports argostranslate.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.translation.translator import TranslationUnavailable, Translator
from tests.conftest import install_packages as install

LANGUAGES = ["en", "es", "ar"]


@pytest.fixture
async def translator(tmp_path: Path) -> AsyncIterator[Translator]:
    translator = Translator(tmp_path / "translation", LANGUAGES, timeout=60)
    yield translator
    await translator.close()


async def test_a_text_is_translated_offline_and_checked_by_a_round_trip(translator, tmp_path, packages) -> None:
    install(tmp_path / "translation", packages["es_en"], packages["en_es"])
    result = await translator.translate("Hola. Esto es una prueba.", "es", "en")
    assert result.text.strip() and (result.source, result.target, result.pivot) == ("es", "en", False)
    assert result.agreement is not None and 0 <= result.agreement <= 1
    assert "argostranslate" not in sys.modules and "torch" not in sys.modules


async def test_the_worker_loads_neither_torch_nor_stanza_nor_spacy(translator, tmp_path, packages) -> None:
    install(tmp_path / "translation", packages["es_en"])
    assert (await translator.translate("Hola. Esto es una prueba.", "es", "en")).text
    mapped = Path(f"/proc/{translator.worker_pid}/maps").read_text()
    assert "ctranslate2" in mapped  # what translation needs is there...
    for unused in ("torch", "stanza", "spacy"):  # ...and what it does not need is not
        assert f"/{unused}" not in mapped, unused


async def test_a_pair_without_a_direct_model_goes_through_english(translator, tmp_path, packages) -> None:
    install(tmp_path / "translation", packages["ar_en"], packages["en_es"])
    result = await translator.translate("مرحبا. هذا اختبار.", "ar", "es", check=False)
    assert result.pivot and result.text.strip()
    assert (await translator.pairs())["pairs"] == [["ar", "en"], ["en", "es"]]


async def test_a_missing_pair_is_refused_with_a_reason(translator, tmp_path, packages) -> None:
    install(tmp_path / "translation", packages["es_en"])
    with pytest.raises(TranslationUnavailable) as refused:
        await translator.translate("Habari", "sw", "en")
    assert refused.value.reason == "no_model"


async def test_a_package_that_would_go_online_is_never_used(translator, tmp_path, packages) -> None:
    install(tmp_path / "translation", packages["fr_en_unsafe"])
    assert (await translator.pairs()) == {"pairs": [], "unsafe": [["fr", "en"]]}
    with pytest.raises(TranslationUnavailable) as refused:
        await translator.translate("Bonjour. Ceci est un essai.", "fr", "en")
    assert refused.value.reason == "unsafe_package"
    # argostranslate would have fetched a sentence splitter into its data folder: nothing is there.
    assert not list((tmp_path / "translation" / "data").rglob("*.onnx*"))


async def test_a_timeout_restarts_the_worker(translator, tmp_path, packages) -> None:
    install(tmp_path / "translation", packages["es_en"])
    await translator.pairs()  # warmed up
    first = translator.worker_pid
    translator.timeout = 1e-6
    with pytest.raises(TranslationUnavailable) as late:
        await translator.translate("Hola. Esto es una prueba.", "es", "en")
    assert late.value.reason == "timeout"
    assert translator.worker_pid is None  # killed, not left running
    translator.timeout = 60
    assert (await translator.translate("Hola.", "es", "en", check=False)).text
    assert translator.worker_pid not in (None, first)


async def test_a_crashed_worker_fails_its_job_and_is_replaced(translator, tmp_path, packages) -> None:
    install(tmp_path / "translation", packages["es_en"])
    await translator.pairs()
    crashed = translator.worker_pid
    os.kill(crashed, signal.SIGSTOP)  # hold it, so the next job is surely in flight
    job = asyncio.create_task(translator.translate("Hola.", "es", "en"))
    await asyncio.sleep(0.2)
    os.kill(crashed, signal.SIGKILL)
    with pytest.raises(TranslationUnavailable) as stopped:
        await job
    assert stopped.value.reason == "worker_stopped"
    assert (await translator.translate("Hola.", "es", "en", check=False)).text
    assert translator.worker_pid != crashed


async def test_a_worker_that_cannot_start_says_so_and_logs_only_the_exception_type(
    translator, tmp_path, monkeypatch, caplog, capfd
) -> None:
    # An argostranslate that fails at import, quoting text as a real traceback might.
    broken = tmp_path / "broken" / "argostranslate"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text('raise RuntimeError("Qz the van was red Qz")\n')
    monkeypatch.setenv("PYTHONPATH", str(broken.parent))
    with pytest.raises(TranslationUnavailable) as refused:
        await translator.translate("Hola.", "es", "en")
    assert refused.value.reason == "worker_not_started"
    assert "translation_worker_not_started error=RuntimeError" in caplog.text
    out, err = capfd.readouterr()
    assert "Qz" not in caplog.text + out + err and "Traceback" not in caplog.text + out + err


async def test_a_worker_that_crashes_is_logged_by_exception_type_only(translator, tmp_path, packages, caplog, capfd) -> None:
    install(tmp_path / "translation", packages["es_en"])
    await translator.pairs()
    # The worker's stdin closes on a line that is not JSON: json.loads fails outside any job.
    translator._process.stdin.write(b"Qz not json Qz\n")
    await translator._process.wait()
    await translator._stderr
    assert "translation_worker_failed error=JSONDecodeError" in caplog.text
    out, err = capfd.readouterr()
    assert "Qz" not in caplog.text + out + err and "Traceback" not in caplog.text + out + err


async def test_concurrent_first_calls_start_one_worker(translator, tmp_path, packages) -> None:
    install(tmp_path / "translation", packages["es_en"])
    results = await asyncio.gather(*(translator.translate(f"Hola {n}.", "es", "en", check=False) for n in range(5)))
    assert all(r.text for r in results)
    found = subprocess.run(["pgrep", "-P", str(os.getpid()), "-f", "bot[.]translation[.]worker"], capture_output=True, text=True)
    children = [int(pid) for pid in found.stdout.split()]
    assert children == [translator.worker_pid]


async def test_packages_installed_while_running_are_picked_up(translator, tmp_path, packages) -> None:
    with pytest.raises(TranslationUnavailable):
        await translator.translate("Hola.", "es", "en")
    install(tmp_path / "translation", packages["es_en"])
    assert (await translator.translate("Hola.", "es", "en", check=False)).text
    shutil.rmtree(tmp_path / "translation" / "packages")
    (tmp_path / "translation" / "packages").mkdir()
    with pytest.raises(TranslationUnavailable):  # and a removed one is no longer used
        await translator.translate("Hola otra vez.", "es", "en")


@pytest.mark.parametrize(
    ("text", "chosen", "detected"),
    [
        ("Hola, buenos días. ¿Cómo está usted hoy? Quiero contarles algo.", "en", "es"),
        ("Good morning, I would like to tell you about something that happened.", "ar", "en"),
        ("سلام دا یوه ازموینه ده چې موږ یې کوو", "ps", "ps"),  # lingua has no Pashto: never a lookalike
        ("12 34 56 78", "ar", "ar"),  # nothing to go on: the chosen language stands
    ],
)
async def test_detection_falls_back_to_the_chosen_language(translator, text, chosen, detected) -> None:
    assert await translator.detect(text, chosen) == detected


async def test_a_reinstalled_model_replaces_the_one_in_memory(translator, tmp_path) -> None:
    from tests.argos_package import build_argos_package

    directory = tmp_path / "translation"
    first, second = (build_argos_package(tmp_path / f"build{seed}", "es", "en", seed=seed) for seed in (1, 2))
    install(directory, first)
    before = (await translator.translate("Hola. Esto es una prueba.", "es", "en", check=False)).text
    [folder] = (directory / "packages").iterdir()
    shutil.rmtree(folder)  # what `outreach-bot translations install` does: same pair, new folder
    install(directory, second)
    after = (await translator.translate("Hola. Esto es una prueba.", "es", "en", check=False)).text
    assert before != after
