"""Translation benchmark: the project's translator against raw CTranslate2, the bot's event loop, RSS.

    .venv/bin/python bench/translation.py [--rounds 2] [--output-tokens 20] [--jobs 20]

Why: translation runs in a worker process (bot.translation.worker, driven by bot.translation's
`Translator` over JSON lines on a pipe) so that the bot stays responsive and small. That design
should cost next to nothing per sentence, never stall the bot's event loop, and keep the bot
process free of argostranslate's memory. One run measures, on an Argos-sized model (6 layers,
d_model 512, 8 heads, ffn 2048, 32k vocabulary, int8, ~87 MB; tests/argos_package.py, built
into a temp dir and installed into a temp translation dir with tests.conftest.install_packages):

  1. per-sentence latency, goal project/raw <= 1.05. ~30 short Spanish sentences, one at a time,
     es->en, after a warm-up call (worker start, imports and model load are excluded from both):
       * project: `await Translator.translate(s, "es", "en", check=False)`, timed in this process
         (so it includes the pipe, JSON, asyncio, the worker's package check, MiniSBD splitting,
         SentencePiece and CTranslate2);
       * raw: a separate process holding `ctranslate2.Translator(<package>/model, device="cpu",
         inter_threads, intra_threads, compute_type="auto")` with the worker's thread settings
         (ARGOS_INTER_THREADS=2, ARGOS_INTRA_THREADS=1 from Translator._environment) and the
         package's sentencepiece.model; timed inside that process around encode +
         translate_batch + decode, with argostranslate's decoding options (beam ARGOS_BEAM_SIZE,
         default 4, one hypothesis, length_penalty 0.2, replace_unknowns, batch of <= 32 tokens);
       * for attribution: the same worker code (bot.translation.worker.Worker.translate) called
         in-process in a third process with the worker's environment: project minus it is the
         pipe/JSON/asyncio cost, it minus raw is argostranslate's (and the worker's) own cost.
     The variants take turns sentence by sentence (the order rotates), so drift and noise hit all.
     Decoding length: random weights never choose </s>, so a sentence would decode to
     CTranslate2's 256-token limit. The package is built with `output_tokens=N`: the decoder emits
     exactly N tokens and then </s> at step N+1 (argostranslate passes no max_decoding_length, so
     the model's </s> is what bounds it). Raw CT2 gets `max_decoding_length=N+1`, which decodes
     the same N tokens + the </s> step; its outputs are checked to be identical to the project's
     (same text, N tokens), so both did the same work. `max_decoding_length=N` stops one decoder
     step earlier (no </s> step, ~1/(N+1) less work); it is shown as a reference row only.
  2. the longest event-loop stall in this process while `--jobs` translations run at once
     (`asyncio.gather`, check=True as bot.translation.jobs calls it, so each job is es->en plus
     the en->es back-translation): a ticker task in the same loop sleeps 5 ms in a loop and
     records how late it wakes. Goal <= 50 ms. Also shown: the idle baseline, and the worker's
     start (the warm-up call).
  3. RSS (`ps -o rss=`): this process (standing in for the bot: it imports only bot.translation.translator and
     the standard library; the packages are built in child processes), fresh processes that import
     bot.translation.translator and bot.application (the whole bot, for reference), the worker, the raw CT2
     process and the in-process-worker process, after the runs.

The weights are random: the outputs are nonsense and this measures cost, not translation quality.
Everything is bounded (a timeout on every wait; children are killed on the way out); nothing but
the local machine is used.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.translation.translator import Translator  # noqa: E402  (the only project import in this process)

BUILD_TIMEOUT, CHILD_TIMEOUT, JOB_TIMEOUT, BURST_TIMEOUT = 600.0, 180.0, 60.0, 600.0
TICK = 0.005  # the ticker's sleep
STALL_GOAL_MS, RATIO_GOAL = 50.0, 1.05
SHAPE = {"layers": 6, "d_model": 512, "heads": 8, "ffn": 2048, "vocab_size": 32000}

WARM_UP = "Esta frase solo sirve para calentar el traductor."
# Short report-like sentences, one sentence end each (the package's MiniSBD ends a sentence at
# . ! ? …), so each is one CTranslate2 call in the project as in raw CT2.
SENTENCES = [
    "Hay un coche abandonado en mi calle desde hace semanas.",
    "Un hombre vende drogas cerca de la escuela por las tardes.",
    "Mi vecino grita a sus hijos todas las noches.",
    "Alguien rompió las ventanas de la tienda de la esquina.",
    "La farola de la plaza lleva un mes apagada.",
    "Vi a dos personas robando bicicletas en la estación.",
    "Hay basura acumulada detrás del mercado municipal.",
    "Un perro suelto muerde a la gente en el parque.",
    "Los coches circulan muy rápido delante del colegio.",
    "Escucho disparos cerca del río casi todas las semanas.",
    "Mi casero no quiere devolverme la fianza.",
    "Unos jóvenes pintan grafitis en la pared de la iglesia.",
    "Hay una fuga de agua en la calle principal.",
    "Me robaron el bolso en el autobús esta mañana.",
    "Un conductor se saltó el semáforo y atropelló a un ciclista.",
    "La música del bar no nos deja dormir.",
    "Han entrado a robar en tres casas de mi barrio.",
    "Una señora mayor vive sola y necesita ayuda.",
    "El puente viejo tiene grietas muy grandes.",
    "Alguien deja jeringuillas en el parque infantil.",
    "Mi compañero de trabajo recibe amenazas por teléfono.",
    "Hay humo negro saliendo de una fábrica cerrada.",
    "Un grupo de personas duerme en la entrada del metro.",
    "Los contenedores se queman casi cada fin de semana.",
    "Vi a un hombre armado entrar en el edificio.",
    "Mi hija recibe mensajes extraños de un desconocido.",
    "Nadie recoge los animales muertos de la carretera.",
    "El ascensor del hospital no funciona desde el lunes.",
    "Unos coches aparcan siempre en la salida de emergencia.",
    "La parada del autobús no tiene luz por la noche.",
]

BUILD_CHILD = r"""
import sys
from pathlib import Path
from tests.argos_package import build_argos_package
from tests.conftest import install_packages
scratch, translation, pair, tokens, shape = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), eval(sys.argv[5])
source, target = pair.split("_")
archive = build_argos_package(Path(scratch) / pair, source, target, output_tokens=tokens, **shape)
install_packages(Path(translation), archive)
print(archive.stat().st_size)
"""

# One request per line on stdin, one answer per line on stdout; the time is taken in here.
MEASURE_CHILD = r"""
import json, os, sys, time
mode = sys.argv[1]
if mode == "raw":
    import ctranslate2, sentencepiece
    package, inter, intra, beam, batch = sys.argv[2], *map(int, sys.argv[3:7])
    sp = sentencepiece.SentencePieceProcessor(model_file=package + "/sentencepiece.model")
    model = ctranslate2.Translator(package + "/model", device="cpu", inter_threads=inter,
                                   intra_threads=intra, compute_type="auto")
    def run(request):
        started = time.perf_counter()
        tokens = sp.encode(request["text"], out_type=str)
        result = model.translate_batch(
            [tokens], beam_size=beam, num_hypotheses=1, length_penalty=0.2, replace_unknowns=True,
            max_batch_size=batch, batch_type="tokens", return_scores=True,
            max_decoding_length=request["max_decoding_length"])
        out = result[0].hypotheses[0]
        text = sp.decode_pieces(out).replace("\u2581", " ").replace("_", " ")  # as argostranslate
        text = text[1:] if text.startswith(" ") else text
        elapsed = time.perf_counter() - started
        return {"s": elapsed, "text": text, "tokens": len(out), "compute_type": model.compute_type}
