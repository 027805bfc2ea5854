"""The evaluation harness (pure metrics, gold file) and quality checks with the real model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from citeqa.eval import datasets, harness, metrics
from citeqa.errors import InvalidArgumentError

REPO = Path(__file__).resolve().parents[2]
EXTRACT = REPO / "tests" / "data" / "squad-extract.json"


def test_ranking_metrics_from_first_hit_ranks() -> None:
    m = metrics.ranking_metrics([1, 2, None, 10])
    assert m["mrr@10"] == pytest.approx((1 + 0.5 + 0 + 0.1) / 4)
    assert m["r@1"] == 0.25 and m["r@3"] == 0.5 and m["r@10"] == 0.75


def test_first_hit_rank_finds_any_gold_row() -> None:
    assert metrics.first_hit_rank([5, 7, 9], {9, 7}) == 2
    assert metrics.first_hit_rank([5, 7, 9], {1}) is None


def test_sentence_at_maps_answer_positions_to_sentences() -> None:
    spans = np.array([[0, 0, 10, 0], [0, 11, 20, 0], [1, 0, 5, 1]])
    assert metrics.sentence_at(spans, 0, 3) == 0
    assert metrics.sentence_at(spans, 0, 10) == 1  # white space between sentences: the next one
    assert metrics.sentence_at(spans, 1, 4) == 2
    with pytest.raises(InvalidArgumentError):
        metrics.sentence_at(spans, 0, 25)


def test_bad_gold_line_is_reported_with_its_number() -> None:
    with pytest.raises(InvalidArgumentError, match="line 2"):
        datasets.parse_gold(['{"id": "a", "kind": "answerable", "question": "q", "answers": ["x"]}', "{oops"])


def test_gold_file_has_the_promised_cases_and_answers_from_the_article() -> None:
    cases = datasets.load_gold()
    kinds = [c.kind for c in cases]
    assert kinds.count("answerable") >= 60
    assert kinds.count("unanswerable") >= 15
    assert kinds.count("followup") >= 10
    article = (REPO / "src" / "citeqa" / "data" / "lachin-joint-exercise.txt").read_text(encoding="utf-8")
    for case in cases:
        for _, answers in case.turns or ((case.question, case.answers),):
            assert all(a in article for a in answers), case.id


@pytest.fixture(scope="module")
def gold_result(article_index):  # type: ignore[no-untyped-def]
    return harness.evaluate_gold(article_index, datasets.load_gold(), latency_repeats=1)


def test_gold_questions_retrieve_their_sentence(gold_result) -> None:  # type: ignore[no-untyped-def]
    hybrid = gold_result["modes"]["hybrid"]["answerable"]
    # measured 0.957 hit@3 / 0.857 hit@1; a drop means ranking got worse
    assert hybrid["r@3"] >= 0.95, gold_result["misses"]
    assert hybrid["r@1"] >= 0.83, gold_result["misses"]
    assert hybrid["mrr@10"] > gold_result["modes"]["dense"]["answerable"]["mrr@10"]
    assert hybrid["mrr@10"] > gold_result["modes"]["bm25"]["answerable"]["mrr@10"]


def test_followups_resolve_against_the_conversation(gold_result) -> None:  # type: ignore[no-untyped-def]
    resolved = gold_result["modes"]["hybrid"]["followup"]["r@1"]
    # 13 of 14 on an AVX-512 VNNI CPU, 12 of 14 on an AVX2-only one: ONNX Runtime's int8
    # products differ between the two, and so do the vectors a little (cosine to fp32: median
    # 0.994 vs 0.993, min 0.988 vs 0.981 on 400 SQuAD sentences)
    assert resolved >= 12 / 14
    # the second turn alone: 11 of 14 until the reranker's carried coverage, 13 of 14 since ("What
    # is the goal of it?" finds "The exercise aims ..." alone); which turns need the conversation
    # is pinned in tests/test_index_followups.py
    assert resolved >= gold_result["followup_unresolved"]["r@1"]


def test_unrelated_questions_abstain_and_answerable_ones_do_not(gold_result) -> None:  # type: ignore[no-untyped-def]
    ab = gold_result["abstention"]
    assert ab["off_topic_abstained"] == ab["off_topic"], ab["not_abstained"]
    # The shipped policy (rules, or a confidence under the cautious fallback's threshold) passed the
    # release gate: <= 5% of [1]-right answers abstained on every report half, the gold file included
    # (3 of 86 in its run). This counts every answerable turn, wrong [1] too (4 of 84 on the AVX2 VM
    # of 2026-12-04), with one more for int8 vectors that differ a little by CPU.
    assert ab["answerable_abstained"] <= 0.05 * ab["answerable"] + 1, ab["false_abstentions"]


def test_answer_marks_the_date_and_shows_its_interpretation(article_index) -> None:  # type: ignore[no-untyped-def]
    result = article_index.answer("When did the war end?")
    assert not result.abstained
    marked = [c.text[s:e] for c in result.citations for s, e in c.answer_spans]
    assert "Nov. 10" in marked
    follow = article_index.answer(
        "How many times has he visited?",
        history=[{"role": "user", "content": "Who is the Turkish president mentioned?"},
                 {"role": "assistant", "content": "..."}],
    )
    assert follow.interpreted_as != "How many times has he visited?"
    assert "more than 20 times" in follow.citations[0].text


def test_squad_extract_runs_through_the_harness(tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    index, questions, vectors = harness.squad_index(EXTRACT, tmp_path / "cache", embedder=embedder)
    assert len(index.documents) == 2 and len(questions) == 95
    for q in questions:  # the gold sentence holds the answer text
        assert index.hit(q.gold_row, 0.0).text
    result = harness.evaluate_squad(index, questions, vectors)
    modes = result["modes"]
    assert set(modes) == {"hybrid", "rrf", "dense", "bm25"}
    assert modes["hybrid"]["pool"]["mrr@10"] >= max(modes["dense"]["pool"]["mrr@10"], modes["bm25"]["pool"]["mrr@10"]) - 0.02
    assert modes["hybrid"]["pool"]["r@10"] >= 0.9
    again, _, cached = harness.squad_index(EXTRACT, tmp_path / "cache", embedder=embedder)
    assert again.path == index.path and np.allclose(cached, vectors)  # reused from the cache


def test_squad_cache_of_another_vector_space_is_rebuilt_not_refused(tmp_path, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    """An embedder export bump leaves caches of the old space behind: the harness rebuilds them."""
    stale, _, _ = harness.squad_index(EXTRACT, tmp_path / "cache", embedder=fake_embedder)
    assert stale.embedder.space == fake_embedder.space
    index, questions, vectors = harness.squad_index(EXTRACT, tmp_path / "cache")  # the product's embedder
    assert index.embedder.space != fake_embedder.space
    assert index.path != stale.path and vectors.shape == (len(questions), index.embedder.dim)


def test_cli_eval_prints_json_with_baselines(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = subprocess.run(
        [sys.executable, "-m", "citeqa", "eval", "--no-gold", "--squad", str(EXTRACT), "--cache", str(tmp_path), "--json",
         # only the extract, wherever the suite runs: ../shared's SQuAD 2.0 and news would make it the whole eval (over 20 minutes)
         "--squad2", str(tmp_path / "absent-squad2.json"), "--no-news", "--no-docs"],
        capture_output=True, text=True, env={**__import__("os").environ, "PYTHONPATH": str(REPO / "src")}, timeout=1800,  # a hang guard: the whole eval (honest tables, ablation) takes minutes on a loaded machine
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["gold"] is None
    assert {"hybrid", "dense", "bm25"} <= set(data["squad"]["modes"])


def test_cli_eval_tables_docs_dev_report_half_with_the_shipped_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """docs-dev alone: nothing to fit the combined model on (it fits on SQuAD and news), so its
    report half is tabled with the shipped model; a missing folder is skipped in words."""
    env = {**__import__("os").environ, "PYTHONPATH": str(REPO / "src")}
    common = ["--no-gold", "--no-squad", "--no-news", "--no-ablation", "--no-cross-compare", "--cache", str(tmp_path)]
    out = subprocess.run([sys.executable, "-m", "citeqa", "eval", *common], capture_output=True, text=True, env=env, cwd=REPO, timeout=1200)
    assert out.returncode == 0, out.stderr
    assert "docs: report documents ['GPL-3.txt', 'LGPL-3.txt', 'shared-mime-info.txt']" in out.stdout
    assert "The combined model is not fitted (no fit half of squad11, squad2, news present; docs and the gold file are reported, not fitted on)" in out.stdout
    assert "nothing is fitted" in out.stderr
    table = out.stdout.split("== docs: report half (", 1)[1]
    ranking = table.split("\n", 2)[1]
    assert table.split(" ", 1)[0].isdigit() and ranking.startswith("ranking: [1] right") and "follow-ups [1] right" in ranking
    assert "\nshipped " in table.split("\n\n", 1)[0]
    gone = subprocess.run([sys.executable, "-m", "citeqa", "eval", *common, "--docs", str(tmp_path / "nope")], capture_output=True, text=True, env=env, timeout=300)
    assert gone.returncode == 0 and f"docs not found at {tmp_path / 'nope'}; its fit/report tables are skipped" in gone.stderr


def test_cli_eval_with_missing_squad_file_says_what_to_do(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = subprocess.run(
        [sys.executable, "-m", "citeqa", "eval", "--no-gold", "--squad", str(tmp_path / "nope.json")],
        capture_output=True, text=True, env={**__import__("os").environ, "PYTHONPATH": str(REPO / "src")}, timeout=120,
    )
    assert out.returncode == 1
    assert "--squad" in out.stderr and "Traceback" not in out.stderr
