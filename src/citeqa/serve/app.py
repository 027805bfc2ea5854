"""The web chat (Gradio): chat on one side, the cited source document on the other.

A thin layer over :class:`citeqa.serve.workspace.Library`. Importing this module starts
nothing; :func:`create_app` builds the Blocks and :func:`serve` launches them bound
to 127.0.0.1 unless told otherwise.

Document text is data, never markup: everything taken from a document (or typed by
the user) is HTML-escaped and has its Markdown syntax made inert before it reaches
the page, and every API reply carries the same escaped HTML.

Stable API endpoints for ``gradio_client`` (:mod:`.endpoints`, typed by :mod:`.contracts`;
refusals raise): ``/chat`` (question, history → reply HTML), ``/answer`` (question → Answer
JSON), ``/retrieve`` (question, k → {"question", "hits"}), ``/answer_in`` and ``/retrieve_in``
(the same held to chosen documents). ``--mcp`` serves :mod:`.mcp` beside them.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..api import LiveIndex
from ..config import default_workspace_path
from ..errors import CiteqaError, InvalidArgumentError
from ..ingest.fetch import is_url
from .binding import check_port
from .endpoints import endpoints
from .examples import PANE_PLACEHOLDER, RETITLE_JS, examples_for, heading, title_for
from .render import (
    escape_text,
    highlight_in_context,
    plain_text,
    render_answer,
    render_documents,
    render_error,
    render_source_pane,
    shown_question_html,
)
from .security import MAX_INPUT_CHARS, MAX_REQUEST_BYTES, MAX_TYPED_CHARS, KnownEvents, RequestSizeLimit
from .security import allowed_hosts as trusted_hosts
from .security import install as install_request_guard
from .uploads import discard_uploads
from .webpages import add_web_page
from .workspace import MAX_DOCUMENT_BYTES, MAX_UPLOAD_BYTES, DocumentInfo, Library, Workspace

__all__ = [
    "MAX_INPUT_CHARS", "MAX_REQUEST_BYTES", "KnownEvents", "RequestSizeLimit",
    "create_app", "escape_text", "highlight_in_context", "render_answer", "serve",
]

log = logging.getLogger("citeqa")

MAX_FILE_SIZE = "11mb"  # above workspace.MAX_UPLOAD_BYTES, which gives the clear message
QUEUE_MAX_SIZE = 64
CONCURRENCY_LIMIT = 2

#: The chat's style sheet and script, kept as files beside this module.
STATIC = Path(__file__).with_name("static")
CSS = (STATIC / "chat.css").read_text(encoding="utf-8")
JS = (STATIC / "chat.js").read_text(encoding="utf-8")


#: Gradio accepts uploads on /gradio_api/upload even without an upload component (only
#: from the app's own page, see security.py): every minute, delete uploaded/temporary
#: files older than five minutes (uploads the page added are deleted once read).
DELETE_CACHE = (60, 300)
#: Sessions whose state Gradio keeps in memory (its default, 10,000, lets memory grow
#: by ~0.1 MB per API call until then: every /call/ request is a session of its own).
STATE_SESSION_CAPACITY = 256


def _new_session() -> dict[str, Any]:
    return {"turns": [], "views": {}, "shown": "", "version": ""}


# ---------------------------------------------------------------------- the app


def create_app(source: Library | LiveIndex, *, private_urls: bool = False):  # type: ignore[no-untyped-def]
    """Build the Gradio Blocks answering from ``source`` (nothing is launched).

    ``source`` is a :class:`Library` (documents can be added from the page, as files or
    by a web page's address: at a public address unless ``private_urls``) or a bare
    :class:`LiveIndex` (read-only: the documents panel has no upload).
    """
    import gradio as gr

    library = source if isinstance(source, Library) else None
    origins = library.workspace.origins if library is not None else dict  # pages' addresses, for the source pane
    live = source

    # ------------------------------------------------------------ page events

    def ask(question: str, history: list, session: dict, only: list | None = None) -> tuple:  # type: ignore[type-arg]
        history = list(history or [])
        session = session or _new_session()
        shown_question = shown_question_html(question)
        history.append({"role": "user", "content": shown_question})
        try:
            index = live.get()
            turns = [m for q, a in session["turns"] for m in ({"role": "user", "content": q}, {"role": "assistant", "content": a})]
            result = index.answer(question, turns, documents=list(only) if only else None)
        except CiteqaError as exc:
            history.append({"role": "assistant", "content": render_error(exc)})
            return "", history, gr.skip(), gr.skip(), session
        except Exception:  # noqa: BLE001 - never show a traceback
            log.exception("unexpected error while answering")
            history.append({"role": "assistant", "content": "<p><strong>Something went wrong on our side.</strong> Please try again.</p>"})
            return "", history, gr.skip(), gr.skip(), session
        version = str(index.path)
        note = ""
        if session["version"] and session["version"] != version:
            note = escape_text(f"The documents changed: now answering from {len(index.documents)} documents.")
        elif library is not None and is_url(question.strip()) and " " not in question.strip():  # a page pasted in the wrong box
            note = escape_text("That is a web address: to ask about that page, add it in the box under Documents first.")
        session["version"] = version
        answer_id = secrets.token_hex(4)
        history.append({"role": "assistant", "content": render_answer(result, answer_id=answer_id, question=question, note=note)})
        session["turns"].append((question, result.text))
        session["views"][len(history) - 1] = {"id": answer_id, "answer": result}
        session["shown"] = answer_id
        return "", history, render_source_pane(result, index, answer_id=answer_id, origins=origins()), plain_text(result), session

    def select(session: dict, evt: gr.SelectData) -> tuple:  # type: ignore[type-arg]
        index_ = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        view = (session or {}).get("views", {}).get(index_)
        if view is None or view["id"] == session.get("shown"):
            return gr.skip(), gr.skip(), session
        session["shown"] = view["id"]
        pane = render_source_pane(view["answer"], live.get(), answer_id=view["id"], origins=origins())
        return pane, plain_text(view["answer"]), session

    select.__annotations__["evt"] = gr.SelectData  # resolved here: gradio is imported lazily

    def clear() -> tuple:  # type: ignore[type-arg]
        return [], PANE_PLACEHOLDER, "", _new_session(), ""

    def documents_view() -> tuple:  # type: ignore[type-arg]
        index = live.get()
        if library is None:
            counts = index.sentence_counts()
            infos = [DocumentInfo(d.doc_id, counts.get(d.doc_id, 0), "", "") for d in index.documents]
            return render_documents(infos, index), gr.skip()
        infos = library.documents()
        files = [info.file for info in infos if info.file]
        return render_documents(infos, index, busy=library.busy, notice=library.notice), gr.update(choices=files, value=None)

    def add_documents(files: list | None, progress: gr.Progress = gr.Progress()) -> tuple:  # type: ignore[type-arg]
        if library is None:
            return (*documents_view(), "Documents can't be changed on this server.", None, "")
        uploads = [(Path(str(f)).name, str(f)) for f in (files or [])]
        try:
            change = library.add(uploads, lambda fraction, message: progress(fraction, desc=message))
        except CiteqaError as exc:
            discard_uploads(uploads)
            return (*documents_view(), f"Not added: {escape_text(str(exc))}", None, "")
        except Exception:  # noqa: BLE001 - never show a traceback
            log.exception("unexpected error while adding documents")
            discard_uploads(uploads)
            return (*documents_view(), "Not added: something went wrong on our side; try again.", None, "")
        discard_uploads(uploads)
        return (*documents_view(), escape_text(change.message), None, escape_text(change.message))

    def add_page(url: str, progress: gr.Progress = gr.Progress()) -> tuple:  # type: ignore[type-arg]
        if library is None:
            return (*documents_view(), "Documents can't be changed on this server.", gr.skip(), "")
        try:
            change = add_web_page(library, url, lambda fraction, message: progress(fraction, desc=message),
                                  public_only=not private_urls)
        except CiteqaError as exc:
            return (*documents_view(), f"Not added: {escape_text(str(exc))}", gr.skip(), "")
        except Exception:  # noqa: BLE001 - never show a traceback
            log.exception("unexpected error while adding a web page")
            return (*documents_view(), "Not added: something went wrong on our side; try again.", gr.skip(), "")
        return (*documents_view(), escape_text(change.message), "", escape_text(change.message))

    def remove_document(name: str | None, progress: gr.Progress = gr.Progress()) -> tuple:  # type: ignore[type-arg]
        if library is None:
            return (*documents_view(), "Documents can't be changed on this server.", "")
        try:
            change = library.remove(name or "", lambda fraction, message: progress(fraction, desc=message))
        except CiteqaError as exc:
            return (*documents_view(), f"Not removed: {escape_text(str(exc))}", "")
        except Exception:  # noqa: BLE001
            log.exception("unexpected error while removing a document")
            return (*documents_view(), "Not removed: something went wrong on our side; try again.", "")
        return (*documents_view(), escape_text(change.message), escape_text(change.message))

    def examples_view(only: list | None = None):  # type: ignore[no-untyped-def,type-arg]
        doc_ids = [d.doc_id for d in live.get().documents]
        label, samples = examples_for(doc_ids)
        # "Answer only from" offers the documents indexed now; those still indexed stay chosen
        scope = gr.update(choices=doc_ids, value=[n for n in only or [] if n in doc_ids], visible=len(doc_ids) > 1)
        return gr.Dataset(samples=[[q] for q in samples], label=label), heading(doc_ids), scope

    def announce(message: str, history: list, session: dict) -> tuple:  # type: ignore[type-arg]
        if not message:
            return gr.skip(), gr.skip(), ""
        history = list(history or [])
        history.append({"role": "assistant", "content": f'<p class="cq-note"><strong>Documents updated.</strong> {message}</p>'})
        session = session or _new_session()
        session["version"] = str(live.get().path)
        return history, session, ""

    doc_ids = [d.doc_id for d in live.get().documents]
    with gr.Blocks(title=title_for(doc_ids), delete_cache=(3600, 3600)) as app:
        title = gr.Markdown(heading(doc_ids), elem_id="cq-title")
        session = gr.State(_new_session())
        changed = gr.State("")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    label="Chat",
                    height=480,
                    latex_delimiters=[],
                    elem_id="cq-chat",
                    buttons=[],
                    feedback_options=None,
                    placeholder="Ask a question about the documents, or pick an example below.",
                )
                question = gr.Textbox(
                    label="Your question",
                    placeholder="Ask a question about the documents…",
                    max_length=MAX_TYPED_CHARS,
                    submit_btn="Ask",
                    elem_id="cq-question",
                    autofocus=True,
                )
                label, samples = examples_for(doc_ids)
                examples = gr.Dataset(components=[gr.Textbox(visible=False)], samples=[[q] for q in samples],
                                      label=label, elem_id="cq-examples")
                only = gr.Dropdown(label="Answer only from (none chosen: every document)", choices=doc_ids, value=[], multiselect=True, visible=len(doc_ids) > 1, elem_id="cq-only")
                clear_button = gr.Button("Clear chat", variant="secondary", size="sm", elem_id="cq-clear")
            with gr.Column(scale=2, min_width=320):
                gr.Markdown("### Source of the answer")
                pane = gr.HTML(PANE_PLACEHOLDER, elem_id="cq-source", js_on_load=None)
                copy_box = gr.Textbox(
                    label="Answer as plain text (with citations)",
                    lines=4,
                    max_lines=12,
                    interactive=False,
                    buttons=["copy"],
                    elem_id="cq-plain",
                )
        with gr.Accordion("Documents", open=library is not None, elem_id="cq-documents"):
            documents = gr.HTML(elem_id="cq-doc-list", js_on_load=None)
            with gr.Row(visible=library is not None):
                with gr.Column():
                    # no file_types: the browser would refuse with a bare "Error"; the server says why
                    upload = gr.File(
                        label=f"Add .txt, .md or .rst files (up to {MAX_DOCUMENT_BYTES // 1000:,} kB each), "
                        f"web pages (.html), PDFs, Word or OpenDocument texts (.docx, .odt), slides (.pptx), e-books (.epub), Jupyter notebooks (.ipynb) or tables (.csv, .tsv, .xlsx, .xls, .ods; up to {MAX_UPLOAD_BYTES // 1_000_000} MB each)",
                        file_count="multiple",
                        elem_id="cq-upload",
                    )
                    page_url = gr.Textbox(label="Or add web pages or online documents by their addresses", placeholder="https://… (several: separate them by spaces)",
                                          max_lines=1, submit_btn="Add", elem_id="cq-page-url")
                    status = gr.Markdown(elem_id="cq-status", min_height=48)
                with gr.Column():
                    to_remove = gr.Dropdown(label="Uploaded document to remove", choices=[], elem_id="cq-remove-choice")
                    remove_button = gr.Button("Remove document", size="sm", elem_id="cq-remove")

        private: dict[str, Any] = {"api_visibility": "private"}
        ask_outputs = [question, chatbot, pane, copy_box, session]
        question.submit(ask, [question, chatbot, session, only], ask_outputs, concurrency_limit=CONCURRENCY_LIMIT,
                        concurrency_id="answer", **private)
        examples.click(lambda sample: sample[0], examples, question, queue=False, **private).then(
            ask, [question, chatbot, session, only], ask_outputs, concurrency_id="answer", **private
        )
        chatbot.select(select, [session], [pane, copy_box, session], queue=False, **private)
        clear_button.click(clear, None, [chatbot, pane, copy_box, session, question], queue=False, **private)
        chatbot.clear(clear, None, [chatbot, pane, copy_box, session, question], queue=False, **private)
        # the heading and the tab's title follow the documents: an upload turns "ask the article" into
        # "ask the documents" (the <title> is set once, when the page is built, so a script follows it)
        shown = {"fn": examples_view, "inputs": [only], "outputs": [examples, title, only], **private}
        retitle = {"fn": None, "js": RETITLE_JS, **private}
        app.load(documents_view, None, [documents, to_remove], **private).then(**shown).then(**retitle)
        doc_outputs = [documents, to_remove, status]
        upload.upload(add_documents, upload, [*doc_outputs, upload, changed], concurrency_limit=1,
                      concurrency_id="documents", show_progress_on=status, **private).then(
            announce, [changed, chatbot, session], [chatbot, session, changed], **private
        ).then(**shown).then(**retitle)
        page_url.submit(add_page, page_url, [*doc_outputs, page_url, changed], concurrency_limit=1,
                        concurrency_id="documents", show_progress_on=status, **private).then(
            announce, [changed, chatbot, session], [chatbot, session, changed], **private
        ).then(**shown).then(**retitle)
        remove_button.click(remove_document, to_remove, [*doc_outputs, changed], concurrency_limit=1,
                            concurrency_id="documents", show_progress_on=status, **private).then(
            announce, [changed, chatbot, session], [chatbot, session, changed], **private
        ).then(**shown).then(**retitle)

        for name, function in endpoints(live).items():  # for programs (gradio_client)
            gr.api(function, api_name=name, concurrency_limit=CONCURRENCY_LIMIT, concurrency_id="answer")
    app.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=CONCURRENCY_LIMIT)
    return app


def serve(
    index_path: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    workspace: str | os.PathLike[str] | None = None,
    read_only: bool = False,
    mcp: bool = False,
    block: bool = True,
    allowed_hosts: Sequence[str] = (),
    private_urls: bool = False,
):  # type: ignore[no-untyped-def]
    """Launch the chat on ``host:port`` (loopback by default, never a share link).

    Args:
        index_path: The base index (default: the shipped article's).
        host: Address to bind.
        port: Port to bind.
        workspace: Folder for uploaded documents and their index
            (default: ``$XDG_DATA_HOME/citeqa/workspace``).
        read_only: No documents panel uploads; serve the base index only.
        mcp: Also serve the API endpoints as MCP tools at ``/gradio_api/mcp/``.
        block: Wait until the server stops.
        allowed_hosts: Host names to accept besides 127.0.0.1, localhost, [::1] and
            ``host`` (requests naming any other host are refused: DNS rebinding).
        private_urls: Let the page add documents at local or private network addresses
            (an intranet's pages); by default only public addresses are fetched.

    Returns:
        The Gradio app (after it stops, or at once when ``block`` is False).
    """
    from starlette.middleware import Middleware

    if not isinstance(port, int) or not 0 < port < 65536:
        raise InvalidArgumentError(f"port must be between 1 and 65535, got {port!r}")
    check_port(host, port)  # before the index loads: a port in use is known at once
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if mcp:
        try:
            import mcp as _mcp  # noqa: F401
        except ImportError:
            raise CiteqaError('--mcp needs the MCP extra: pip install "citeqa[mcp]"') from None
        from .mcp import mount
    base = LiveIndex(index_path)
    base.warm_up()  # the first question need not wait for the model (a fresh install exports it once)
    source: Library | LiveIndex = base
    if not read_only:
        where = Path(workspace) if workspace is not None else default_workspace_path()
        source = Library(base, Workspace(where))
        log.info("workspace for uploaded documents: %s", where)
    app = create_app(source, private_urls=private_urls)
    app.delete_cache = DELETE_CACHE
    install_request_guard(trusted_hosts(host, allowed_hosts))
    app_kwargs: dict[str, Any] = {
        "middleware": [
            Middleware(RequestSizeLimit, limit=MAX_REQUEST_BYTES),
            Middleware(KnownEvents, events=lambda: app.fns.keys()),
        ]
    }
    if mcp:  # the official SDK's server, on the same port (see .mcp for why not Gradio's)
        mount(app_kwargs, source, host)
    log.info("serving %s on http://%s:%s%s", base.path, host, port, " (MCP at /gradio_api/mcp/)" if mcp else "")
    app.launch(
        server_name=host,
        server_port=port,
        share=False,
        max_file_size=MAX_FILE_SIZE,
        state_session_capacity=STATE_SESSION_CAPACITY,
        app_kwargs=app_kwargs,
        enable_monitoring=False,
        show_error=False,
        prevent_thread_lock=not block,
        quiet=True,
        mcp_server=False,
        footer_links=["api"],
        css=CSS,
        js=JS,
    )
    return app
