"""ONNX Runtime backend for sentence-transformers models (Transformer + mean pooling).

The model folder is exported to ONNX once (with torch, which is then no longer needed)
and cached under ``$CITEQA_CACHE/onnx/<key>/`` (default ``$XDG_CACHE_HOME/citeqa``).
The key hashes the model folder's file names, sizes and modification times, the
torch/onnxruntime versions that matter and :data:`EXPORT_VERSION`, so a changed model
or exporter gets a fresh export while a start-up never re-hashes the 90 MB weights.
Where an export lives, and which old ones a new export deletes: :mod:`citeqa.embed.exports`.
Files are written to a temporary name, fsynced and renamed into place, so a crash
never leaves a half-written model behind.

Queries and builds then need only ``onnxruntime`` and ``tokenizers``: tokenization,
mean pooling over the attention mask and L2 normalization reproduce
sentence-transformers exactly (fp32 vectors agree with the torch reference to a cosine
of 0.9999+; see ``tests/embed/test_onnx.py``).

Texts are tokenized once, sorted by token count and run in batches padded to their own
longest text (:meth:`OnnxEmbedder.encode`), so fp32 vectors do not depend on the
batching at all. Each run uses one thread; the batches of one call run side by side on
one thread per core (``threads``), which scales across cores without ONNX Runtime's
per-op thread hand-offs.

The graph is exported with eager attention and without a ``token_type_ids`` input
(export v2). ONNX Runtime's transformer optimizer (``model_type="bert"``) fuses that
graph fully (1 EmbedLayerNormalization, 6 Attention, 12 SkipLayerNormalization, 6
BiasGelu; 6 QAttention after quantization), but the fused int8 graph ran 15% slower
here (354-370 vs 426-429 sentences per CPU-second, one thread, batch 8) than the
session's own level-ALL fusions of the plain graph (DynamicQuantizeMatMul, FusedMatMul,
SkipLayerNormalization), so it is not used; nor is static quantization (calibrated on
the shipped article: 375/s, cosine to fp32 0.937).

The int8 variant is ONNX Runtime dynamic quantization of the MatMul weights
(per-channel); its vectors differ slightly from fp32 (cosine median 0.994, min 0.988 on
400 SQuAD sentences, on an AVX-512 VNNI CPU; 0.993 and 0.981 on an AVX2-only one, whose int8
products ONNX Runtime computes another way), so it is a vector space of its own, and an
index's vectors depend a little on the CPU that made them. Activations are quantized with
one scale per call, so a text's int8 vector also depends a little on the texts batched
with it (cosine to the text embedded alone: median 0.993, min 0.985); ``citeqa eval``
measures the product as it runs (sentences in batches, each question alone:
:func:`citeqa.embed.base.encode_alone`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CiteqaError, InvalidArgumentError
from ..fsutil import atomic_produce
from .base import normalize_rows
from .exports import EXPORT_VERSION, META_FILE, export_dir, remove_stale_exports

log = logging.getLogger("citeqa")

FP32_FILE = "model.onnx"
INT8_FILE = "model-int8.onnx"
PRECISIONS = ("fp32", "int8")
#: ONNX Runtime graph fusions left out. Its SkipLayerNormalization kernel is slower here
#: than the Add + LayerNormalization it replaces: int8, one thread, batch 8, 400 SQuAD
#: sentences, twice: 588-593 vs 499-508 sentences per CPU-second without it (load 3.6-4.6);
#: int8 cosine to fp32 the same (median 0.9939, min 0.982), dense ReQA MRR@10 0.6808 vs
#: 0.6780 (fp32 0.6792; 500 SQuAD questions over 5,121 sentences). It changes int8
#: vectors slightly, so it is part of :data:`EXPORT_VERSION`'s vector space.
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]
#: Sentences per ONNX Runtime call. Measured on 2,000 SQuAD sentences (2 cores), fp32:
#: batch 4 325/s, 8 339/s, 16 323/s, 32 295/s, 64 227/s, 128 160/s (int8: 8 602/s, 64
#: 412/s): small length-sorted batches pad less and stay in cache. Measured again with
#: batches sorted by token count (1,500 SQuAD sentences, int8, medians of 3, load 2.5-4
#: from a training run next to it): batch 4 402/s, 8 416-435/s, 12 385/s, 16 339-407/s,
#: 24 359/s, 32 332-363/s, 64 271/s; the character-sorted batches before: 337-340/s.
BATCH_SIZE = 8


class OnnxUnavailableError(CiteqaError):
    """The ONNX backend cannot serve this model (missing package, unsupported model)."""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"


def model_settings(model_dir: Path) -> dict[str, Any]:
    """Check that ``model_dir`` is a mean-pooling sentence-transformers model ONNX can run.

    Returns:
        ``{"max_seq_length": int, "normalize": bool}``.

    Raises:
        OnnxUnavailableError: the folder lacks ``tokenizer.json`` or uses another pooling.
    """
    if not (model_dir / "tokenizer.json").is_file() or not (model_dir / "config.json").is_file():
        raise OnnxUnavailableError(f"{model_dir} has no tokenizer.json/config.json")
    modules = _read_json(model_dir / "modules.json")
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise OnnxUnavailableError(f"{model_dir} has no readable modules.json")
    kinds = [m.get("type", "") for m in modules]
    if kinds not in ([_TRANSFORMER, _POOLING], [_TRANSFORMER, _POOLING, _NORMALIZE]):
        raise OnnxUnavailableError(f"{model_dir}: modules {kinds} are not Transformer+Pooling(+Normalize)")
    pooling = _read_json(model_dir / modules[1].get("path", "") / "config.json") or {}
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        raise OnnxUnavailableError(f"{model_dir}: pooling {modes} is not mean pooling")
    bert = _read_json(model_dir / "sentence_bert_config.json") or {}
    return {"max_seq_length": int(bert.get("max_seq_length") or 512), "normalize": kinds[-1] == _NORMALIZE}


def _export_fp32(model_dir: Path, target: Path) -> None:
    """Export the Transformer of ``model_dir`` to ONNX (token embeddings out)."""
    try:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise OnnxUnavailableError(f"exporting to ONNX needs torch and transformers ({exc})") from None
    try:
        import onnx  # noqa: F401 - the TorchScript exporter needs it
    except ImportError:
        raise OnnxUnavailableError("exporting to ONNX needs the onnx package: pip install onnx") from None
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    # eager attention: the SDPA path exports as ~670 nodes with Where/IsNaN masking, eager as
    # ~520 plain MatMul/Softmax ones, which ONNX Runtime fuses better (int8 on 2 cores, one
    # thread: 469 vs 433 sentences per CPU-second, the same vectors)
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager").eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            # token_type_ids left out: the model uses its all-zero default, what was fed before
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids = torch.ones(2, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask"]
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "token_embeddings"]}
    import warnings

    def produce(tmp: Path) -> None:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                TokenEmbeddings(model),
                (ids, ids),
                str(tmp),
                input_names=names,
                output_names=["token_embeddings"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )

    atomic_produce(target, produce)


def _quantize_int8(source: Path, target: Path) -> None:
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise OnnxUnavailableError(f"int8 quantization needs onnx and onnxruntime ({exc})") from None

    def produce(tmp: Path) -> None:
        with _root_warnings_dropped():
            quantize_dynamic(
                str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
            )

    atomic_produce(target, produce)


@contextmanager
def _root_warnings_dropped() -> Iterator[None]:
    """Drop root-logger records below ERROR meanwhile (citeqa logs on "citeqa").

    ONNX Runtime's quantizer warns through the root logger ("Please consider to run
    pre-processing before quantization"), which with no handler configured makes
    ``logging`` print it as "WARNING:root:" to a new user's terminal; a NullHandler
    stands in meanwhile so no default handler is installed.
    """
    root = logging.getLogger()

    def quiet(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR

    stand_in = logging.NullHandler() if not root.handlers else None
    root.addFilter(quiet)
    if stand_in is not None:
        root.addHandler(stand_in)
    try:
        yield
    finally:
        root.removeFilter(quiet)
        if stand_in is not None:
            root.removeHandler(stand_in)


_export_lock = threading.Lock()


def _cores() -> int:
    """CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def ensure_export(model_dir: str | os.PathLike[str], precision: str = "fp32") -> Path:
    """The cached ONNX file of ``model_dir`` at ``precision``, exporting it once if needed.

    Raises:
        OnnxUnavailableError: the model cannot be exported (see the message).
    """
    if precision not in PRECISIONS:
        raise InvalidArgumentError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    model_dir = Path(model_dir)
    model_settings(model_dir)
    folder = export_dir(model_dir)
    fp32 = folder / FP32_FILE
    wanted = fp32 if precision == "fp32" else folder / INT8_FILE
    if wanted.is_file():
        return wanted
    with _export_lock:
        if not fp32.is_file():
            log.info("exporting %s to ONNX once (cached in %s)", model_dir.name, folder)
            _export_fp32(model_dir, fp32)
        if precision == "int8" and not wanted.is_file():
            log.info("quantizing the ONNX model to int8 once (cached in %s)", folder)
            _quantize_int8(fp32, wanted)
        meta = {"export_version": EXPORT_VERSION, "model_dir": str(model_dir)}
        atomic_produce(folder / META_FILE, lambda tmp: tmp.write_text(json.dumps(meta), encoding="utf-8"))
        remove_stale_exports(folder)
    return wanted


