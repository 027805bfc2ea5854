"""The real web server (`citeqa serve` in a subprocess, real model, loopback):
safe defaults, bad questions over HTTP, and document text that is data, not markup."""

from __future__ import annotations

import html
import json
import os
import re
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from serving import start_server, stop_server

REPO = Path(__file__).resolve().parents[2]

MARKUP_DOC = (
    "Security notes\n\n"
    'The newsletter page contained <script>alert("pwned")</script> inside the harbour column.\n\n'
    "An image tag <img src=x onerror=alert(1)> was found in the ferry timetable.\n\n"
    "A footer link written as [click here](javascript:alert(document.cookie)) pointed nowhere.\n\n"
    "The orchard report embedded a tracking pixel ![](http://tracker.example/pixel.png) at its end.\n"
)
PLAIN_DOC = (
    "Harbour report\n\n"
    "The new harbour crane lifts forty tonnes. It was built in Rotterdam in 2019.\n\n"
    "Ferries leave every hour in summer. In winter they leave twice a day.\n"
)
# (question, the markup the sentence it should cite carries)
MARKUP_QUESTIONS = [
    ("What did the newsletter page contain inside the harbour column?", '<script>alert("pwned")</script>'),
    ("What was found in the ferry timetable?", "<img src=x onerror=alert(1)>"),
    ("Where did the footer link point?", "[click here](javascript:alert(document.cookie))"),
    ("What did the orchard report embed at its end?", "![](http://tracker.example/pixel.png)"),
]
# Tags citeqa itself writes into a chat reply (render.py); anything else would be document
# markup gone live. Their attributes are citeqa's own too: see _assert_own_attributes.
ALLOWED_TAGS = {"p", "strong", "em", "ol", "li", "blockquote", "mark", "span", "a", "details", "summary", "div"}
OWN_ATTRIBUTES = {
    "class": re.compile(r"cq-[a-z-]+"),
    "href": re.compile(r"#cq-[0-9a-f]+-[0-9]+"),  # in-page links from a marker to its source
    "title": re.compile(r"Show source [0-9]+"),
}
TIMEOUT = 60.0


