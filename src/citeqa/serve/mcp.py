"""The MCP server: ``retrieve`` and ``answer`` as MCP tools that return JSON, over the library API.

Built with the official MCP SDK (FastMCP, streamable HTTP, stateless) and served by the
chat's own web server at ``/gradio_api/mcp/`` (:class:`McpRoute`). Gradio's MCP bridge is
not used: in Gradio 6.31 it cannot mark a refusal ``isError``, send server instructions or
declare output schemas, and it publishes the HTML ``chat`` endpoint as a tool.

Each tool returns MCP structured content (validated against the output schema in its
description) and the same object as JSON text; a refused question or ``k`` comes back with
``isError`` set and a message saying what to change.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio.to_thread
from pydantic import Field

from ..errors import CiteqaError
from ..index import Index, check_k
from ..question import MAX_QUESTION_CHARS
from .contracts import (
    ABSTAINED_MEANING,
    CONFIDENCE_MEANING,
    HIT_FIELDS,
    SCORE_MEANING,
    AnswerJSON,
    RetrieveJSON,
)

log = logging.getLogger("citeqa")

#: Where the MCP endpoint is served (with or without a trailing slash).
MCP_PATH = "/gradio_api/mcp"
#: Documents named in the server instructions; the rest are counted.
NAMED_DOCUMENTS = 50

Question = Annotated[
    str, Field(description=f"The question, in natural language (up to {MAX_QUESTION_CHARS:,} characters).")
]
Documents = Annotated[
    list[str] | None,
    Field(description="Only search these documents: names as the server instructions list them, folders ending with / or patterns such as *.pdf (omit: every document)."),
]


def instructions(index: Index) -> str:
    """The server instructions: what is indexed, what the tools return, what the fields mean."""
    names = [d.doc_id for d in index.documents]
    shown = ", ".join(names[:NAMED_DOCUMENTS])
    if len(names) > NAMED_DOCUMENTS:
        shown += f" and {len(names) - NAMED_DOCUMENTS:,} more"
    return (
        f"citeqa answers questions about {len(names):,} indexed document{'s' if len(names) != 1 else ''} "
        f"({shown}) with the documents' own sentences, each cited to exact character offsets; "
        "nothing is generated. Use `answer` for an answer (cited sentences with markers [n]) and "
        "`retrieve` for the k most relevant sentences (retrieval never abstains). "
        f"{ABSTAINED_MEANING} {CONFIDENCE_MEANING} {SCORE_MEANING} A refused call (blank question, question over "
        f"{MAX_QUESTION_CHARS:,} characters, k outside 1..100, a document name not indexed) returns isError "
        "with a message saying what to change. Both tools take `documents`, a list of those names, to "
        "search only them."
    )


def create_mcp(source: Any, host: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    """The FastMCP server answering from ``source`` (a :class:`LiveIndex` or a Library).

    ``host`` is the address the web server binds: on loopback the SDK's DNS-rebinding
    protection (Host and Origin checks) is on.
    """
    from mcp.server.fastmcp import FastMCP
    from mcp.server.fastmcp.exceptions import ToolError
    from mcp.types import ToolAnnotations

    live = source
    server = FastMCP(
        "citeqa",
        instructions=instructions(live.get()),
        host=host,
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        log_level="WARNING",
    )
    read_only = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False)

    @server.tool(
        name="answer",
        title="Answer from the documents",
        annotations=read_only,
        structured_output=True,
        description=(
            "Answer a question with the indexed documents' own sentences, each cited. Returns JSON "
            '{"text": the answer, cited sentences each followed by its marker [n]; "abstained": bool; '
            '"interpreted_as": the query searched (for "What is this document about?": "an overview: the '
            'first 3 sentences of DOC", its opening; for "Tell me more": "reading on: the next 3 sentences of DOC"); "citations": [hit, ...]} where citations[n-1] is '
            f"marker [n] and {HIT_FIELDS}. {ABSTAINED_MEANING} {SCORE_MEANING}"
        ),
    )
    async def answer(question: Question, documents: Documents = None) -> AnswerJSON:
        try:
            result = await anyio.to_thread.run_sync(lambda: live.get().answer(question, documents=documents))
        except CiteqaError as exc:
            raise ToolError(str(exc)) from None
        return result.to_dict()  # type: ignore[return-value]

    @server.tool(
        name="retrieve",
        title="Find relevant sentences",
        annotations=read_only,
        structured_output=True,
        description=(
            "Find the k sentences of the indexed documents most relevant to a question, best first "
            '(never abstains: check the sentences yourself). Returns JSON {"question", "hits": '
            f"[hit, ...]}} where {HIT_FIELDS}. {SCORE_MEANING}"
        ),
    )
    async def retrieve(
        question: Question,
        k: Annotated[int, Field(description="How many sentences to return, 1 to 100.")] = 5,
        documents: Documents = None,
    ) -> RetrieveJSON:
        try:
            hits = await anyio.to_thread.run_sync(lambda: live.get().retrieve(question, check_k(k), documents=documents))
        except CiteqaError as exc:
            raise ToolError(str(exc)) from None
        return {"question": question, "hits": [hit.to_dict() for hit in hits]}  # type: ignore[typeddict-item]

    server.streamable_http_app()  # creates the session manager that McpRoute and lifespan use
    return server


class McpRoute:
    """ASGI middleware: hand requests for :data:`MCP_PATH` to the MCP server, the rest to the app.

    Before each MCP request the instructions are refreshed when the served index changed
    (documents uploaded or removed), so a new session names the documents it will search.
    """

    def __init__(self, app: Any, server: Any, live: Any) -> None:
        self.app = app
        self.server = server
        self.live = live
        self.handler = server.session_manager.handle_request
        self._shown: object = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != MCP_PATH:
            await self.app(scope, receive, send)
            return
        index = self.live.get()
        if index is not self._shown:
            self.server._mcp_server.instructions = instructions(index)  # read at each session's start
            self._shown = index
        await self.handler(scope, receive, send)


def lifespan(server: Any):  # type: ignore[no-untyped-def]
    """A lifespan for the web app that runs the MCP session manager while it serves."""

    @contextlib.asynccontextmanager
    async def run(app: Any) -> AsyncIterator[None]:  # noqa: ARG001
        async with server.session_manager.run():
            yield

    return run


def mount(app_kwargs: dict[str, Any], source: Any, host: str) -> None:
    """Add the MCP server to the web app's keyword arguments: its route and its lifespan."""
    from starlette.middleware import Middleware

    server = create_mcp(source, host)
    app_kwargs.setdefault("middleware", []).append(Middleware(McpRoute, server=server, live=source))
    app_kwargs["lifespan"] = lifespan(server)
