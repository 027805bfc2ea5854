"""The contracts programs rely on, tried against a real `citeqa serve --mcp` on 127.0.0.1 with
clients nobody here wrote: the official MCP Python client (mcp.ClientSession over streamable
HTTP) — JSON results, isError on every refusal, no HTML tool, server instructions that say
what is indexed and what the fields mean — and gradio_client, whose view_api() shows the
fields of /answer and /retrieve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from serving import run_async, start_server, stop_server

pytest.importorskip("mcp")

DOC = (
    "Harbour report\n\n"
    "The new harbour crane lifts forty tonnes. It was built in Rotterdam in 2019.\n\n"
    "Ferries leave every hour in summer. In winter they leave twice a day.\n"
)


@pytest.fixture(scope="module")
def mcp_url(tmp_path_factory, embedder):
    from citeqa import build_index

    root = tmp_path_factory.mktemp("mcp")
    (root / "docs").mkdir()
    (root / "docs" / "harbour.txt").write_text(DOC, encoding="utf-8")
    build_index([root / "docs"], root / "index", embedder=embedder)
    proc, url = start_server(root / "server.log", "--index", str(root / "index"), "--read-only", "--mcp")
    yield url + "/gradio_api/mcp/", root / "server.log", url
    stop_server(proc)


def _session(url: str, work):  # type: ignore[no-untyped-def]
    """Run ``work(session, init)`` inside an initialized official-client session."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def run():  # type: ignore[no-untyped-def]
        async with streamable_http_client(url) as (read, write, _):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                return await work(session, init)

    return run_async(run())


def test_tools_are_answer_and_retrieve_with_schemas_and_no_html_chat(mcp_url):
    async def work(session, init):  # type: ignore[no-untyped-def]
        return (await session.list_tools()).tools

    tools = {tool.name: tool for tool in _session(mcp_url[0], work)}
    assert set(tools) == {"answer", "retrieve"}  # no HTML `chat`
    for tool in tools.values():
        assert "score" in tool.description and "softmax" in tool.description
        assert tool.outputSchema and tool.annotations.readOnlyHint is True
    assert {"text", "abstained", "citations"} <= set(tools["answer"].outputSchema["properties"])
    assert "abstain" in tools["retrieve"].description and "k" in tools["retrieve"].inputSchema["properties"]


def test_instructions_name_the_documents_and_explain_the_fields(mcp_url):
    async def work(session, init):  # type: ignore[no-untyped-def]
        return init.instructions

    text = _session(mcp_url[0], work)
    assert "harbour.txt" in text and "1 indexed document" in text
    assert "softmax" in text and "abstained" in text and "confidence" in text


def test_answer_and_retrieve_return_json_with_exact_offsets(mcp_url):
    async def work(session, init):  # type: ignore[no-untyped-def]
        answer = await session.call_tool("answer", {"question": "How much does the crane lift?"})
        hits = await session.call_tool("retrieve", {"question": "Where was the crane built?", "k": 2})
        return answer, hits

    answer, hits = _session(mcp_url[0], work)
    assert answer.isError is False and hits.isError is False
    data = json.loads(answer.content[0].text)  # JSON text, not a Python repr
    assert data == answer.structuredContent
    assert data["abstained"] is False and "forty tonnes" in data["text"] and "[1]" in data["text"]
    cited = data["citations"][0]
    assert DOC[cited["start"] : cited["end"]] == cited["text"]
    found = json.loads(hits.content[0].text)
    assert found == hits.structuredContent and len(found["hits"]) == 2
    assert "Rotterdam" in found["hits"][0]["text"] and 0 < found["hits"][0]["score"] <= 1


def test_abstention_is_a_result_not_an_error(mcp_url):
    async def work(session, init):  # type: ignore[no-untyped-def]
        return await session.call_tool("answer", {"question": "Who won the 1998 football world cup final?"})

    result = _session(mcp_url[0], work)
    assert result.isError is False
    data = json.loads(result.content[0].text)
    assert data["abstained"] is True and data["citations"]


