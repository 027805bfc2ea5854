"""Programs against the real server: the documented gradio_client endpoints and the
MCP tool (`citeqa serve --mcp`), plus the server-side upload limit."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.slow


def _mcp(url: str, method: str, params: dict) -> dict:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(
        url + "gradio_api/mcp/",
        data=body,
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read().decode()
    payloads = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")] or [text]
    return json.loads(payloads[-1])


def test_client_endpoints_have_stable_documented_names(served):
    from gradio_client import Client

    client = Client(served["url"], verbose=False)
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/chat", "/answer", "/retrieve"} <= set(endpoints)
    reply = client.predict("What does the Shusha Declaration focus on?", api_name="/chat")
    assert "focuses on defense cooperation" in reply and "[1]" in reply and "<mark>" in reply
    data = client.predict("How often has Erdogan been to Azerbaijan?", api_name="/answer")
    assert any("more than 20 times" in c["text"] for c in data["citations"])
    hits = json.loads(client.predict("Erdogan visits to Azerbaijan", 2, api_name="/retrieve"))
    assert len(hits) == 2 and hits[0]["doc_id"] == "lachin-joint-exercise.txt"


def test_chat_endpoint_resolves_follow_ups_from_history(served):
    from gradio_client import Client

    history = [{"role": "user", "content": "What does the Shusha Declaration focus on?"}]
    reply = Client(served["url"], verbose=False).predict("What does it focus on?", history, api_name="/chat")
    assert "Interpreted as" in reply and "defense cooperation" in reply


def test_mcp_server_lists_and_runs_the_retrieve_tool(served):
    tools = {t["name"]: t for t in _mcp(served["url"], "tools/list", {})["result"]["tools"]}
    assert "retrieve" in tools
    assert "question" in tools["retrieve"]["inputSchema"]["properties"]
    result = _mcp(
        served["url"], "tools/call", {"name": "retrieve", "arguments": {"question": "How often did Erdogan visit?", "k": 1}}
    )["result"]
    assert not result.get("isError")
    hits = json.loads(result["content"][0]["text"])  # the tool returns JSON text
    assert len(hits) == 1 and "more than 20 times" in hits[0]["text"]
    assert hits[0]["text"] == hits[0]["context"][hits[0]["start"] - hits[0]["context_start"]:][: len(hits[0]["text"])]


def test_upload_over_the_size_limit_is_refused_by_the_server(served):
    boundary = "citeqaboundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.txt\"\r\n"
        "Content-Type: text/plain\r\n\r\n"
    ).encode() + b"a" * (3 * 1024 * 1024) + f"\r\n--{boundary}--\r\n".encode()
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