else:
    from bot.translation.worker import Worker
    worker = Worker([c for c in os.environ["OUTREACH_LANGUAGES"].split(",") if c])
    def run(request):
        started = time.perf_counter()
        answer = worker.translate(request["text"], "es", "en", False)
        return {"s": time.perf_counter() - started, **answer}
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    print(json.dumps(run(json.loads(line))), flush=True)
"""


class Child:
    """A measuring process (raw CT2, or the worker's code in-process) spoken to over JSON lines."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, argv: list[str], env: dict[str, str]) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", MEASURE_CHILD, *argv, cwd=ROOT, env=env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        child = cls(process)
        ready = await asyncio.wait_for(process.stdout.readline(), CHILD_TIMEOUT)
        if not ready:
            raise SystemExit(f"measuring child {argv[0]} did not start")
        return child

    async def ask(self, **request: object) -> dict:
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), JOB_TIMEOUT)
        if not line:
            raise SystemExit("a measuring child stopped")
        return json.loads(line)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await asyncio.wait_for(self.process.wait(), CHILD_TIMEOUT)


class Ticker:
    """Sleeps TICK in a loop on the running event loop and records how late each wake-up is."""

    def __init__(self) -> None:
        self.late: list[float] = []
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(TICK)
            self.late.append(time.perf_counter() - started - TICK)

    def __enter__(self) -> Ticker:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        self._task.cancel()

    def summary(self) -> str:
        if not self.late:
            return "no ticks"
        p99 = statistics.quantiles(self.late, n=100)[98] if len(self.late) > 1 else self.late[0]
        return f"{max(self.late) * 1000:.1f} (p99 {p99 * 1000:.1f}, {len(self.late)} ticks)"


