"""The web chat (Gradio): a thin layer over :class:`citeqa.index.LiveIndex`.

Importing this module starts nothing; :func:`create_app` builds the Blocks and
:func:`serve` launches them bound to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from .errors import CiteqaError
from .index import LiveIndex
from .schema import Answer, Hit

log = logging.getLogger("citeqa")

TITLE = "citeqa: ask the article"
EXAMPLES = [
    "When did the joint exercise take place?",
    "What does the Shusha Declaration focus on?",
    "How many times has Erdogan visited Azerbaijan?",
    "What is the aim of the exercise?",
]
MAX_INPUT_CHARS = 1000
MAX_FILE_SIZE = "2mb"
QUEUE_MAX_SIZE = 64
CONCURRENCY_LIMIT = 2
#: Gradio accepts uploads on /gradio_api/upload even without an upload component:
#: every 10 minutes, delete uploaded/temporary files older than an hour.
DELETE_CACHE = (600, 3600)
#: Sessions whose state Gradio keeps in memory (its default, 10,000, lets memory grow
#: by ~0.1 MB per API call until then: every /call/ request is a session of its own).
STATE_SESSION_CAPACITY = 256
#: Largest request body outside uploads. Gradio keeps each /call/ request's body in its
#: session state, so without a cap a client can pin memory with huge JSON bodies.
MAX_REQUEST_BYTES = 2 * 1024 * 1024


class RequestSizeLimit:
    """ASGI middleware: answer 413 to request bodies over ``limit`` bytes (uploads are
    limited by Gradio's ``max_file_size`` instead), declared or streamed."""

    def __init__(self, app: Any, limit: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].endswith("/upload"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit():
            if int(declared) > self.limit:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)
            return
        buffered, size = [], 0  # no length given (chunked): read up to the limit first
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> dict[str, Any]:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Any) -> None:
        body = (
            f'{{"detail": "request body over {self.limit // (1024 * 1024)} MB; '
            f'questions are limited to {MAX_INPUT_CHARS:,} characters"}}'
        ).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

# Characters that HTML, Markdown (or Gradio's LaTeX) would read as syntax, written as
# numeric entities in one pass (escaping twice would mangle "&#x27;" into "&&#35;x27;")
# so document text is always shown literally.
# ":" too, so "javascript:" or "http://" in a document never becomes an autolink.
_ESCAPES = str.maketrans({ch: f"&#{ord(ch)};" for ch in "&<>\"'\\`*_{}[]()#!|~$:"})


def escape_text(text: str) -> str:
    """Escape document text for a chat message: HTML-escaped, Markdown made inert."""
    return text.translate(_ESCAPES)


def highlight_in_context(hit: Hit) -> str:
    """The hit's paragraph, escaped, with the cited sentence inside ``<mark>``."""
    local_start = hit.start - hit.context_start
    local_end = hit.end - hit.context_start
    before = hit.context[:local_start]
    sentence = hit.context[local_start:local_end]
    after = hit.context[local_end:]
    return f"{escape_text(before)}<mark>{escape_text(sentence)}</mark>{escape_text(after)}"


def render_answer(answer: Answer) -> str:
    """The chat reply: the answer with its markers, then each source in its paragraph."""
    parts = []
    if answer.abstained:
        parts.append(f"<p><strong>{escape_text(answer.text.splitlines()[0])}</strong></p>")
        heading = "Closest passages (not an answer)"
    else:
        cited = " ".join(
            f"{escape_text(hit.text)} <sup>[{i}]</sup>" for i, hit in enumerate(answer.citations, 1)
        )
        parts.append(f"<p>{cited}</p>")
        heading = "Sources"
    if answer.interpreted_as:
        parts.append(f"<p><em>Interpreted as: {escape_text(answer.interpreted_as)}</em></p>")
    if answer.citations:
        items = "".join(
            f"<li><strong>[{i}]</strong> {escape_text(hit.doc_id)}, characters {hit.start}–{hit.end}"
            f"<blockquote>{highlight_in_context(hit)}</blockquote></li>"
            for i, hit in enumerate(answer.citations, 1)
        )
        parts.append(f"<p><strong>{heading}</strong></p><ol>{items}</ol>")
    return "".join(parts)


def _history_messages(history: Sequence[Any] | None) -> list[dict[str, str]]:
    messages = []
    for message in history or []:
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            messages.append({"role": str(message.get("role", "")), "content": message["content"]})
    return messages


def create_app(live: LiveIndex):  # type: ignore[no-untyped-def]
    """Build the Gradio Blocks for ``live`` (nothing is launched)."""
    import gradio as gr

    def reply(question: str, history: list[dict[str, Any]]) -> str:
        try:
            index = live.get()
            result = index.answer(question, _history_messages(history))
        except CiteqaError as exc:
            return f"<p><strong>Can't answer that:</strong> {escape_text(str(exc))}</p>"
        except Exception:  # noqa: BLE001 - never show a traceback in the chat
            log.exception("unexpected error while answering")
            return "<p><strong>Something went wrong on our side.</strong> Please try again.</p>"
        return render_answer(result)

    def answer_json(question: str) -> dict[str, Any]:
        try:
            return live.get().answer(question).to_dict()
        except CiteqaError as exc:
            return {"error": str(exc)}

    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(
            f"# {TITLE}\nAnswers are the article's own sentences, each cited with its exact place "
            "in the text. If the article doesn't say, citeqa says so."
        )
        chatbot = gr.Chatbot(height=520, latex_delimiters=[], label="Chat")
        gr.ChatInterface(
            reply,
            chatbot=chatbot,
            textbox=gr.Textbox(
                placeholder="Ask a question about the article…", max_length=MAX_INPUT_CHARS, submit_btn=True
            ),
            examples=EXAMPLES,
            api_name="chat",
            concurrency_limit=CONCURRENCY_LIMIT,
        )
        question = gr.Textbox(visible=False)
        result = gr.JSON(visible=False)
        question.submit(answer_json, question, result, api_name="answer", concurrency_limit=CONCURRENCY_LIMIT)
    app.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=CONCURRENCY_LIMIT)
    return app


def serve(
    index_path: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    block: bool = True,
):  # type: ignore[no-untyped-def]
    """Launch the chat on ``host:port`` (loopback by default, never a share link).

    Returns the Gradio app (after it stops, or at once when ``block`` is False).
    """
    from starlette.middleware import Middleware

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    live = LiveIndex(index_path)
    app = create_app(live)
    app.delete_cache = DELETE_CACHE
    log.info("serving %s on http://%s:%s", live.path, host, port)
    app.launch(
        server_name=host,
        server_port=port,
        share=False,
        max_file_size=MAX_FILE_SIZE,
        state_session_capacity=STATE_SESSION_CAPACITY,
        app_kwargs={"middleware": [Middleware(RequestSizeLimit, limit=MAX_REQUEST_BYTES)]},
        enable_monitoring=False,
        show_error=False,
        prevent_thread_lock=not block,
        quiet=True,
    )
    return app
