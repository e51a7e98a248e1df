"""Build a tiny but real Argos Translate package (`.argosmodel`) at test time.

Real packages cannot be downloaded here, and the code that uses them should still be tested
against the real pipeline: `package.install_from_path`, MiniSBD sentence splitting (onnxruntime),
SentencePiece and CTranslate2. So this module writes every part of a package itself:

- `sentencepiece.model`, trained on generated words (any text does; only the vocabulary matters);
- `model/`, a CTranslate2 Transformer with seeded random weights, saved as int8;
- `minisbd/<from>.onnx`, a one-node ONNX graph (a lookup table) that ends a sentence on . ! ? …
- `metadata.json`, as argostranslate reads it.

What it translates to is nonsense, but every byte goes through the same code as a real package.
Only the standard library, numpy, sentencepiece, ctranslate2 and onnx are imported, never
argostranslate (importing that pins its settings and costs hundreds of MB; see the tests).
"""

from __future__ import annotations

import io
import json
import random
import sys
import tempfile
import zipfile
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import onnx
import sentencepiece as spm
from onnx import TensorProto, helper

if TYPE_CHECKING:
    from ctranslate2.specs import TransformerSpec

LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "pt": "Portuguese"}
SENTENCE_ENDS = ".!?…。！？"
# Stanza's tokenizer classes, which MiniSBD keeps: 0 inside a token, 1 end of token,
# 2 end of token and sentence, 3/4 the same for a multi-word token.
INSIDE, END_OF_SENTENCE, CLASSES = 0, 2, 5
ZIP_DATE = (2024, 1, 1, 0, 0, 0)  # fixed, so one seed gives byte-identical packages


def build_argos_package(directory: Path, from_code: str, to_code: str, *, with_minisbd: bool = True,
                        layers: int = 1, d_model: int = 32, heads: int = 2, ffn: int = 64, vocab_size: int = 200,
                        seed: int = 0, output_tokens: int = 16) -> Path:
    """Write `<from>_<to>.argosmodel` into `directory` and return its path.

    The defaults build in about a second. `layers=6, d_model=512, heads=8, ffn=2048,
    vocab_size=32000` has the shape and size of a real Argos model (for benchmarks).
    `with_minisbd=False` leaves out `minisbd/`: argostranslate then downloads a splitter on first use.
    Each sentence translates to `output_tokens` tokens (see `_end_of_sentence_at`); argostranslate
    stops decoding at 256 tokens whatever this says.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    root = f"translate-{from_code}_{to_code}-1_0"
    target = directory / f"{from_code}_{to_code}.argosmodel"
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        tokenizer = _train_sentencepiece(vocab_size, seed)
        (work / "sentencepiece.model").write_bytes(tokenizer)
        _save_ctranslate2_model(work / "model", tokenizer, layers, d_model, heads, ffn, seed, output_tokens)
        files = {
            "metadata.json": json.dumps(_metadata(from_code, to_code), indent=2).encode(),
            "sentencepiece.model": tokenizer,
            **{f"model/{p.name}": p.read_bytes() for p in sorted((work / "model").iterdir())},
        }
        if with_minisbd:
            files[f"minisbd/{from_code}.onnx"] = _minisbd_model(from_code)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder in sorted({f"{root}/"} | {f"{root}/{name.rsplit('/', 1)[0]}/" for name in files if "/" in name}):
            archive.writestr(zipfile.ZipInfo(folder, ZIP_DATE), b"")
        for name, data in sorted(files.items()):
            archive.writestr(zipfile.ZipInfo(f"{root}/{name}", ZIP_DATE), data, zipfile.ZIP_DEFLATED)
    return target


def _metadata(from_code: str, to_code: str) -> dict:
    """What `argostranslate.package.Package` reads; `links` stays empty: nothing to download."""
    return {
        "package_version": "1.0", "argos_version": "1.9.0", "type": "translate",
        "from_code": from_code, "from_name": LANGUAGE_NAMES.get(from_code, from_code),
        "to_code": to_code, "to_name": LANGUAGE_NAMES.get(to_code, to_code),
        "links": [],
    }


# --- SentencePiece ---------------------------------------------------------------------------

def _generated_text(vocab_size: int, seed: int) -> list[str]:
    """Sentences of random syllable words: enough distinct substrings for `vocab_size` pieces.

    A 32k vocabulary needs many distinct words; a line of every letter and sign we may meet
    keeps real text (accents, capitals, punctuation) out of `<unk>`.
    """
    rng = random.Random(seed)
    onsets = ["", "b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "z", "ch", "br", "tr", "pl", "qu"]
    vowels = ["a", "e", "i", "o", "u", "á", "é", "í", "ó", "ú", "ia", "ue"]
    codas = ["", "", "", "n", "s", "r", "l"]
    words = ["".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(rng.randint(1, 4)))
             for _ in range(max(300, vocab_size * 4))]
    lines = ["abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 ñáéíóúüç ÑÁÉÍÓÚÜÇ .,;:!?¿¡'\"()-…"]
    for _ in range(max(300, vocab_size)):
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(4, 14)))
        lines.append(sentence[0].upper() + sentence[1:] + rng.choice(".....?!"))
    return lines


def _train_sentencepiece(vocab_size: int, seed: int) -> bytes:
    """A unigram SentencePiece model; ids 0-2 are `<unk>`, `<s>`, `</s>` as CTranslate2 expects."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_generated_text(vocab_size, seed)), model_writer=model,
        vocab_size=vocab_size, model_type="unigram", character_coverage=1.0,
        num_threads=1, minloglevel=2,  # one thread, all of the text: the same model each time
    )
    return model.getvalue()


