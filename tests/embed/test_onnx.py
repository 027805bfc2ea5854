"""The ONNX Runtime backend against the sentence-transformers (torch) reference."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from citeqa import IncompatibleIndexError, Index
from citeqa.embed import default_model_path, get_embedder, normalize_rows
from citeqa.embed.base import encode_alone
from citeqa.embed.onnx import OnnxEmbedder, OnnxUnavailableError, model_settings
from citeqa.embed.torch import SentenceTransformerEmbedder
from citeqa.ingest.segment import segment_documents
from citeqa.ingest.sources import read_documents

EXTRA = [
    "",
    "Hi.",
    "Erdoğan met Aliyev in Şuşa on Nov. 10, 2021 — a meeting long awaited.",
    "数字 123 and emoji 🚀 mixed with ASCII.",
    " ".join(["A very long sentence that goes on and on"] * 80),  # past the 256-token limit
]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    sentences = [s.text for s in segment_documents(read_documents(None))]
    return sentences + EXTRA


@pytest.fixture(scope="module")
def reference() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


def test_onnx_fp32_agrees_with_the_torch_reference(texts, reference):
    onnx = get_embedder(backend="onnx")
    assert isinstance(onnx, OnnxEmbedder)
    ours = onnx.encode(texts, batch_size=7)
    theirs = reference.encode(texts)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.9999, f"worst cosine {cosines.min():.6f} for {texts[int(cosines.argmin())]!r}"
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_fp32_shares_the_reference_space_and_int8_has_its_own(reference):
    assert get_embedder(backend="onnx").space == reference.space
    assert get_embedder(backend="onnx-int8").space != reference.space


def test_int8_vectors_stay_close_to_fp32(texts):
    fp32 = get_embedder(backend="onnx").encode(texts)
    int8 = get_embedder(backend="onnx-int8").encode(texts)
    assert (fp32 * int8).sum(axis=1).mean() >= 0.98


def test_batching_and_order_do_not_change_vectors(texts):
    onnx = get_embedder(backend="onnx")
    whole = onnx.encode(texts, batch_size=64)
    one_by_one = np.stack([onnx.encode([t])[0] for t in texts])
    assert np.abs(whole - one_by_one).max() < 1e-4


def test_questions_measured_alone_get_the_vectors_retrieve_searches_with(texts):
    """int8 quantizes activations per call: a batch shifts vectors, so the eval embeds each question alone."""
    int8 = get_embedder(backend="onnx-int8")
    questions = ["Where was the joint exercise held?", "How long did the war last?", *texts[:6]]
    alone = encode_alone(int8, questions)
    for question, vector in zip(questions, alone):
        assert np.array_equal(vector, int8.encode([question])[0]), question
    assert encode_alone(int8, []).shape == (0, int8.dim)


def test_concurrent_encoding_gives_the_same_vectors(texts):
    onnx = get_embedder(backend="onnx")
    expected = onnx.encode(texts)
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        # different batch sizes and subsets at once: shared tokenizer state must not leak
        results[i] = onnx.encode(texts[i % 3 :], batch_size=1 + i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, vectors in results.items():
        assert np.abs(vectors - expected[i % 3 :]).max() < 1e-4


def test_export_is_cached_and_not_redone(tmp_path, monkeypatch):
    from citeqa.embed import onnx as embed_onnx

    monkeypatch.setenv("CITEQA_CACHE", str(tmp_path))
    from citeqa.embed import default_model_path

    first = embed_onnx.ensure_export(default_model_path())
    assert first.is_file() and tmp_path in first.parents
    assert not list(first.parent.glob(".tmp-*")), "temporary export files left behind"

    def must_not_export(*args, **kwargs):
        raise AssertionError("the model was exported again")

    monkeypatch.setattr(embed_onnx, "_export_fp32", must_not_export)
    assert embed_onnx.ensure_export(default_model_path()) == first
    embedder = OnnxEmbedder(default_model_path(), "m")
    assert embedder.encode(["cached"]).shape == (1, 384)


def test_a_model_onnx_cannot_run_is_refused_with_the_reason(tmp_path):
    from citeqa.embed import default_model_path

    source = Path(default_model_path())
    for name in ("config.json", "tokenizer.json", "modules.json", "sentence_bert_config.json"):
        (tmp_path / name).write_bytes((source / name).read_bytes())
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 384, "pooling_mode_cls_token": True}), encoding="utf-8"
    )
    with pytest.raises(OnnxUnavailableError, match="not mean pooling"):
        model_settings(tmp_path)
    assert model_settings(source) == {"max_seq_length": 256, "normalize": True}


def test_queries_are_never_searched_against_vectors_of_another_space(article_index, tmp_path):
    from citeqa import build_index

    with pytest.raises(IncompatibleIndexError, match="fp32"):  # the default index is int8
        Index.load(article_index.path, embedder=get_embedder(backend="onnx"))
    build_index(None, tmp_path / "fp32", backend="onnx")
    with pytest.raises(IncompatibleIndexError, match="onnx-int8"):
        Index.load(tmp_path / "fp32", embedder=get_embedder(backend="onnx-int8"))


def test_each_index_embeds_its_queries_in_its_own_space(tmp_path):
    from citeqa import build_index

    default = build_index(None, tmp_path / "default")
    assert default.manifest["backend"] == "onnx-int8"
    fp32 = build_index(None, tmp_path / "fp32", backend="onnx")
    assert fp32.manifest["vector_space"].endswith("|fp32")
    for folder, built in ((tmp_path / "default", default), (tmp_path / "fp32", fp32)):
        loaded = Index.load(folder)
        assert loaded.embedder.space == built.manifest["vector_space"]
        assert loaded.retrieve("Where was the military exercise held?", k=3)[0].text


def test_a_server_follows_a_rebuild_that_changed_the_backend(tmp_path):
    import os

    from citeqa import LiveIndex, build_index

    out = tmp_path / "idx"
    build_index(None, out, backend="onnx")
    live = LiveIndex(out)
    assert live.get().embedder.space.endswith("|fp32")
    build_index(None, out, backend="onnx-int8")
    pointer = out / "CURRENT"
    os.utime(pointer, (pointer.stat().st_atime, pointer.stat().st_mtime + 5))  # coarse mtime clocks
    served = live.get()
    assert served.manifest["backend"] == "onnx-int8"
    assert served.embedder.space == served.manifest["vector_space"]
    assert served.retrieve("Where was the exercise held?", k=1)


def _unsorted_path(embedder: OnnxEmbedder, texts: list[str], batch_size: int) -> np.ndarray:
    """The texts embedded in input order, each batch padded to its longest (no sorting)."""
    parts = [embedder._run(embedder._tokenize(texts[i : i + batch_size])) for i in range(0, len(texts), batch_size)]
    return normalize_rows(np.concatenate(parts))


@pytest.fixture(scope="module")
def mixed_lengths(texts) -> list[str]:
    # short and long sentences interleaved, so unsorted batches pad a lot
    rng = np.random.default_rng(0)
    return [texts[int(i)] for i in rng.permutation(len(texts))]


def test_length_buckets_give_fp32_the_vectors_of_the_unsorted_path(mixed_lengths):
    onnx = get_embedder(backend="onnx")
    bucketed = onnx.encode(mixed_lengths, batch_size=8)
    unsorted = _unsorted_path(onnx, mixed_lengths, 8)
    cosines = (bucketed * unsorted).sum(axis=1)
    assert cosines.min() >= 0.999, f"worst cosine {cosines.min():.6f} for {mixed_lengths[int(cosines.argmin())]!r}"


def test_length_buckets_keep_int8_as_close_as_its_batching_allows(mixed_lengths):
    # int8 quantizes activations with one scale per call, so no batching reproduces another
    # exactly (the character-sorted batches before were as far from the unsorted path)
    int8 = get_embedder(backend="onnx-int8")
    bucketed = int8.encode(mixed_lengths, batch_size=8)
    cosines = (bucketed * _unsorted_path(int8, mixed_lengths, 8)).sum(axis=1)
    assert np.median(cosines) >= 0.99 and cosines.min() >= 0.96, (np.median(cosines), cosines.min())


def test_each_batch_is_padded_only_to_its_own_longest_text(mixed_lengths, monkeypatch):
    onnx = OnnxEmbedder(default_model_path(), "m")
    lengths = sorted((len(ids) for ids in onnx._tokenize(mixed_lengths)), reverse=True)
    widths: list[int] = []
    real = onnx._session

    class Recording:
        def run(self, names, feed):  # type: ignore[no-untyped-def]
            widths.append(feed["input_ids"].shape[1])
            return real.run(names, feed)

    monkeypatch.setattr(onnx, "_session", Recording())
    onnx.encode(mixed_lengths, batch_size=4)
    # batches run side by side on the embedder's threads, so they may finish in any order
    assert sorted(widths, reverse=True) == [lengths[i] for i in range(0, len(lengths), 4)]


def test_batches_run_side_by_side_give_the_vectors_of_one_thread(texts):
    one = OnnxEmbedder(default_model_path(), "m", "int8", threads=1)
    two = OnnxEmbedder(default_model_path(), "m", "int8", threads=2)
    assert np.array_equal(one.encode(texts, batch_size=4), two.encode(texts, batch_size=4))


def _encode_in_child(embedder, texts, queue):  # type: ignore[no-untyped-def]
    queue.put(embedder.encode(texts, batch_size=4))


def test_a_forked_child_makes_its_own_batch_threads(texts):
    import multiprocessing

    two = OnnxEmbedder(default_model_path(), "m", "int8", threads=2)
    expected = two.encode(texts, batch_size=4)  # the parent's pool exists now
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_encode_in_child, args=(two, texts, queue))
    child.start()
    try:
        got = queue.get(timeout=120)  # the parent's pool copy has no threads: this would hang
    finally:
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
    assert np.array_equal(got, expected)


def test_int8_quantization_prints_no_library_warning(tmp_path, monkeypatch, caplog):
    """ONNX Runtime's quantizer warns on the root logger; a first `citeqa ask` showed it as "WARNING:root:"."""
    import logging

    from citeqa.embed import default_model_path
    from citeqa.embed import onnx as embed_onnx

    monkeypatch.setenv("CITEQA_CACHE", str(tmp_path))
    root = logging.getLogger()
    handlers, filters = list(root.handlers), list(root.filters)
    with caplog.at_level(logging.INFO):
        path = embed_onnx.ensure_export(default_model_path(), "int8")
    assert path.is_file() and path.name == embed_onnx.INT8_FILE
    root_warnings = [r.getMessage() for r in caplog.records if r.name == "root" and r.levelno >= logging.WARNING]
    assert not root_warnings, root_warnings
    assert any("quantizing the ONNX model" in r.getMessage() for r in caplog.records)  # citeqa's own line still shows
    assert root.handlers == handlers and root.filters == filters  # the root logger as it was
    root.warning("after the export")  # the root logger warns again once the export is done
    assert caplog.records[-1].getMessage() == "after the export"


