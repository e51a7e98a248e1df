"""The translation worker: a separate process that owns argostranslate and lingua.

Run as `python -m bot.translation.worker` by bot.translation.translator, never imported by the bot: importing
argostranslate costs 300–800 MB and every call is synchronous. It reads one JSON request per line
on stdin and writes one JSON answer per line on stdout, one job at a time, so argostranslate's
unlocked lazy loading never races. It logs nothing about the texts it handles.

Requests: {"id", "op": "pairs"} | {"id", "op": "detect", "text", "hint"} |
          {"id", "op": "translate", "text", "source", "target", "check": bool}
Answers:  {"id", ...result} or {"id", "error": <reason code>}; first of all {"ready": true}.
"""

from __future__ import annotations

import json
import os
import sys
import types
from difflib import SequenceMatcher
from pathlib import Path

DETECTION_CONFIDENCE = 0.8  # below it, the reporter's chosen language stands


def safe_package(package_path: Path) -> bool:
    """A package can split sentences offline only with a MiniSBD model inside it; without one,
    argostranslate downloads a splitter (or Stanza's resources) on first use."""
    return any((package_path / "minisbd").glob("*.onnx"))


def round_trip_agreement(original: str, back: str) -> float:
    """How much of the original survives translation there and back (0–1), word by word."""
    return SequenceMatcher(None, original.casefold().split(), back.casefold().split()).ratio()


class Worker:
    def __init__(self, languages: list[str]) -> None:
        from argostranslate import package, translate  # the expensive import, here only

        self._package, self._translate = package, translate
        self._signature = self._packages_signature()
        self._detector, self._detectable = _detector(languages)

    def pairs(self) -> dict:
        pairs, unsafe = [], []
        for pkg in self._package.get_installed_packages():
            if pkg.type == "translate":
                (pairs if safe_package(pkg.package_path) else unsafe).append([pkg.from_code, pkg.to_code])
        return {"pairs": sorted(pairs), "unsafe": sorted(unsafe)}

    def detect(self, text: str, hint: str) -> dict:
        """The language of `text` among the bot's languages, or the reporter's choice when unsure.

        Only languages lingua knows and the bot serves are candidates; if the reporter's own
        language is not one of them, lingua would mistake it for a lookalike (Pashto for Persian),
        so the choice stands."""
        if self._detector is None or hint not in self._detectable:
            return {"language": hint, "detected": False}
        best = self._detector.compute_language_confidence_values(text)[0]
        code = best.language.iso_code_639_1.name.lower()
        if best.value >= DETECTION_CONFIDENCE and code in self._detectable:
            return {"language": code, "detected": True}
        return {"language": hint, "detected": False}

    def translate(self, text: str, source: str, target: str, check: bool) -> dict:
        self._reload_if_packages_changed()
        translation = self._path(source, target)
        if isinstance(translation, str):
            return {"error": translation}
        result = translation.translate(text)
        answer = {"text": result, "pivot": _is_composite(translation)}
        if check:
            back = self._path(target, source)
            if not isinstance(back, str):
                answer["agreement"] = round(round_trip_agreement(text, back.translate(result)), 3)
        return answer

    def _path(self, source: str, target: str):  # noqa: ANN202
        """The installed translation from source to target, or the reason there is none."""
        languages = {language.code: language for language in self._translate.get_installed_languages()}
        if source not in languages or target not in languages:
            return "no_model"
        translation = languages[source].get_translation(languages[target])
        if translation is None:
            return "no_model"
        if not all(safe_package(step.pkg.package_path) for step in _package_steps(translation)):
            return "unsafe_package"
        return translation

    def _packages_signature(self) -> tuple:
        """Each package folder's identity: a reinstalled pair has the same name but a new folder."""
        folders = (pkg.package_path.stat() for pkg in self._package.get_installed_packages())
        return tuple(sorted((folder.st_ino, folder.st_mtime_ns) for folder in folders))

    def _reload_if_packages_changed(self) -> None:
        """argostranslate caches languages and loaded models for the life of the process; drop
        both when packages were installed or removed, so no stale model is used."""
        signature = self._packages_signature()
        if signature != self._signature:
            self._translate.get_installed_languages.cache_clear()
            self._translate.installed_translates.clear()
            self._signature = signature


def _package_steps(translation) -> list:  # noqa: ANN001
    if _is_composite(translation):
        return _package_steps(translation.t1) + _package_steps(translation.t2)
    underlying = getattr(translation, "underlying", translation)  # CachedTranslation wraps it
    return [underlying] if hasattr(underlying, "pkg") else []


def _is_composite(translation) -> bool:  # noqa: ANN001
    return hasattr(translation, "t1") and hasattr(translation, "t2")


def _detector(languages: list[str]):  # noqa: ANN202
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    known = {}
    for code in {*languages, "en"}:
        try:
            known[code] = Language.from_iso_code_639_1(IsoCode639_1.from_str(code))
        except ValueError:
            continue  # lingua does not know it: never guess a lookalike for it
    if len(known) < 2:
        return None, frozenset(known)
    return LanguageDetectorBuilder.from_languages(*known.values()).build(), frozenset(known)


def serve(worker: Worker, requests, answers) -> None:  # noqa: ANN001
    for line in requests:
        request = json.loads(line)
        try:
            if request["op"] == "pairs":
                answer = worker.pairs()
            elif request["op"] == "detect":
                answer = worker.detect(request["text"], request["hint"])
            else:
                answer = worker.translate(request["text"], request["source"], request["target"], request.get("check", False))
        except Exception as exc:  # one bad job must not take the worker down; report its type only
            answer = {"error": f"failed:{type(exc).__name__}"}
        answers.write(json.dumps({"id": request["id"], **answer}) + "\n")
        answers.flush()


def keep_out_unused_libraries() -> None:
    """argostranslate imports spaCy and Stanza (which imports torch) at module level, for sentence
    splitters this worker never uses: it splits with MiniSBD only (ARGOS_CHUNK_TYPE). Kept out,
    the worker starts in a tenth of a second instead of two and takes ~65 MiB instead of ~320
    (the closing note of issue 12). A use of Stanza fails loudly instead of loading it."""
    sys.modules["spacy"] = None  # argostranslate.sbd guards this import: spacy = None
    stanza = types.ModuleType("stanza", "Stand-in: this worker never splits sentences with Stanza.")

    def unused(name: str) -> None:
        raise AttributeError(f"stanza.{name}: Stanza is not loaded in the translation worker")

    stanza.__getattr__ = unused
    sys.modules["stanza"] = stanza


def main() -> None:
    keep_out_unused_libraries()
    languages = [code for code in os.environ.get("OUTREACH_LANGUAGES", "en").split(",") if code]
    worker = Worker(languages)
    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    serve(worker, sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