def fifty_megapixel_jpeg() -> bytes:
    from PIL import Image

    from bot.media import MAX_PIXELS

    out = io.BytesIO()
    Image.new("RGB", (10_000, MAX_PIXELS // 10_000), (90, 120, 150)).save(out, "JPEG", quality=60)
    return out.getvalue()


def ps_rss_mib(pid: int | None) -> str:
    if pid is None:
        return "not running"
    out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True, timeout=30)
    return f"{int(out.stdout.strip()) / 1024:.1f}" if out.stdout.strip() else "gone"


def fresh_import_rss_mib(module: str) -> str:
    """RSS of a new interpreter right after `import module` (the bot's or the translator's floor)."""
    code = f"import os, subprocess, {module}; print(subprocess.run(['ps', '-o', 'rss=', '-p', str(os.getpid())], capture_output=True, text=True).stdout)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    return f"{int(out.stdout.strip()) / 1024:.1f}" if out.returncode == 0 else f"failed: {out.stderr.strip()[-200:]}"


async def build(scratch: Path, translation: Path, tokens: int) -> list[int]:
    """Both packages at once, each in its own process (this one stays free of numpy, CT2, onnx)."""
    builders = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", BUILD_CHILD, str(scratch), str(translation), pair, str(tokens), repr(SHAPE),
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for pair in ("es_en", "en_es")
    ]  # fmt: skip
    try:
        results = await asyncio.wait_for(asyncio.gather(*(b.communicate() for b in builders)), BUILD_TIMEOUT)
    finally:
        for builder in builders:
            if builder.returncode is None:
                builder.kill()
                await builder.wait()
    for builder, (_out, err) in zip(builders, results, strict=True):
        if builder.returncode != 0:
            raise SystemExit(f"building a package failed:\n{err.decode()[-2000:]}")
    return [int(out) for out, _ in results]


