"""The MCP server instructions: they name the indexed documents (the first ones, then a count)
and follow the served index when documents are added or removed (serve.mcp)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from serving import run_async

pytest.importorskip("mcp")


def _index(*names: str) -> SimpleNamespace:
    return SimpleNamespace(documents=[SimpleNamespace(doc_id=name) for name in names])


class _Live:
    def __init__(self, index) -> None:  # type: ignore[no-untyped-def]
        self.index = index

    def get(self):  # type: ignore[no-untyped-def]
        return self.index


def test_instructions_name_the_first_documents_then_count_the_rest():
    from citeqa.serve.mcp import NAMED_DOCUMENTS, instructions

    text = instructions(_index(*(f"doc{i:03}.txt" for i in range(NAMED_DOCUMENTS + 7))))
    assert f"{NAMED_DOCUMENTS + 7} indexed documents" in text
    assert "doc000.txt" in text and f"doc{NAMED_DOCUMENTS - 1:03}.txt" in text
    assert f"doc{NAMED_DOCUMENTS:03}.txt" not in text and "and 7 more" in text
    assert "softmax" in text and "abstained" in text and "isError" in text


def test_instructions_follow_the_served_index():
    from citeqa.serve.mcp import MCP_PATH, McpRoute, create_mcp

    live = _Live(_index("a.txt"))
    server = create_mcp(live)
    assert "a.txt" in server.instructions
    route = McpRoute(app=None, server=server, live=live)
    handled = []

    async def handler(scope, receive, send):  # type: ignore[no-untyped-def]
        handled.append(scope["path"])

    route.handler = handler
    live.index = _index("a.txt", "uploaded.md")
    run_async(route({"type": "http", "path": MCP_PATH + "/"}, None, None))
    assert handled == [MCP_PATH + "/"]
    assert "uploaded.md" in server.instructions and "2 indexed documents" in server.instructions