def _fake_export(root, name, model_dir, version=None):
    from citeqa.embed import exports
    from citeqa.embed import onnx as embed_onnx

    folder = root / name
    folder.mkdir(parents=True)
    (folder / embed_onnx.FP32_FILE).write_bytes(b"not a model")
    meta = {"export_version": exports.EXPORT_VERSION if version is None else version, "model_dir": str(model_dir)}
    (folder / exports.META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    return folder


def test_only_exports_no_install_can_load_are_stale(tmp_path):
    from citeqa.embed import exports
    from citeqa.embed import onnx as embed_onnx

    model = tmp_path / "venv" / "model"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}", encoding="utf-8")
    root = tmp_path / "onnx"
    current = _fake_export(root, exports.cache_key(model), model)
    gone = _fake_export(root, "a" * 24, tmp_path / "deleted-venv" / "model")
    reinstalled = _fake_export(root, "b" * 24, model)  # the key the model had before its files changed
    older_exporter = _fake_export(root, "c" * 24, model, version=exports.EXPORT_VERSION - 1)
    being_written = root / ("d" * 24)
    being_written.mkdir()
    (being_written / embed_onnx.FP32_FILE).write_bytes(b"half")

    assert exports.stale_exports(root, current) == [gone, reinstalled]
    assert exports.stale_exports(tmp_path / "no-cache-yet", current) == []
    assert older_exporter.is_dir() and being_written.is_dir()


def test_a_new_export_removes_the_exports_of_deleted_installs(tmp_path, monkeypatch, caplog):
    """Every fresh virtualenv exported the model again and kept the old 143 MB copies (76 of them here)."""
    import logging

    from citeqa.embed import default_model_path, exports
    from citeqa.embed import onnx as embed_onnx

    monkeypatch.setenv("CITEQA_CACHE", str(tmp_path))
    root = tmp_path / "onnx"
    gone = _fake_export(root, "a" * 24, tmp_path / "deleted-venv" / "model")
    in_use = _fake_export(root, "b" * 24, default_model_path(), version=exports.EXPORT_VERSION + 1)
    with caplog.at_level(logging.INFO, logger="citeqa"):
        path = embed_onnx.ensure_export(default_model_path())
    assert path.is_file() and path.parent.parent == root
    assert not gone.exists()
    assert in_use.is_dir()
    assert any("removed 1 ONNX export" in r.getMessage() for r in caplog.records)
    assert OnnxEmbedder(default_model_path(), "m").encode(["still works"]).shape == (1, 384)
