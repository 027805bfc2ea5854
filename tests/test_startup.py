"""A fresh process answering a question imports only what the query path needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "sentence_transformers", "transformers", "gradio")
#: A guard against a hung probe, not a speed check (speed lives in benchmarks/): the torch
#: probe loads torch and sentence-transformers (~11 s alone) and once took over 120 s at the
#: end of a fresh-clone CI run, its servers still up.
PROBE_TIMEOUT_S = 300

PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _run(body: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("CITEQA_BACKEND", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(body=body, heavy=HEAVY)],
        capture_output=True, text=True, env=env, timeout=PROBE_TIMEOUT_S, cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def warm_index(article_index) -> Path:
    # article_index was embedded with the ONNX backend, so its export is cached
    assert article_index.manifest["backend"] == "onnx-int8"
    return article_index.path.parent


def test_retrieve_in_a_fresh_process_loads_neither_torch_nor_gradio(warm_index):
    body = f"import citeqa\nhits = citeqa.retrieve('Where was the exercise held?', index={str(warm_index)!r})\nassert hits"
    assert _run(body) == []


def test_cli_ask_in_a_fresh_process_loads_neither_torch_nor_gradio(warm_index):
    body = (
        "from citeqa.cli import main\n"
        f"assert main(['ask', 'How many times has Erdogan visited Azerbaijan?', '--index', {str(warm_index)!r}]) == 0"
    )
    assert _run(body) == []


def test_the_torch_backend_is_still_available_on_request(tmp_path):
    from citeqa import build_index

    fp32 = tmp_path / "fp32"  # the reference's vector space (the default index is int8)
    build_index(None, fp32, backend="onnx")
    body = (
        "import os; os.environ['CITEQA_BACKEND'] = 'torch'\n"
        "import citeqa\n"
        f"assert citeqa.retrieve('Where was the exercise held?', index={str(fp32)!r})"
    )
    assert "sentence_transformers" in _run(body)
