"""Where writes go (citeqa.fsutil): a folder path that a file stands in the way of."""

from __future__ import annotations

from citeqa.fsutil import file_in_the_way


def test_a_file_at_or_above_a_folder_path_is_found_and_nothing_else_is(tmp_path):
    (tmp_path / "notes.txt").write_text("x\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    assert file_in_the_way(tmp_path / "notes.txt") == tmp_path / "notes.txt"
    assert file_in_the_way(tmp_path / "notes.txt" / "idx" / "v1") == tmp_path / "notes.txt"
    assert file_in_the_way(tmp_path / "docs") is None
    assert file_in_the_way(tmp_path / "docs" / "new" / "idx") is None
    assert not (tmp_path / "docs" / "new").exists()
