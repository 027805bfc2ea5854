"""A real `citeqa serve` on loopback, answering through gradio_client."""

from __future__ import annotations

import os

import pytest

from serving import start_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory, article_index):
    log = tmp_path_factory.mktemp("server") / "server.log"
    proc, url = start_server(log, "--index", str(article_index.path.parent))
    yield url + "/"
    stop_server(proc)


def test_chat_endpoint_answers_with_markers_and_highlighted_source(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    reply = client.predict("What does the Shusha Declaration focus on?", api_name="/chat")
    assert "focuses on defense cooperation" in reply
    assert "[1]" in reply
    assert "<mark>" in reply


def test_answer_endpoint_returns_the_json_contract(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    data = client.predict("How often has Erdogan been to Azerbaijan?", api_name="/answer")
    assert data["abstained"] is False
    assert any("more than 20 times" in c["text"] for c in data["citations"])


def test_blank_question_gets_a_clear_message_not_a_traceback(server):
    from gradio_client import Client

    reply = Client(server, verbose=False).predict("   ", api_name="/chat")
    assert "question is blank" in reply
    assert "Traceback" not in reply


def test_server_listens_on_loopback_only(server):
    port = int(server.rstrip("/").rsplit(":", 1)[1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in open(table).read().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                listening.append(address)
    assert listening == ["0100007F"]  # 127.0.0.1, and nothing else