class _Server:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.docs = root / "docs"
        self.docs.mkdir()
        (self.docs / "notes.txt").write_text(MARKUP_DOC, encoding="utf-8")
        (self.docs / "harbour.txt").write_text(PLAIN_DOC, encoding="utf-8")
        self.index = root / "index"
        self.temp = root / "gradio-tmp"
        self.temp.mkdir()
        self.log = root / "server.log"
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(REPO / "src"),
            GRADIO_TEMP_DIR=str(self.temp),
            HF_HUB_OFFLINE="1",
            GRADIO_ANALYTICS_ENABLED="False",
        )
        return env

    def start(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "citeqa", "build", str(self.docs), "--index", str(self.index), "--quiet"],
            env=self.env(),
            check=True,
            capture_output=True,
            timeout=300,
        )
        self.proc, self.url = start_server(self.log, "--index", str(self.index), env=self.env(), timeout=120)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self.proc is not None:
            stop_server(self.proc)

    def call(self, api: str, body: str | bytes) -> tuple[str, object]:
        """POST raw JSON to /gradio_api/call/<api>; returns (event, data) of the result."""
        posted = httpx.post(
            f"{self.url}/gradio_api/call/{api}",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT,
        )
        assert posted.status_code == 200, posted.text[:500]
        event_id = posted.json()["event_id"]
        stream = httpx.get(f"{self.url}/gradio_api/call/{api}/{event_id}", timeout=TIMEOUT)
        assert stream.status_code == 200
        event, data = "", None
        for line in stream.text.splitlines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data = json.loads(line.split(":", 1)[1])
        return event, data

    def ask_chat(self, question: object, history: object = None) -> str:
        """POST to /chat, whose inputs are (message, history)."""
        event, data = self.call("chat", json.dumps({"data": [question, history]}))
        assert event == "complete", (event, data)
        assert isinstance(data, list) and isinstance(data[0], str)
        return data[0]

    def ask_json(self, question: object) -> dict:
        """POST to /answer: the Answer JSON, or {"error": message} when the question is refused."""
        event, data = self.call("answer", json.dumps({"data": [question]}))
        if event == "error":
            assert isinstance(data, dict), data
            return {"error": data["error"]}
        assert event == "complete", (event, data)
        assert isinstance(data, list) and isinstance(data[0], dict)
        return data[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = _Server(tmp_path_factory.mktemp("server"))
    srv.start()
    yield srv
    srv.stop()


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append((tag, attrs))

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        self.text.append(data)


def _parse(reply: str) -> _Tags:
    parser = _Tags()
    parser.feed(reply)
    parser.close()
    return parser


def _assert_own_attributes(tags: list[tuple[str, list]]) -> None:
    """Every attribute is one citeqa writes: a cq- class, an in-page #cq- link, a marker title."""
    for tag, attrs in tags:
        for name, value in attrs:
            pattern = OWN_ATTRIBUTES.get(name)
            assert pattern is not None and value is not None and pattern.fullmatch(value), (tag, name, value)


def _assert_clear_reply(reply: str) -> None:
    """A chat reply is an answer with sources or a clear 'Can't answer that' — never a traceback."""
    assert "Traceback" not in reply and "Error(" not in reply
    assert "Can't answer that" in reply or "Sources" in reply or "Closest passages" in reply, reply[:300]
    parsed = _parse(reply)
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS
    _assert_own_attributes(parsed.tags)


# --------------------------------------------------------------------------- defaults


def _listening_addresses(port: int) -> set[str]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # LISTEN
                if len(address) == 8:
                    found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
                else:
                    found.add(address)
    return found


def test_server_listens_on_loopback_only_by_default(server):
    assert _listening_addresses(server.port) == {"127.0.0.1"}


def test_server_prints_no_share_link(server):
    assert httpx.get(server.url + "/", timeout=TIMEOUT).status_code == 200
    log = server.log.read_text(errors="replace")
    assert "gradio.live" not in log and "public URL" not in log


def test_monitoring_is_not_served(server):
    for path in ("/monitoring", "/monitoring/summary", "/monitoring/anykey"):
        response = httpx.get(server.url + path, timeout=TIMEOUT)
        assert response.status_code in (403, 404), (path, response.status_code)
        assert "Monitoring URL" not in response.text


def test_upload_over_the_limit_gets_413_and_leaves_nothing_on_disk(server):
    from citeqa.serve.app import MAX_FILE_SIZE

    limit = int(MAX_FILE_SIZE.removesuffix("mb")) * 1024 * 1024
    payload = os.urandom(limit + 4096)
    own_page = {"Origin": server.url}  # uploads are accepted only from the app's own page
    response = httpx.post(
        server.url + "/gradio_api/upload",
        files={"files": ("too-big.bin", payload, "application/octet-stream")},
        headers=own_page,
        timeout=TIMEOUT,
    )
    assert response.status_code == 413
    left = [p for p in server.temp.rglob("*") if p.is_file() and (p.name == "too-big.bin" or p.stat().st_size > limit)]
    assert left == []
    # The limit is what refused it: a small upload on the same route goes through.
    small = httpx.post(
        server.url + "/gradio_api/upload", files={"files": ("small.bin", b"x" * 1000, "application/octet-stream")},
        headers=own_page, timeout=TIMEOUT,
    )
    assert small.status_code == 200


def test_launch_settings_are_safe(monkeypatch, article_index):
    """`serve` launches on loopback, no share link, monitoring off, upload limit, queue bounded."""
    import gradio as gr

    from citeqa.serve import app as ui

    captured: dict = {}

    def fake_launch(self, **kwargs):  # type: ignore[no-untyped-def]
        captured.update(kwargs)
        captured["app"] = self

    monkeypatch.setattr(gr.Blocks, "launch", fake_launch)
    checked: list[tuple[str, int]] = []  # the port is probed first (a port in use is refused in words)
    monkeypatch.setattr(ui, "check_port", lambda host, port: checked.append((host, port)))
    ui.serve(article_index.path.parent, block=False)
    assert checked == [("127.0.0.1", 7860)]
    assert captured["server_name"] == "127.0.0.1"
    assert captured["share"] is False
    assert captured["enable_monitoring"] is False
    assert captured["max_file_size"] == ui.MAX_FILE_SIZE
    assert 0 < captured["state_session_capacity"] <= 1000  # Gradio's 10,000 lets memory grow
    assert [m.cls for m in captured["app_kwargs"]["middleware"]] == [ui.RequestSizeLimit, ui.KnownEvents]
    app = captured["app"]
    assert app.delete_cache == ui.DELETE_CACHE
    assert 0 < app._queue.max_size <= 256
    default = app._queue.default_concurrency_limit
    assert isinstance(default, int) and 1 <= default <= 2
    limits = [default if fn.concurrency_limit == "default" else fn.concurrency_limit for fn in app.fns.values() if fn.queue]
    assert limits and all(isinstance(n, int) and 1 <= n <= 2 for n in limits), limits
    assert {fn.api_name for fn in app.fns.values() if fn.queue} >= {"chat", "answer"}

    ui.serve(article_index.path.parent, host="127.0.0.2", port=7899, block=False)
    assert captured["server_name"] == "127.0.0.2" and captured["server_port"] == 7899
    assert checked[-1] == ("127.0.0.2", 7899)


def test_cli_host_option_reaches_the_server(monkeypatch, tmp_path):
    from citeqa import cli
    from citeqa.serve import app as ui

    seen: dict = {}
    monkeypatch.setattr(ui, "serve", lambda **kwargs: seen.update(kwargs))
    assert cli.main(["serve", "--index", str(tmp_path), "--port", "7898"]) == 0
    assert seen["host"] == "127.0.0.1"
    assert cli.main(["serve", "--index", str(tmp_path), "--host", "0.0.0.0", "--port", "7898"]) == 0
    assert seen["host"] == "0.0.0.0"


# --------------------------------------------------------------------------- questions over HTTP

BAD_QUESTIONS = {
    "blank": "   \t  ",
    "control_only": "\x00\x01\x1b\x7f",
    "emoji_only": "😀🔥🙂",
    "zero_width_only": "\u200b\u200d\u2060\ufeff",
    "one_megabyte": "a" * 1_000_000,
    "one_megabyte_words": "where " * 180_000,
    "just_over_the_limit": "crane " * 170,
}
GOOD_QUESTIONS = {
    "control_chars": "How much\x00 does the\x1b[2J crane\x07 lift?",
    "rtl_and_zero_width": "\u202eHow much does the cr\u200bane li\u200dft?\u200f",
    "emoji": "How much does the crane lift? 🏗️🙂",
    "markup": "<b>How much</b> does the crane lift? <script>x()</script>",
}


@pytest.mark.parametrize("name", sorted(BAD_QUESTIONS))
def test_bad_question_over_http_gets_a_clear_message(server, name):
    question = BAD_QUESTIONS[name]
    started = time.monotonic()
    reply = server.ask_chat(question)
    assert "Can't answer that" in reply
    _assert_clear_reply(reply)
    data = server.ask_json(question)
    assert set(data) == {"error"}
    assert "question" in data["error"] and ("type a question" in data["error"] or "keep it under" in data["error"])
    assert time.monotonic() - started < TIMEOUT


@pytest.mark.parametrize("name", sorted(GOOD_QUESTIONS))
def test_odd_but_real_question_over_http_is_answered(server, name):
    reply = server.ask_chat(GOOD_QUESTIONS[name])
    _assert_clear_reply(reply)
    assert "forty tonnes" in reply
    data = server.ask_json(GOOD_QUESTIONS[name])
    assert any("forty tonnes" in c["text"] for c in data["citations"])


def test_lone_surrogates_in_raw_json_are_handled(server):
    body = '{"data": ["How much does the \\ud800crane lift?\\udfff", null]}'
    event, data = server.call("chat", body)
    assert event == "complete"
    _assert_clear_reply(data[0])
    assert "forty tonnes" in data[0]
    event, data = server.call("answer", '{"data": ["\\udc80\\ud800"]}')
    assert event == "error" and "question" in data["error"]


def test_chat_history_over_http_is_used_and_junk_history_is_ignored(server):
    history = [
        {"role": "user", "content": "How much does the crane lift?"},
        {"role": "assistant", "content": "The new harbour crane lifts forty tonnes."},
    ]
    reply = server.ask_chat("Where was it built?", history)
    _assert_clear_reply(reply)
    assert "Rotterdam" in reply
    for junk in ("garbage", [3, None, {"role": "user", "content": 5}], {"role": "user"}, 12):
        reply = server.ask_chat("How much does the crane lift?", junk)
        _assert_clear_reply(reply)
        assert "forty tonnes" in reply, (junk, reply[:300])


def test_retrieve_over_http_returns_cited_sentences_as_json(server):
    event, data = server.call("retrieve", json.dumps({"data": ["How much does the crane lift?", 2]}))
    assert event == "complete", (event, data)
    hits = data[0]["hits"]
    assert len(hits) == 2 and "forty tonnes" in hits[0]["text"]
    for hit in hits:
        source = PLAIN_DOC if hit["doc_id"] == "harbour.txt" else MARKUP_DOC
        assert source[hit["start"] : hit["end"]] == hit["text"]


RETRIEVE_REFUSALS = [
    (["   \t ", 3], "type a question"),
    (["a" * 1_000_000, 3], "keep it under"),
    (["crane", 0], "k must be"),
    (["crane", 101], "k must be"),
    (["crane", "many"], "k must be"),
    (["crane", None], "k must be"),
]


@pytest.mark.parametrize("inputs,says", RETRIEVE_REFUSALS, ids=lambda v: repr(v)[:20])
def test_refused_retrieve_over_http_gets_a_clear_message(server, inputs, says):
    event, data = server.call("retrieve", json.dumps({"data": inputs}))
    assert event == "error"
    assert isinstance(data, dict) and says in str(data.get("error")), data
    assert "Traceback" not in str(data)


def test_non_text_question_over_http_gets_a_clear_message_or_an_answer(server):
    data = server.ask_json(None)
    assert data == {"error": "question must be text, got NoneType"}
    for value in ([], {"text": "x"}, 12345, True):
        data = server.ask_json(value)  # Gradio's Textbox turns these into text
        assert ("error" in data and "question" in data["error"]) or "citations" in data, (value, data)


def test_invalid_json_body_is_rejected_cleanly(server):
    for body in (b"{not json", b"\xff\xfe\x00", json.dumps({"data": "x" * 10}).encode()):
        response = httpx.post(
            f"{server.url}/gradio_api/call/answer", content=body, headers={"Content-Type": "application/json"}, timeout=TIMEOUT
        )
        assert 400 <= response.status_code < 500, (body[:20], response.status_code)
        assert "Traceback" not in response.text


def test_oversized_request_bodies_are_refused_with_413(server):
    from citeqa.serve.app import MAX_REQUEST_BYTES

    body = json.dumps({"data": ["a" * (MAX_REQUEST_BYTES + 1000)]}).encode()
    declared = httpx.post(
        f"{server.url}/gradio_api/call/answer", content=body, headers={"Content-Type": "application/json"}, timeout=TIMEOUT
    )
    assert declared.status_code == 413 and "characters" in declared.json()["detail"]

    def chunks():  # no Content-Length: streamed with chunked encoding
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    streamed = httpx.post(
        f"{server.url}/gradio_api/call/answer", content=chunks(), headers={"Content-Type": "application/json"}, timeout=TIMEOUT
    )
    assert streamed.status_code == 413
    small = json.dumps({"data": ["How much does the crane lift?"]}).encode()
    event, data = server.call("answer", b"".join([small]))
    assert event == "complete" and data[0]["citations"]

    def small_chunks():
        yield small[:10]
        yield small[10:]

    posted = httpx.post(
        f"{server.url}/gradio_api/call/answer", content=small_chunks(), headers={"Content-Type": "application/json"}, timeout=TIMEOUT
    )
    assert posted.status_code == 200 and "event_id" in posted.json()


def test_gradio_client_gets_clear_messages_and_answers(server):
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    reply = client.predict("x" * 1_000_000, api_name="/chat")
    assert "Can't answer that" in reply and "too long" in reply
    reply = client.predict("   ", api_name="/chat")
    assert "Can't answer that" in reply and "blank" in reply
    reply = client.predict("\u202eHow much does the crane lift?\u200b 🙂", api_name="/chat")
    assert "forty tonnes" in reply
    data = client.predict("How much does the crane lift?", api_name="/answer")
    assert any("forty tonnes" in c["text"] for c in data["citations"])


def test_server_log_has_no_traceback_after_bad_input(server):
    # Runs after the bad-input tests above (pytest keeps file order); the server answers on.
    for question in BAD_QUESTIONS.values():
        server.ask_json(question)
        server.ask_chat(question)
    for inputs, _says in RETRIEVE_REFUSALS:
        assert server.call("retrieve", json.dumps({"data": inputs}))[0] == "error"
    assert "forty tonnes" in server.ask_chat("How much does the crane lift?")
    assert server.proc is not None and server.proc.poll() is None
    assert "Traceback" not in server.log.read_text(errors="replace")


# --------------------------------------------------------------------------- document text is data


@pytest.mark.parametrize("question,markup", MARKUP_QUESTIONS)
def test_document_markup_is_cited_literally_and_never_live(server, question, markup):
    document = (server.docs / "notes.txt").read_text(encoding="utf-8")
    data = server.ask_json(question)
    # The markup is shown: in a cited sentence, or (pysbd ends a sentence at the "!" of
    # "![](...)") in the paragraph a cited sentence is shown in; every character is covered.
    at = document.index(markup)
    covered = set()
    for citation in data["citations"]:
        if citation["doc_id"] == "notes.txt":
            covered.update(range(citation["start"], citation["end"]))
            covered.update(range(citation["context_start"], citation["context_start"] + len(citation["context"])))
            assert document[citation["context_start"] :].startswith(citation["context"])
    uncovered = [i for i in range(at, at + len(markup)) if i not in covered and not document[i].isspace()]
    assert not uncovered, [c["text"] for c in data["citations"]]
    for citation in data["citations"]:
        source = document if citation["doc_id"] == "notes.txt" else PLAIN_DOC
        assert citation["text"] == source[citation["start"] : citation["end"]]

    reply = server.ask_chat(question)
    parsed = _parse(reply)
    # Only citeqa's own tags and attributes: no <script>, <img>, outside links, handlers, styles.
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS, parsed.tags
    _assert_own_attributes(parsed.tags)
    # No Markdown link/image syntax and no URL scheme survive for a renderer to pick up.
    for live in ("<script", "<img", "](", "![", "javascript:", "http:"):
        assert live not in reply
    # ...yet the reader sees the document's characters exactly, the markup included.
    shown = html.unescape("".join(parsed.text))
    assert markup in shown
    for citation in data["citations"]:
        assert citation["text"] in shown
