"""Programs against the real server: the documented gradio_client endpoints and the
MCP tool (`citeqa serve --mcp`), plus the server-side upload limit."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.slow


def _mcp_call(url: str, name: str, arguments: dict):  # type: ignore[no-untyped-def]
    """Call one tool with the official MCP client (streamable HTTP)."""
    import asyncio

    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def run():  # type: ignore[no-untyped-def]
        async with streamable_http_client(url + "gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await session.call_tool(name, arguments)

    return asyncio.run(run())


def test_client_endpoints_have_stable_documented_names(served):
    from gradio_client import Client

    client = Client(served["url"], verbose=False)
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/chat", "/answer", "/retrieve"} <= set(endpoints)
    reply = client.predict("What does the Shusha Declaration focus on?", api_name="/chat")
    assert "focuses on defense cooperation" in reply and "[1]" in reply and "<mark>" in reply
    data = client.predict("How often has Erdogan been to Azerbaijan?", api_name="/answer")
    assert any("more than 20 times" in c["text"] for c in data["citations"])
    hits = client.predict("Erdogan visits to Azerbaijan", 2, api_name="/retrieve")["hits"]
    assert len(hits) == 2 and hits[0]["doc_id"] == "lachin-joint-exercise.txt"


def test_answer_in_and_retrieve_in_search_only_the_documents_named(served):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(served["url"], verbose=False)
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/answer_in", "/retrieve_in"} <= set(endpoints)
    article = ["lachin-joint-exercise.txt"]
    data = client.predict("How often has Erdogan been to Azerbaijan?", article, api_name="/answer_in")
    assert any("more than 20 times" in c["text"] for c in data["citations"])
    assert {c["doc_id"] for c in data["citations"]} == set(article)
    assert data["interpreted_as"].endswith("(only in lachin-joint-exercise.txt)")
    hits = client.predict("Erdogan visits to Azerbaijan", ["*.txt"], 2, api_name="/retrieve_in")["hits"]
    assert len(hits) == 2 and all(h["doc_id"].endswith(".txt") for h in hits)  # a pattern names documents too
    with pytest.raises(AppError, match="no document named 'other.txt' in this index; its documents are"):
        client.predict("How often has Erdogan been to Azerbaijan?", ["other.txt"], api_name="/answer_in")
    # the plain-HTTP shape of /answer is unchanged: the question alone
    body = json.dumps({"data": ["How often has Erdogan been to Azerbaijan?"]}).encode()
    request = urllib.request.Request(served["url"] + "gradio_api/call/answer", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert "event_id" in json.loads(response.read())


def test_chat_endpoint_resolves_follow_ups_from_history(served):
    from gradio_client import Client

    history = [{"role": "user", "content": "What does the Shusha Declaration focus on?"}]
    reply = Client(served["url"], verbose=False).predict("What does it focus on?", history, api_name="/chat")
    assert "Interpreted as" in reply and "defense cooperation" in reply


def test_mcp_retrieve_tool_cites_the_article(served):
    result = _mcp_call(served["url"], "retrieve", {"question": "How often did Erdogan visit?", "k": 1})
    assert not result.isError
    hits = json.loads(result.content[0].text)["hits"]  # the tool returns JSON text
    assert len(hits) == 1 and "more than 20 times" in hits[0]["text"]
    assert hits[0]["text"] == hits[0]["context"][hits[0]["start"] - hits[0]["context_start"]:][: len(hits[0]["text"])]


def test_upload_over_the_size_limit_is_refused_by_the_server(served):
    from citeqa.serve.app import MAX_FILE_SIZE

    over = (int(MAX_FILE_SIZE.removesuffix("mb")) + 1) * 1024 * 1024
    boundary = "citeqaboundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.txt\"\r\n"
        "Content-Type: text/plain\r\n\r\n"
    ).encode() + b"a" * over + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        served["url"] + "gradio_api/upload",
        data=body,
        # from the app's own page (any other origin is refused before the size is looked at)
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "Origin": served["url"].rstrip("/")},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=60)
    assert caught.value.code == 413


def test_monitoring_is_off(served):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(served["url"] + "monitoring", timeout=10)
    assert caught.value.code in (403, 404)
