"""The Ray build (citeqa.build_ray) against a real Ray: the same index as the local build, in both stores and on a two-node cluster.

Every Ray here is real and has 2 CPUs: a local Ray started by the build (and shut down
by it), or ``ray start --head`` plus a second ``ray start --address`` worker node on the
same machine (1 CPU each), stopped when the test ends. Skipped, with the reason, when
Ray is not installed (``pip install 'citeqa[ray]'``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from citeqa import build as local_build
from citeqa.errors import SourceError
from citeqa.index import Index
from citeqa.store.read import load_version

REPO = Path(__file__).resolve().parents[1]
EXTRACT = REPO / "tests" / "data" / "squad-extract.json"
ray_needed = pytest.mark.skipif(
    __import__("importlib").util.find_spec("ray") is None,
    reason="the Ray build needs Ray: pip install 'citeqa[ray]' (CI installs only .[test,milvus])",
)


def _squad() -> tuple[dict[str, str], list[str]]:
    data = json.loads(EXTRACT.read_text(encoding="utf-8"))["data"]
    files = {f"{a['title']}.txt": a["title"].replace("_", " ") + "\n\n" + "\n\n".join(p["context"] for p in a["paragraphs"]) for a in data}
    questions = [qa["question"] for a in data for p in a["paragraphs"] for qa in p["qas"]]
    return files, questions[::3]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[str]]:
    """A folder of the SQuAD extract's two articles (one in a subfolder, one as HTML) and a file the build skips."""
    files, questions = _squad()
    root = tmp_path_factory.mktemp("ray-corpus")
    (first, first_text), (second, second_text) = files.items()
    (root / first).write_text(first_text, encoding="utf-8")
    (root / "more").mkdir()
    paragraphs = "".join(f"<p>{p}</p>" for p in second_text.split("\n\n")[1:])
    html = f"<html><head><title>{second}</title></head><body><article><h1>{second}</h1>{paragraphs}</article></body></html>"
    (root / "more" / second.replace(".txt", ".html")).write_text(html, encoding="utf-8")
    (root / "notes.bin").write_bytes(b"\x00\x01 not a document")
    return root, questions