def test_both_tools_search_only_the_documents_named(mcp_url):
    async def work(session, init):  # type: ignore[no-untyped-def]
        held = await session.call_tool("answer", {"question": "How much does the crane lift?", "documents": ["harbour.txt"]})
        hits = await session.call_tool("retrieve", {"question": "ferries", "k": 2, "documents": ["harbour.txt"]})
        wrong = await session.call_tool("answer", {"question": "How much does the crane lift?", "documents": ["port.txt"]})
        return held, hits, wrong, init.instructions

    held, hits, wrong, instructions = _session(mcp_url[0], work)
    assert held.isError is False and "forty tonnes" in json.loads(held.content[0].text)["text"]
    assert hits.isError is False and {h["doc_id"] for h in json.loads(hits.content[0].text)["hits"]} == {"harbour.txt"}
    assert wrong.isError is True
    assert "no document named 'port.txt' in this index; its documents are 'harbour.txt'" in wrong.content[0].text
    assert "`documents`" in instructions


REFUSALS = [
    ("answer", {"question": "   "}, "blank"),
    ("answer", {"question": "crane " * 400}, "too long"),
    ("retrieve", {"question": "  \t"}, "blank"),
    ("retrieve", {"question": "crane " * 400, "k": 2}, "too long"),
    ("retrieve", {"question": "crane", "k": 0}, "k must be"),
    ("retrieve", {"question": "crane", "k": 101}, "k must be"),
    ("retrieve", {"question": "crane", "k": "many"}, "k"),
]


def test_every_refusal_sets_is_error_with_a_message(mcp_url):
    async def work(session, init):  # type: ignore[no-untyped-def]
        return [await session.call_tool(name, args) for name, args, _ in REFUSALS]

    results = _session(mcp_url[0], work)
    for (name, args, says), result in zip(REFUSALS, results):
        assert result.isError is True, (name, args)
        message = result.content[0].text
        assert says in message and "Traceback" not in message, (name, message)
    log = Path(mcp_url[1]).read_text(errors="replace")
    assert "Traceback" not in log
    assert "DEBUG" not in log and "bm25s" not in log, log[-2000:]  # library logs quiet by default


def test_mcp_endpoint_refuses_a_foreign_host_header(mcp_url):
    import httpx

    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    response = httpx.post(
        mcp_url[0],
        json=body,
        headers={"Host": "evil.example", "Accept": "application/json, text/event-stream"},
        timeout=30,
    )
    assert response.status_code in (400, 403, 421)


# --------------------------------------------------------------------------- gradio_client


def test_gradio_client_view_api_shows_the_fields_of_answer_and_retrieve(mcp_url):
    from gradio_client import Client

    client = Client(mcp_url[2], verbose=False)
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    answer_type = endpoints["/answer"]["returns"][0]["python_type"]["type"]
    retrieve_type = endpoints["/retrieve"]["returns"][0]["python_type"]["type"]
    for field in ("text: str", "abstained: bool", "citations: list[", "start: int", "doc_id: str", "score: float"):
        assert field in answer_type, answer_type
    assert "hits: list[" in retrieve_type and "context: str" in retrieve_type, retrieve_type
    assert "Any" not in answer_type and "Any" not in retrieve_type
    printed = client.view_api(print_info=False, return_format="str")
    assert "abstained: bool" in printed


def test_gradio_client_gets_typed_data_and_refusals_as_errors(mcp_url):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(mcp_url[2], verbose=False)
    data = client.predict("How much does the crane lift?", api_name="/answer")
    assert data["abstained"] is False and "forty tonnes" in data["citations"][0]["text"]
    found = client.predict("Where was the crane built?", 1, api_name="/retrieve")
    assert len(found["hits"]) == 1 and "Rotterdam" in found["hits"][0]["text"]
    with pytest.raises(AppError, match="blank"):
        client.predict("   ", api_name="/answer")
    with pytest.raises(AppError, match="k must be"):
        client.predict("crane", 0, api_name="/retrieve")