# --- CTranslate2 -----------------------------------------------------------------------------

def _ctranslate2_specs() -> ModuleType:
    """`ctranslate2.specs`, imported without torch.

    It tries `import torch` only to accept torch tensors; we give it numpy arrays, and torch would
    cost the test process about 1 s and 190 MB. Blocking the import here changes nothing else:
    `torch` can still be imported normally afterwards.
    """
    if "torch" not in sys.modules and "ctranslate2.specs" not in sys.modules:
        sys.modules["torch"] = None  # makes `import torch` raise ImportError
        try:
            import ctranslate2.specs
        finally:
            del sys.modules["torch"]
    import ctranslate2.specs

    return ctranslate2.specs


def _save_ctranslate2_model(output: Path, tokenizer: bytes, layers: int, d_model: int, heads: int, ffn: int,
                            seed: int, output_tokens: int) -> None:
    """A pre-norm Transformer like OpenNMT-py's (Argos's trainer), random weights, saved as int8.

    The spec lists the variables it needs (`None` until set); each gets a shape from its name.
    """
    specs = _ctranslate2_specs()
    processor = spm.SentencePieceProcessor(model_proto=tokenizer)
    vocabulary = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    spec = specs.TransformerSpec.from_config(layers, heads)
    rng = np.random.default_rng(seed)
    width, size = d_model, len(vocabulary)
    for name in sorted(spec.variables()):
        scope, attribute = name.rsplit("/", 1)
        layer = specs.model_spec.index_spec(spec, scope)
        if getattr(layer, attribute) is not None:
            continue  # a setting the spec filled in itself (num_heads, pre_norm, ...)
        if attribute == "gamma":
            value = np.ones(width, np.float32)
        elif attribute == "beta":
            value = np.zeros(width, np.float32)
        else:
            rows, columns = _weight_shape(scope, width, ffn, size)
            value = rng.standard_normal((rows, columns), np.float32) * np.float32(columns**-0.5)
            if "embeddings" not in scope:
                layer.bias = rng.standard_normal(rows, np.float32) * np.float32(0.02)
        setattr(layer, attribute, value)
    # Never emit <unk> or <s>: a sentence would come back empty or as the source words.
    spec.decoder.projection.bias[[processor.unk_id(), processor.bos_id()]] = -1e4
    _end_of_sentence_at(spec, output_tokens, processor.eos_id(), width)
    spec.register_source_vocabulary(vocabulary)
    spec.register_target_vocabulary(vocabulary)
    spec.validate()
    spec.optimize(quantization="int8")
    output.mkdir()
    spec.save(str(output))


def _weight_shape(scope: str, width: int, ffn: int, vocabulary: int) -> tuple[int, int]:
    """(output, input) sizes of a weight, from where it sits in the Transformer spec."""
    if scope.endswith(("embeddings", "embeddings_0", "projection")):
        return vocabulary, width
    if "/ffn/" in scope:
        return (ffn, width) if scope.endswith("linear_0") else (width, ffn)
    if "/self_attention/" in scope:  # fused query-key-value, then output
        return (3 * width, width) if scope.endswith("linear_0") else (width, width)
    if "/attention/" in scope:  # encoder-decoder: query, fused key-value, output
        return (2 * width, width) if scope.endswith("linear_1") else (width, width)
    raise ValueError(f"no shape known for {scope}")


