"""Build options refused before anything slow starts (citeqa.build.check_options): the index folder."""

from __future__ import annotations

import pytest

import citeqa
import citeqa.api
from citeqa.errors import InvalidArgumentError


@pytest.fixture
def no_model(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the options were checked")

    monkeypatch.setattr(citeqa.api, "get_embedder", refuse)


def test_an_index_folder_that_is_a_file_is_refused_before_the_model_loads(tmp_path, no_model):
    source = tmp_path / "a.txt"
    source.write_text("Apples are red.\n", encoding="utf-8")
    taken = tmp_path / "notes.txt"
    taken.write_text("my notes\n", encoding="utf-8")
    with pytest.raises(InvalidArgumentError, match=r"notes\.txt is a file; give the index a folder of its own"):
        citeqa.build_index([source], taken)
    with pytest.raises(InvalidArgumentError, match=r"is inside .*notes\.txt, which is a file"):
        citeqa.build_index([source], taken / "deeper" / "idx")
    assert taken.read_text(encoding="utf-8") == "my notes\n"


def test_a_new_nested_index_folder_passes_the_check(tmp_path):
    from citeqa.build import check_index_folder

    check_index_folder(tmp_path / "new" / "deeper" / "idx")  # made when the index is written
    (tmp_path / "existing").mkdir()
    check_index_folder(tmp_path / "existing")
    assert not (tmp_path / "new").exists()  # checking makes nothing
