"""The cross-encoder stage: the pure reordering step, the shipped model, and the switch that turns it off."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from citeqa.errors import CorruptIndexError, InvalidArgumentError
from citeqa.search.cross import (
    CROSS_CANDIDATES,
    CrossEncoder,
    cross_rerank,
    read_manifest,
    shipped_cross_encoder,
)
from citeqa.search.fusion import Ranking, fuse_rankings


def ranking(scores: list[float]) -> Ranking:
    n = len(scores)
    return Ranking(
        ids=np.arange(100, 100 + n, dtype=np.int64),
        scores=np.array(scores, dtype=np.float32),
        dense=np.linspace(0.9, 0.5, n).astype(np.float32),
        lexical=np.linspace(5.0, 1.0, n).astype(np.float32),
    )


def test_weight_zero_keeps_the_reranker_order_and_records_probabilities():
    first = ranking([0.5, 0.3, 0.2])
    out = cross_rerank(first, np.array([-2.0, 0.0, 3.0]), 0.0, 3)
    assert out.ids.tolist() == [100, 101, 102]
    assert out.cross is not None
    assert out.cross.tolist() == pytest.approx([1 / (1 + np.exp(2.0)), 0.5, 1 / (1 + np.exp(-3.0))], rel=1e-5)


def test_a_strong_logit_moves_a_sentence_up_and_scores_stay_descending():
    first = ranking([0.5, 0.3, 0.2])
    out = cross_rerank(first, np.array([-2.0, 0.0, 3.0]), 1.0, 3)
    # log(0.2) + 3 > log(0.3) + 0 > log(0.5) - 2
    assert out.ids.tolist() == [102, 101, 100]
    assert np.all(np.diff(out.scores) <= 0)
    assert out.scores.sum() == pytest.approx(1.0, rel=1e-5)
    # dense and lexical travel with their sentence
    assert out.dense.tolist() == pytest.approx([first.dense[2], first.dense[1], first.dense[0]])


def test_only_the_scored_head_is_reordered_the_rest_keeps_its_place():
    first = ranking([0.4, 0.3, 0.2, 0.1])
    out = cross_rerank(first, np.array([0.0, 5.0]), 1.0, 4)
    assert out.ids.tolist() == [101, 100, 102, 103]
    assert np.isnan(out.cross[2]) and np.isnan(out.cross[3])
    assert out.scores[:2].sum() == pytest.approx(0.7, rel=1e-5)


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(InvalidArgumentError, match="top_k must be > 0, got 0"):
        cross_rerank(ranking([1.0]), np.zeros(1), 1.0, 0)
    with pytest.raises(InvalidArgumentError, match="2 cross-encoder logits for a ranking of 1"):
        cross_rerank(ranking([1.0]), np.zeros(2), 1.0, 1)


def test_fused_follow_up_rankings_keep_the_best_cross_encoder_reading():
    a = cross_rerank(ranking([0.6, 0.4]), np.array([0.0, 2.0]), 0.0, 2)
    b = ranking([0.7, 0.3])  # no cross-encoder ran
    fused = fuse_rankings([a, b], 2)
    assert fused.cross is not None
    assert fused.cross.tolist() == pytest.approx([0.5, 1 / (1 + np.exp(-2.0))], rel=1e-5)
    assert fuse_rankings([b, b], 2).cross is None


# ---------------------------------------------------------------------- the shipped model (real ONNX Runtime)


needs_model = pytest.mark.skipif(read_manifest() is None, reason="no cross-encoder ships in this checkout")


@needs_model
def test_the_shipped_model_prefers_the_sentence_that_answers():
    model = shipped_cross_encoder()
    assert model is not None
    question = "How long was the conflict?"
    sentences = [
        "During the 44-day conflict, thousands of soldiers were killed.",
        "The ministers met in the capital on Monday.",
        "Heavy rain is expected in the north this weekend.",
    ]
    logits = model.logits(question, sentences)
    assert logits.shape == (3,)
    assert int(np.argmax(logits)) == 0
    # the same pair gives the same logit whatever it is batched with
    assert model.logits(question, sentences[:1])[0] == pytest.approx(logits[0], abs=0.05)


@needs_model
def test_a_model_file_that_does_not_match_its_manifest_is_refused(tmp_path):
    manifest = read_manifest()
    assert manifest is not None
    folder = tmp_path / "cross_encoder"
    shutil.copytree(manifest.folder, folder)
    with open(folder / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    changed = read_manifest(folder)
    assert changed is not None
    with pytest.raises(CorruptIndexError, match="does not match its manifest"):
        CrossEncoder(changed)


@needs_model
def test_the_manifest_records_how_the_model_was_trained():
    manifest = read_manifest()
    assert manifest is not None
    data = json.loads((manifest.folder / "manifest.json").read_text(encoding="utf-8"))
    assert data["training"]["script"] == "benchmarks/train_cross_encoder.py"
    assert "FIT halves only" in data["training"]["data"]
    assert set(data["files"]) == {"model.onnx", "tokenizer.json"}


@needs_model
def test_the_switch_turns_the_stage_on_and_off(monkeypatch):
    from citeqa.api import open_default_index
    from citeqa.index import Index

    folder = open_default_index().path.parent
    monkeypatch.setenv("CITEQA_CROSS_ENCODER", "1")
    on = Index.load(folder)
    monkeypatch.setenv("CITEQA_CROSS_ENCODER", "off")
    off = Index.load(folder)
    explicit = Index.load(folder, cross_encoder=True)  # the argument wins over the environment
    assert on.ranker.cross is not None and explicit.ranker.cross is not None
    assert off.ranker.cross is None
    ranked_on = on.rank("How long did the war last?", 5)
    ranked_off = off.rank("How long did the war last?", 5)
    assert ranked_on.cross is not None and not np.isnan(ranked_on.cross[0])
    assert ranked_off.cross is None
    assert len(ranked_on) == len(ranked_off) == 5
    assert CROSS_CANDIDATES >= 10


@needs_model
@pytest.mark.parametrize("flag", ["--cross-encoder", "--no-cross-encoder"])
def test_ask_takes_the_switch_and_still_answers_with_a_confidence(flag, monkeypatch, capsys):
    from citeqa.cli import main

    monkeypatch.setenv("CITEQA_CROSS_ENCODER", "")  # main() sets it; monkeypatch puts it back
    code = main(["ask", "How long did the war last?", "--json", flag])
    out = json.loads(capsys.readouterr().out)
    assert code in (0, 3)
    assert 0.0 <= out["confidence"] <= 1.0
    assert out["citations"]
