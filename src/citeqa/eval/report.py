"""The text report ``citeqa eval`` prints from the harness's results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def format_report(gold: Mapping[str, Any] | None, squad: Mapping[str, Any] | None) -> str:
    """The evaluation as plain-text tables."""
    lines: list[str] = []
    if gold is not None:
        c = gold["counts"]
        lines.append(
            f"Gold file: {c['answerable']} answerable, {c['unanswerable']} unanswerable, {c['followups']} two-turn follow-ups"
        )
        lines.append(f"{'mode':<8} {'hit@1':>6} {'hit@3':>6} {'MRR@10':>7}   {'follow-up hit@1':>15} {'hit@3':>6}")
        for mode, m in gold["modes"].items():
            a, f = m["answerable"], m["followup"]
            lines.append(f"{mode:<8} {a['r@1']:6.3f} {a['r@3']:6.3f} {a['mrr@10']:7.3f}   {f['r@1']:15.3f} {f['r@3']:6.3f}")
        u = gold["followup_unresolved"]
        lines.append(f"(follow-ups without resolving against history, hybrid: hit@1 {u['r@1']:.3f}, hit@3 {u['r@3']:.3f})")
        ab = gold["abstention"]
        lines.append(
            f"Abstention (answer path): off-topic abstained {ab['off_topic_abstained']}/{ab['off_topic']}, "
            f"near-topic {ab['near_topic_abstained']}/{ab['near_topic']}, "
            f"false abstention {ab['answerable_abstained']}/{ab['answerable']} answerable turns"
        )
        if ab["false_abstentions"] or ab["not_abstained"]:
            lines.append(f"  false abstentions: {ab['false_abstentions']}; unanswerable answered: {ab['not_abstained']}")
        lat = gold["latency_ms"]
        lines.append(
            f"Latency on the article, median ms/query incl. query embedding ({lat['queries']} queries): "
            f"hybrid {lat['hybrid']:.2f}, dense-only {lat['dense']:.2f}, ratio {lat['ratio']:.2f}x"
        )
        if gold["misses"]:
            lines.append("Hybrid misses at rank 1: " + "; ".join(f"{m['id']} {m['question']!r} rank {m['rank']}" for m in gold["misses"]))
    if squad is not None:
        if lines:
            lines.append("")
        lines.append(
            f"SQuAD ReQA: {squad['documents']} articles, {squad['sentences']} sentences, {squad['questions']} questions "
            "(fit = even articles, held-out = odd)"
        )
        header = f"{'mode':<8}"
        for split in ("pool", "held_out", "fit"):
            header += f" | {split + ' MRR':>13} {'R@1':>6} {'R@5':>6} {'R@10':>6}"
        lines.append(header)
        for mode, splits in squad["modes"].items():
            row = f"{mode:<8}"
            for split in ("pool", "held_out", "fit"):
                m = splits[split]
                row += f" | {m['mrr@10']:13.3f} {m['r@1']:6.3f} {m['r@5']:6.3f} {m['r@10']:6.3f}"
            lines.append(row)
        lines.append(f"Answer path would abstain on {squad['hybrid_abstained']}/{squad['questions']} SQuAD questions (all answerable)")
    return "\n".join(lines)
