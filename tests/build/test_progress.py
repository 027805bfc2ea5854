"""Build progress on the terminal: one tqdm bar per stage, the embedding one with sentences/s (citeqa.build.progress)."""

from __future__ import annotations

import io

from citeqa.build import progress as build_progress


def test_one_bar_per_stage_with_counts_and_rates(tmp_path, fake_embedder, monkeypatch):
    from citeqa.build import build

    screen = io.StringIO()
    monkeypatch.setattr("citeqa.build.StageBars", lambda: build_progress.StageBars(file=screen, disable=False))
    (tmp_path / "a.txt").write_text(" ".join(f"Sentence number {i} is here." for i in range(40)) + "\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("The harbor opened in 1911. It took four years.\n", encoding="utf-8")
    build([tmp_path / "a.txt", tmp_path / "b.txt"], tmp_path / "idx", embedder=fake_embedder, show_progress=True)
    final = {line.split(":")[0].strip(): line for line in screen.getvalue().replace("\r", "\n").splitlines() if ":" in line}
    assert set(final) == {"reading", "segmenting", "embedding", "writing"}, final
    assert "2/2" in final["reading"] and "2/2" in final["segmenting"]
    assert "42/42" in final["embedding"] and "sentence/s" in final["embedding"]
    assert "42/42" in final["writing"]


def test_no_bars_off_a_terminal_or_when_not_asked(tmp_path, fake_embedder, capsys):
    from citeqa.build import build

    (tmp_path / "a.txt").write_text("The harbor opened in 1911.\n", encoding="utf-8")
    build([tmp_path / "a.txt"], tmp_path / "idx", embedder=fake_embedder, show_progress=True)  # stderr is captured: no tty
    build([tmp_path / "a.txt"], tmp_path / "idx2", embedder=fake_embedder, show_progress=False)
    assert capsys.readouterr().err == ""