def _end_of_sentence_at(spec: TransformerSpec, step: int, eos: int, width: int) -> None:
    """Make the decoder emit `</s>` at decoding step `step`, and never before.

    Random weights almost never pick `</s>`, so every sentence would run to CTranslate2's limit of
    256 tokens, far slower than a real model. So one channel of the decoder's residual stream (the
    last) carries only the position table, which is 0 before `step` and large from then on: no
    embedding or layer writes to it, and the projection maps it to the `</s>` logit, which is
    held far down (bias -12) until the channel turns on and the final layer norm makes it about
    sqrt(width) times 4. The table has 1024 positions: CTranslate2 refuses to decode further.
    """
    if not 0 < step < 1024:
        raise ValueError(f"output_tokens must be between 1 and 1023, not {step}")
    channel, decoder = width - 1, spec.decoder
    positions = np.arange(1024, dtype=np.float32)[:, None]
    rates = np.exp(-np.log(10000.0) * np.arange(width // 2, dtype=np.float32) / (width // 2))
    table = np.concatenate([np.sin(positions * rates), np.cos(positions * rates)], axis=1).astype(np.float32)
    table[:, channel] = np.where(positions[:, 0] >= step, 1000.0, 0.0)
    decoder.position_encodings.encodings = table
    decoder.embeddings.weight[:, channel] = 0.0
    for layer in decoder.layer:
        for output in (layer.self_attention.linear[-1], layer.attention.linear[-1], layer.ffn.linear_1):
            output.weight[channel, :] = 0.0
            output.bias[channel] = 0.0
    decoder.projection.weight[eos, :] = 0.0
    decoder.projection.weight[eos, channel] = 4.0
    decoder.projection.bias[eos] = -12.0


# --- MiniSBD ---------------------------------------------------------------------------------

def _minisbd_model(lang_code: str) -> bytes:
    """A MiniSBD model: one Gather from a table of class scores per character.

    `minisbd.SBDetect` feeds `units` (int64 character ids, batch x length) and `features`
    (float32, batch x length x len(feat_funcs)) and takes argmax over the last axis of the first
    output (batch x length x 5). The table scores . ! ? … as end of sentence, anything else
    (and unknown characters) as inside a token. Its metadata carries what `create_session`
    reads: `config` (must not be empty), `vocab` (a Vocab state dict), `lexicon`, `lang_code`.
    """
    units = ["<PAD>", "<UNK>"] + [chr(c) for c in range(32, 127)] + list("ñáéíóúüçÑÁÉÍÓÚÜÇ¿¡…。！？")
    table = np.zeros((len(units), CLASSES), np.float32)
    table[:, INSIDE] = 1.0
    for i, unit in enumerate(units):
        if unit in SENTENCE_ENDS:
            table[i] = 0.0
            table[i, END_OF_SENTENCE] = 1.0
    feat_funcs = ["space_before", "capitalized", "numeric", "end_of_para", "start_of_para"]
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "units"], ["scores"], axis=0)],
        "minisbd_lookup",
        inputs=[helper.make_tensor_value_info("units", TensorProto.INT64, ["batch", "length"]),
                helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", "length", len(feat_funcs)])],
        outputs=[helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", "length", CLASSES])],
        initializer=[helper.make_tensor("table", TensorProto.FLOAT, table.shape, table.flatten().tolist())],
    )
    model = helper.make_model(graph, producer_name="outreach-bot tests", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    vocab = {"lang": lang_code, "idx": 0, "cutoff": 0, "lower": False,
             "_unit2id": {unit: i for i, unit in enumerate(units)}, "_id2unit": units}
    config = {"feat_funcs": feat_funcs, "max_seqlen": 1000, "batch_size": 1, "skip_newline": False,
              "use_dictionary": False, "num_dict_feat": 0, "no_ssplit": False}
    helper.set_model_props(model, {"lang_code": lang_code, "config": json.dumps(config),
                                   "vocab": json.dumps(vocab), "lexicon": json.dumps(None)})
    onnx.checker.check_model(model)
    return model.SerializeToString()
