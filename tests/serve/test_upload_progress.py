"""Upload progress reports the build's real stages — reading, segmenting, embedding n of N,
indexing — in order, with fractions that only grow (serve.workspace + build's progress hook)."""

from __future__ import annotations

from pathlib import Path


def test_build_reports_each_stage_with_sentence_counts(tmp_path: Path, embedder) -> None:
    from citeqa import build_index

    (tmp_path / "a.txt").write_text(" ".join(f"Sentence number {i} is here." for i in range(300)) + "\n", encoding="utf-8")
    seen: list[tuple[str, int, int]] = []
    build_index([tmp_path / "a.txt"], tmp_path / "idx", embedder=embedder, progress=lambda *event: seen.append(event))
    stages = [stage for stage, _, _ in seen]
    assert list(dict.fromkeys(stages)) == ["reading", "segmenting", "embedding", "indexing"] and stages[-1] == "indexing"
    for stage, last in (("reading", (1, 1)), ("segmenting", (1, 1)), ("indexing", (300, 300))):
        assert [(done, total) for s, done, total in seen if s == stage][-1] == last, seen
    embedding = [(done, total) for stage, done, total in seen if stage == "embedding"]
    assert embedding[0] == (0, 300) and embedding[-1] == (300, 300) and len(embedding) >= 3  # 256-sentence slices
    assert [done for done, _ in embedding] == sorted(done for done, _ in embedding)


def test_library_upload_progress_names_the_stages_in_order(article_index, tmp_path: Path) -> None:
    from citeqa import LiveIndex
    from citeqa.serve.workspace import Library, Workspace

    upload = tmp_path / "harbor.md"
    upload.write_text("The Hollis harbor opened in 1911. It took four years to build.\n", encoding="utf-8")
    library = Library(LiveIndex(article_index.path.parent), Workspace(tmp_path / "ws"))
    events: list[tuple[float, str]] = []
    library.add([("harbor.md", str(upload))], lambda fraction, message: events.append((fraction, message)))
    messages = [message for _, message in events]
    order = ["Checking the files", "Loading the embedding model", "Reading 2 documents",
             "Splitting the documents into sentences", "Embedding sentences: 0 of", "Indexing", "Switching"]
    positions = [next(i for i, m in enumerate(messages) if m.startswith(step)) for step in order]
    assert positions == sorted(positions), messages
    assert any(m.startswith("Embedding sentences: ") and m.split(": ")[1].split(" of ")[0] == m.split(" of ")[1]
               for m in messages), messages  # n of N reached N
    fractions = [fraction for fraction, _ in events]
    assert fractions == sorted(fractions) and 0 < fractions[0] and fractions[-1] < 1


def test_interleaved_pipeline_stages_never_move_the_bar_back() -> None:
    from citeqa.serve.progress import stage_reporter

    events: list[tuple[float, str]] = []
    on_stage = stage_reporter(lambda fraction, message: events.append((fraction, message)), 4)
    # what the build sends while documents are split as earlier ones are embedded
    for event in [("reading", 0, 4), ("reading", 4, 4), ("segmenting", 0, 4), ("segmenting", 2, 4),
                  ("embedding", 0, 300), ("segmenting", 3, 4), ("embedding", 256, 500), ("segmenting", 4, 4),
                  ("embedding", 512, 700), ("embedding", 700, 700), ("indexing", 0, 700), ("indexing", 700, 700)]:
        on_stage(*event)
    fractions = [fraction for fraction, _ in events]
    assert fractions == sorted(fractions) and fractions[-1] < 0.95
    messages = [message for _, message in events]
    assert "Embedding sentences: 0 of 300 found so far (2 of 4 documents split)" in messages
    assert "Embedding sentences: 700 of 700" in messages and messages[-1] == "Indexed 700 sentences"