async def run(args: argparse.Namespace, tmp: Path) -> tuple[list[tuple[str, str]], list[str], dict]:
    translation = tmp / "translation"
    sizes = await build(tmp / "build", translation, args.output_tokens)
    package = translation / "packages" / "translate-es_en-1_0"

    translator = Translator(translation, ["es", "en"], timeout=JOB_TIMEOUT)
    env = translator._environment()  # exactly what the worker gets (threads, chunking, dirs)
    inter, intra = int(env["ARGOS_INTER_THREADS"]), int(env["ARGOS_INTRA_THREADS"])
    beam, batch = int(env.get("ARGOS_BEAM_SIZE", "4")), int(env.get("ARGOS_BATCH_SIZE", "32"))
    raw = await Child.start(["raw", str(package), str(inter), str(intra), str(beam), str(batch)], env)
    inproc = await Child.start(["worker"], env)
    problems: list[str] = []
    try:
        # Warm-up: starts the worker, imports argostranslate, loads model and MiniSBD (not timed).
        with Ticker() as start_ticker:
            started = time.perf_counter()
            await translator.translate(WARM_UP, "es", "en", check=False)
            first_call_s = time.perf_counter() - started
        await inproc.ask(text=WARM_UP)
        await raw.ask(text=WARM_UP, max_decoding_length=args.output_tokens + 1)
        await raw.ask(text=WARM_UP, max_decoding_length=args.output_tokens)

        async def project(text: str) -> tuple[float, str]:
            started = time.perf_counter()
            result = await translator.translate(text, "es", "en", check=False)
            return time.perf_counter() - started, result.text

        async def raw_same(text: str) -> tuple[float, str]:
            answer = await raw.ask(text=text, max_decoding_length=args.output_tokens + 1)
            if answer["tokens"] != args.output_tokens:
                problems.append(f"raw CT2 decoded {answer['tokens']} tokens, not {args.output_tokens}: {text!r}")
            variants_meta["compute_type"] = answer["compute_type"]
            return answer["s"], answer["text"]

        async def raw_short(text: str) -> tuple[float, str]:
            answer = await raw.ask(text=text, max_decoding_length=args.output_tokens)
            return answer["s"], answer["text"]

        async def in_process(text: str) -> tuple[float, str]:
            answer = await inproc.ask(text=text)
            return answer["s"], answer["text"]

        variants_meta: dict = {}
        variants = {"project": project, "raw": raw_same, "inproc": in_process, "raw_short": raw_short}
        times: dict[str, list[float]] = {name: [] for name in variants}
        texts: dict[str, dict[str, str]] = {name: {} for name in variants}
        names = list(variants)
        for round_ in range(args.rounds):
            for i, sentence in enumerate(SENTENCES):
                shift = (i + round_) % len(names)
                for name in names[shift:] + names[:shift]:
                    elapsed, text = await variants[name](sentence)
                    times[name].append(elapsed)
                    texts[name][sentence] = text
        same = sum(texts["project"][s] == texts["raw"][s] == texts["inproc"][s] for s in SENTENCES)
        if same != len(SENTENCES):
            problems.append(
                f"only {same}/{len(SENTENCES)} sentences translated identically by project, in-process worker and raw CT2"
            )

        # The event loop while --jobs translations (with back-translation, as the bot does) run.
        with Ticker() as idle:
            await asyncio.sleep(1.0)
        jobs = [
            SENTENCES[i % len(SENTENCES)] + (f" Caso {i}." if i >= len(SENTENCES) else "") for i in range(args.jobs)
        ]
        with Ticker() as busy:
            started = time.perf_counter()
            results = await asyncio.wait_for(
                asyncio.gather(*(translator.translate(t, "es", "en") for t in jobs), return_exceptions=True),
                BURST_TIMEOUT,
            )
            burst_s = time.perf_counter() - started
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            problems.append(f"{len(failed)} of {args.jobs} translations failed: {failed[0]!r}")
        checked = sum(not isinstance(r, BaseException) and r.agreement is not None for r in results)
        if checked != args.jobs:
            problems.append(f"only {checked} of {args.jobs} check=True translations were back-translated")

        rss = {
            "this process (bench; imports bot.translation.translator only)": ps_rss_mib(os.getpid()),
            "fresh `import bot.translation.translator`": fresh_import_rss_mib("bot.translation.translator"),
            "fresh `import bot.application` (the whole bot)": fresh_import_rss_mib("bot.application"),
            "translation worker (argostranslate, es->en + en->es loaded)": ps_rss_mib(translator.worker_pid),
            "raw CT2 process (ctranslate2 + sentencepiece, one model)": ps_rss_mib(raw.process.pid),
            "in-process worker (Worker, es->en loaded)": ps_rss_mib(inproc.process.pid),
        }
        heavy = sorted(
            m
            for m in ("argostranslate", "ctranslate2", "numpy", "onnxruntime", "torch", "telegram")
            if m in sys.modules
        )

        # The same translations while a 50-megapixel picture is cleaned, as the bot's report
        # handler does it (after the RSS figures).
        from bot.cleaning import PictureCleaner

        picture, pictures = fifty_megapixel_jpeg(), PictureCleaner()
        try:
            with Ticker() as mixed:
                await asyncio.wait_for(
                    asyncio.gather(
                        pictures.clean(picture, "image/jpeg"), *(translator.translate(t, "es", "en") for t in jobs)
                    ),
                    BURST_TIMEOUT,
                )
        finally:
            pictures.close()
    finally:
        await translator.close()
        await raw.stop()
        await inproc.stop()

    ms = {name: statistics.median(values) * 1000 for name, values in times.items()}
    paired = statistics.median(p / r for p, r in zip(times["project"], times["raw"], strict=True))
    n = args.output_tokens
    verdict = lambda ok: "met" if ok else "NOT MET"  # noqa: E731
    rows = [
        ("model", f"es->en (+ en->es), {SHAPE['layers']} layers, d_model {SHAPE['d_model']}, vocab {SHAPE['vocab_size']}, "
                  f"{variants_meta.get('compute_type', '?')}, packages {sizes[0] / 2**20:.0f} + {sizes[1] / 2**20:.0f} MiB"),
        ("decoding", f"beam {beam}, {n} output tokens + </s> per sentence, CT2 inter_threads {inter}, intra_threads {intra}"),
        ("samples", f"{len(SENTENCES)} sentences x {args.rounds} rounds per variant, turns rotating"),
        ("1. median per sentence (ms): project", f"{ms['project']:.1f}"),
        ("   raw CT2, max_decoding_length=N+1", f"{ms['raw']:.1f}"),
        ("   project / raw (median of per-sentence ratios)", f"{ms['project'] / ms['raw']:.3f} ({paired:.3f})  goal <= {RATIO_GOAL}: {verdict(ms['project'] / ms['raw'] <= RATIO_GOAL)}"),
        ("   worker code in-process (no pipe)", f"{ms['inproc']:.1f}  (differences of medians: pipe+JSON+asyncio {ms['project'] - ms['inproc']:+.1f}, argostranslate+worker {ms['inproc'] - ms['raw']:+.1f})"),
        ("   raw CT2, max_decoding_length=N (ref.)", f"{ms['raw_short']:.1f}  (one decoder step fewer: no </s> step)"),
        ("   outputs identical project/in-process/raw", f"{same}/{len(SENTENCES)}"),
        ("2. max event-loop stall (ms), idle 1 s", idle.summary()),
        (f"   during {args.jobs} translations at once, check=True", f"{busy.summary()}  goal <= {STALL_GOAL_MS:.0f}: {verdict(max(busy.late, default=0) * 1000 <= STALL_GOAL_MS)}"),
        ("   the same, and a 50-megapixel picture cleaned (bot.cleaning)", f"{mixed.summary()}  goal <= {STALL_GOAL_MS:.0f}: {verdict(max(mixed.late, default=0) * 1000 <= STALL_GOAL_MS)}"),
        ("   (those took, wall / per job)", f"{burst_s:.2f} s / {burst_s / args.jobs * 1000:.0f} ms; {checked}/{args.jobs} back-translated"),
        ("   during the first call (worker start)", f"{start_ticker.summary()}; first call took {first_call_s:.2f} s"),
    ]  # fmt: skip
    rows += [(("3. RSS (MiB): " if i == 0 else "   ") + name, value) for i, (name, value) in enumerate(rss.items())]
    rows.append(
        (
            "   heavy modules in this process",
            ", ".join(heavy) or "none (no argostranslate, ctranslate2, numpy, onnxruntime, torch, telegram)",
        )
    )
    return rows, problems, {"inter": inter, "intra": intra, "beam": beam, "batch": batch}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="passes over the sentences per variant")
    parser.add_argument("--output-tokens", type=int, default=20, help="tokens every sentence decodes to (N)")
    parser.add_argument("--jobs", type=int, default=20, help="translations at once for the stall measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outreach-bench-translation-") as tmp:
        rows, problems, cfg = asyncio.run(run(args, Path(tmp)))

    print("\nTranslation cost, random weights: a COST PROXY with Argos-sized shapes, not a quality measure")
    width = max(len(name) for name, _ in rows)
    print("\n".join(f"  {name:<{width}}  {value}" for name, value in rows))
    print(f"\ncommand: {shlex.join(['.venv/bin/python', 'bench/translation.py', *sys.argv[1:]])}")
    print("  project:  Translator(TMP/translation, ['es', 'en'], timeout=60).translate(s, 'es', 'en', check=False)"
          "  ->  python -m bot.translation.worker")  # fmt: skip
    print(
        f"  raw:      ctranslate2.Translator('TMP/.../model', device='cpu', inter_threads={cfg['inter']}, "
        f"intra_threads={cfg['intra']}, compute_type='auto')"
    )
    print(
        f"            .translate_batch([sp.encode(s, out_type=str)], beam_size={cfg['beam']}, num_hypotheses=1, "
        f"length_penalty=0.2, replace_unknowns=True, max_batch_size={cfg['batch']}, batch_type='tokens', "
        f"return_scores=True, max_decoding_length={args.output_tokens + 1})"
    )
    print("  RSS:      ps -o rss= -p <pid>")
    print(f"machine: nproc={subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()}, "
          f"Python {platform.python_version()}, {platform.platform()}; the bench, the worker and the measuring "
          f"children share these cores (only one of them computes at a time in part 1)")  # fmt: skip
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