def mean_pool(token_embeddings: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Mean of the token embeddings over the attention mask (sentence-transformers' pooling)."""
    mask = attention_mask.astype(np.float32)
    # (batch, 1, tokens) @ (batch, tokens, dim): one batched product, no masked copy
    summed = np.matmul(mask[:, None, :], token_embeddings)[:, 0, :]
    return summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)


class OnnxEmbedder:
    """sentence-transformers model run by ONNX Runtime; tokenized with ``tokenizers``.

    The tokenizer's truncation and padding are set once here and never changed, and
    encoding holds a lock, so concurrent callers always get the same vectors.
    """

    def __init__(
        self, model_dir: str | os.PathLike[str], model_name: str, precision: str = "fp32", *, threads: int | None = None
    ) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise OnnxUnavailableError(f"the ONNX backend needs onnxruntime and tokenizers ({exc})") from None
        model_dir = Path(model_dir)
        settings = model_settings(model_dir)
        path = ensure_export(model_dir, precision)
        self.model_name = model_name
        self.precision = precision
        self.backend = "onnx" if precision == "fp32" else "onnx-int8"
        self._normalize = bool(settings["normalize"])
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=int(settings["max_seq_length"]))
        tokenizer.no_padding()  # each batch is padded here, to its own longest text
        pad_id = tokenizer.token_to_id("[PAD]")
        self._pad_id = 0 if pad_id is None else int(pad_id)
        self._tokenizer = tokenizer
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # no busy-waiting between runs: it steals the CPU from FAISS/BM25 right after a
        # query is embedded, and from neighbours on a shared machine (measured with a
        # training run beside it, int8 batch 16: 235 sentences/s spinning, 385/s not).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # one thread per run, and batches run side by side on ``threads`` threads instead
        # (ONNX Runtime's run releases the GIL): splitting each of a batch's ~400 small
        # ops over two threads that sleep between ops costs a wake-up per op
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        if threads is not None and threads <= 0:
            raise InvalidArgumentError(f"threads must be > 0, got {threads}")
        self._workers = threads or _cores()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        try:
            self._session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"], disabled_optimizers=DISABLED_OPTIMIZERS
            )
        except Exception as exc:  # noqa: BLE001 - a damaged cache file: say where it is
            raise OnnxUnavailableError(f"cannot load {path} ({exc}); delete it to export again") from None
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        self._lock = threading.Lock()

    @property
    def space(self) -> str:
        """fp32 shares the torch reference's space; int8 is a space of its own."""
        if self.precision == "fp32":
            return f"{self.model_name}|{self.dim}|fp32"
        return f"{self.model_name}|{self.dim}|onnx-int8-v{EXPORT_VERSION}"

    def _tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (truncated, unpadded).

        ``encode_batch_fast`` skips the character offsets nobody reads here: the same ids,
        about 20% faster (2,000 SQuAD sentences: 97-108 vs 120-129 ms).
        """
        return [e.ids for e in self._tokenizer.encode_batch_fast(list(texts))]

    def _run(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Mean-pooled (unnormalized) vectors of one batch, padded to its longest text."""
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        width = max(int(lengths.max()), 1)
        feed_ids = np.full((len(ids), width), self._pad_id, dtype=np.int64)
        for row, seq in enumerate(ids):
            feed_ids[row, : len(seq)] = seq
        mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
        feed = {"input_ids": feed_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(feed_ids)
        (hidden,) = self._session.run(None, feed)
        return mean_pool(hidden, mask)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE, show_progress: bool = False
    ) -> np.ndarray:
        """Embed ``texts`` into an ``(n, dim)`` float32 array of unit vectors.

        All texts are tokenized at once, sorted by token count (longest first) and run in
        batches padded only to their own longest text, then put back in input order:
        little compute goes to padding, and the vectors are those of the texts in any order.
        """
        if batch_size <= 0:
            raise InvalidArgumentError(f"batch_size must be > 0, got {batch_size}")
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        bar = None
        if show_progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="Embedding", unit="sentence")
        try:
            with self._lock:
                ids = self._tokenize(texts)
                order = np.argsort([-len(x) for x in ids], kind="stable")
                batches = [order[first : first + batch_size] for first in range(0, len(texts), batch_size)]

                def run(rows: np.ndarray) -> int:
                    out[rows] = self._run([ids[int(r)] for r in rows])
                    return len(rows)

                if self._workers > 1 and len(batches) > 1:
                    done = self._batch_pool().map(run, batches)
                else:
                    done = map(run, batches)
                for count in done:
                    if bar is not None:
                        bar.update(count)
        finally:
            if bar is not None:
                bar.close()
        return normalize_rows(out)

    def _batch_pool(self) -> ThreadPoolExecutor:
        """The threads that run batches side by side (made on first use; callers hold the lock).

        Made again in a forked child, whose copy of the pool has no threads behind it.
        """
        if self._pool is None or self._pool_pid != os.getpid():
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="citeqa-onnx")
            self._pool_pid = os.getpid()
        return self._pool