@pytest.fixture(scope="module")
def local_index(corpus, embedder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local-index")
    local_build.build([corpus[0]], out, embedder=embedder)
    return out


def _same_index(ray_index: Index, local: Index, questions: list[str], *, extractor: bool = True) -> None:
    """Same documents and sentences; the same answers (``extractor``: compare each document's extractor too)."""
    # the Milvus store keeps no extractor (it reads every document back as "text")
    fields = (lambda d: (d.doc_id, d.sha256, d.path, d.extractor)) if extractor else (lambda d: (d.doc_id, d.sha256, d.path))
    assert [fields(d) for d in ray_index.documents] == [fields(d) for d in local.documents]
    n = len(local)
    assert len(ray_index) == n
    ids = np.arange(n)
    assert ray_index.store.texts(ids) == local.store.texts(ids)
    for question in questions:
        a, b = ray_index.answer(question), local.answer(question)
        assert (a.abstained, [c.text for c in a.citations]) == (b.abstained, [c.text for c in b.citations]), question


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_build_ray_import_citeqa_does_not_import_ray():
    code = "import sys, citeqa, citeqa.api, citeqa.cli, citeqa.build_ray; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_build_ray_without_ray_says_how_to_install(tmp_path):
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from citeqa.build_ray import import_ray, RayUnavailableError\n"
        "try:\n    import_ray()\nexcept RayUnavailableError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'citeqa[ray]'" in out.stdout and "without --ray" in out.stdout


class _SlowRay:
    """Stands in for the ``ray`` module: its first ``fails`` starts time out as Ray's do."""

    def __init__(self, fails: int, error: str = "The current node timed out during startup. This could happen ...") -> None:
        self.fails, self.error, self.inits, self.shutdowns, self.up = fails, error, 0, 0, False

    def is_initialized(self) -> bool:
        return self.up

    def init(self, **_: object) -> None:
        self.inits += 1
        if self.inits <= self.fails:
            raise Exception(self.error)  # noqa: TRY002 - the bare Exception ray._private.node raises
        self.up = True

    def shutdown(self) -> None:
        self.shutdowns += 1
        self.up = False


@pytest.mark.parametrize(
    "error",
    [
        "The current node timed out during startup. This could happen ...",
        "Timed out waiting for file /tmp/ray/session_2026-12-05_22-23-52_084037_19341/gcs_server_port_98229d10",
    ],
)
def test_build_ray_local_start_that_times_out_once_is_started_again(monkeypatch, error):
    from citeqa import build_ray

    slow = _SlowRay(fails=1, error=error)
    monkeypatch.setattr(build_ray, "import_ray", lambda: slow)
    with build_ray.ray_session(None, 2) as ray:
        assert ray is slow and slow.up
    assert slow.inits == 2 and slow.shutdowns == 2  # the timed-out start cleaned up, then the session's end


def test_build_ray_local_start_that_keeps_timing_out_says_so(monkeypatch):
    from citeqa import build_ray

    slow = _SlowRay(fails=build_ray.LOCAL_START_TRIES)
    monkeypatch.setattr(build_ray, "import_ray", lambda: slow)
    with (
        pytest.raises(build_ray.RayUnavailableError, match="cannot start or reach a local Ray .*timed out during startup.*tried 2 times"),
        build_ray.ray_session(None, 2),
    ):
        pass


def test_build_ray_other_start_errors_are_not_retried(monkeypatch):
    from citeqa import build_ray

    slow = _SlowRay(fails=1, error="something else broke")
    monkeypatch.setattr(build_ray, "import_ray", lambda: slow)
    with pytest.raises(Exception, match="something else broke"), build_ray.ray_session(None, 2):
        pass
    assert slow.inits == 1


@ray_needed
def test_build_ray_local_ray_equals_the_local_build(corpus, local_index, embedder, tmp_path, caplog, monkeypatch):
    """A local Ray with 2 CPUs (started and shut down by the build): same sentences, vectors, answers; the same file skipped.

    The build gives Ray's start more than its default 30 s to bring up the GCS server (it
    timed out at load ~5 on 2 cores)."""
    import ray

    from citeqa import build_ray

    monkeypatch.delenv("RAY_gcs_server_port_wait_time_s", raising=False)
    out = tmp_path / "ray-index"
    stages: list[str] = []
    with caplog.at_level("WARNING", logger="citeqa"):
        build_ray.build([corpus[0]], out, embedder=embedder, num_cpus=2, progress=lambda stage, done, total: stages.append(stage))
    assert not ray.is_initialized()  # the build's own Ray is shut down
    assert os.environ["RAY_gcs_server_port_wait_time_s"] == str(build_ray.LOCAL_START_WAIT_S)
    assert any("notes.bin" in r.getMessage() for r in caplog.records)
    assert stages[0] == "reading" and stages[-1] == "indexing"
    ray_vectors, local_vectors = load_version(out).embeddings(), load_version(local_index).embeddings()
    assert np.asarray(load_version(out).sentences).tolist() == np.asarray(load_version(local_index).sentences).tolist()
    assert _cosines(ray_vectors, local_vectors).min() >= 0.999
    _same_index(Index.load(out, embedder=embedder), Index.load(local_index, embedder=embedder), corpus[1])


@ray_needed
def test_build_ray_into_milvus_answers_like_the_local_build(corpus, local_index, embedder, milvus_server):
    """The Ray build writes a Milvus store through the same writer; it answers as the local folder does."""
    from citeqa import build_ray

    address = f"milvus://{milvus_server}/raybuild"
    assert build_ray.build([corpus[0]], address, embedder=embedder, num_cpus=2) == address
    _same_index(Index.load(address, embedder=embedder), Index.load(local_index, embedder=embedder), corpus[1], extractor=False)


@ray_needed
def test_build_ray_refuses_a_source_it_cannot_extract(tmp_path, embedder):
    """An extraction error on a Ray worker reaches the caller as the local build's SourceError."""
    from citeqa import build_ray

    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(SourceError, match="broken.pdf"):
        build_ray.build([bad], tmp_path / "out", embedder=embedder, num_cpus=2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ray_node(args: list[str], temp: Path, log: Path, env: dict[str, str]) -> subprocess.Popen:
    ray_cli = str(Path(sys.executable).parent / "ray")
    command = [ray_cli, "start", "--block", "--num-cpus=1", "--disable-usage-stats", f"--temp-dir={temp}", *args]
    return subprocess.Popen(command, env=env, start_new_session=True, stdout=open(log, "w"), stderr=subprocess.STDOUT)


@ray_needed
def test_build_ray_two_node_cluster_through_the_cli(corpus, local_index, embedder, tmp_path):
    """``ray start --head`` + a second ``ray start --address`` node (1 CPU each); ``citeqa build --ray`` with $RAY_ADDRESS.

    The build asks for one embedding actor per cluster CPU, each needing a whole CPU, so
    with two 1-CPU nodes it can only finish with an actor on each node.
    """
    import ray

    port = _free_port()
    address = f"127.0.0.1:{port}"
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_gcs_server_port_wait_time_s="120", PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1")
    env.pop("RAY_ADDRESS", None)
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths must fit in 107 bytes
    nodes = [_ray_node(["--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--include-dashboard=false"], temp / "h", tmp_path / "head.log", env)]
    try:
        deadline = time.monotonic() + 120
        while True:  # the head is up when a driver can connect
            try:
                ray.init(address=address, logging_level="WARNING", log_to_driver=False)
                break
            except (ConnectionError, RuntimeError):
                assert time.monotonic() < deadline, (tmp_path / "head.log").read_text()
                time.sleep(1)
        nodes.append(_ray_node([f"--address={address}"], temp / "w", tmp_path / "worker.log", env))
        while len([n for n in ray.nodes() if n["Alive"]]) < 2:
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(1)
        assert sorted(n["Resources"].get("CPU") for n in ray.nodes() if n["Alive"]) == [1.0, 1.0]
        ray.shutdown()
        out = tmp_path / "two-node-index"
        run = subprocess.run(
            [sys.executable, "-m", "citeqa", "build", str(corpus[0]), "--index", str(out), "--ray", "--quiet"],
            env=dict(env, RAY_ADDRESS=address),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        assert "Indexed" in run.stdout
        assert _cosines(load_version(out).embeddings(), load_version(local_index).embeddings()).min() >= 0.999
        _same_index(Index.load(out, embedder=embedder), Index.load(local_index, embedder=embedder), corpus[1])
    finally:
        ray.shutdown()
        for node in reversed(nodes):
            node.send_signal(signal.SIGTERM)
        for node in nodes:
            try:
                node.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait()


def test_build_ray_names_a_document_that_repeats_others_as_the_local_build_does(caplog):
    # the driver assembles what the workers segmented; a copy is named there (no Ray needed)
    from citeqa import build_ray
    from citeqa.schema import Document

    text = "\n\n".join(f"The harbour rule number {i} applies to every boat in the basin." for i in range(12))
    documents = [Document(name, body, name, "0" * 64) for name, body in [("rules.txt", text), ("copy.txt", text), ("other.txt", "A ferry leaves at nine.")]]
    batch = {"number": [0, 1, 2], "doc_id": ["", "", ""], "spec": ["", "", ""], "data": [b"", b"", b""],
             "content_type": ["", "", ""], "document": [build_ray._document_json(d) for d in documents]}
    out = build_ray.extract_and_segment(batch)
    results = [{key: out[key][i] for key in out} for i in range(3)]
    origins = [build_ray._Origin(d.doc_id, True, d.doc_id) for d in documents]
    with caplog.at_level("WARNING", logger="citeqa"):
        found, rows, texts = build_ray._assemble(results, origins, [])
    assert [d.doc_id for d in found] == ["rules.txt", "copy.txt", "other.txt"] and len(texts) == 25
    assert [r.getMessage() for r in caplog.records] == [
        "rules.txt repeats another document (copy.txt); answers may cite the same sentence from each: leave copies out of the sources"
    ]
