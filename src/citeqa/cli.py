"""The ``citeqa`` command: ask, build, eval, serve. A thin layer over the library.

Exit codes (also in ``citeqa --help``): 0 answered (or done), 1 error, 2 usage,
3 abstained (``ask``: the documents don't seem to answer), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import unicodedata
from collections.abc import Sequence

from .errors import CiteqaError, InvalidArgumentError, InvalidQuestionError
from .ingest.extract import FORMATS
from .text import BIDI_CONTROLS, escape_json_controls, visible_controls

PROG = "citeqa"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2  # argparse's own
EXIT_ABSTAINED = 3
EXIT_INTERRUPTED = 130
EXIT_CODES = f"""exit codes:
  {EXIT_OK}    answered (or the command succeeded)
  {EXIT_ERROR}    error (bad question, missing index, unreadable source...)
  {EXIT_USAGE}    usage error (unknown command or option)
  {EXIT_ABSTAINED}    ask: abstained, the documents don't seem to answer (closest passages printed)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)"""

#: Libraries whose INFO/DEBUG lines are noise in citeqa's output (bm25s sets DEBUG on itself).
NOISY_LOGGERS = ("bm25s", "httpx", "httpcore", "gradio", "gradio_client", "uvicorn", "uvicorn.access",
                 "urllib3", "faiss", "sentence_transformers", "mcp", "asyncio", "multipart", "pypdf")
#: Extraction libraries whose warnings restate citeqa's own refusals ("discarding data: None"): from -v on.
RESTATING_LOGGERS = ("trafilatura", "htmldate", "courlan", "justext")


def _version() -> str:
    from . import __version__

    return f"{PROG} {__version__}"


STORE_HELP = (
    "where the index lives instead of a folder: milvus://HOST:PORT/COLLECTION or "
    "milvus-lite:PATH.db[#COLLECTION] (pip install 'citeqa[milvus]'); a folder path means --index"
)


def _where(args: argparse.Namespace) -> str | None:
    """The index location from --index / --store (not both)."""
    if getattr(args, "store", None) and args.index:
        raise InvalidArgumentError(f"give --index DIR or --store ADDRESS, not both (got {args.index!r} and {args.store!r})")
    return args.store or args.index


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS,
        help="more log lines on stderr (-v: libraries' info, -vv: debug)",
    )
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Answer questions about documents with their own sentences, each cited.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = sub.add_parser(
        "ask", help="answer one question from the index", parents=[common], epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ask.add_argument("question", help='the question, in quotes; "-" reads it from standard input')
    ask.add_argument("--index", metavar="DIR", help="index folder (default: the shipped article's)")
    ask.add_argument("--store", metavar="ADDRESS", help=STORE_HELP)
    ask.add_argument("-k", type=int, metavar="N", help="cite at most N sentences (default 3; a list the answer introduces: up to 10 items)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument(
        "--after", action="append", default=[], metavar="QUESTION",
        help='an earlier question of the conversation (repeat it, oldest first): a follow-up like '
        '"What does it focus on?" is read against them, as in the chat',
    )
    ask.add_argument(
        "--doc", action="append", metavar="NAME",
        help="answer only from this document: its name (e.g. MPL-2.0.txt), a folder ending with / or a pattern such as '*.pdf'; repeat for several",
    )
    ask.add_argument("--cross-encoder", action=argparse.BooleanOptionalAction, default=None, help=CROSS_HELP)

    build = sub.add_parser(
        "build", help=f"(re)build an index from files ({', '.join(FORMATS)}), folders and http(s) URLs", parents=[common]
    )
    build.add_argument("sources", nargs="*", metavar="SOURCE", help="files, folders or http(s) URLs (default: the shipped article)")
    build.add_argument("--index", metavar="DIR", help="index folder to write (default: index/)")
    build.add_argument("--store", metavar="ADDRESS", help=STORE_HELP + " to write")
    build.add_argument("--model", metavar="MODEL", help="sentence-transformers model folder (default: bundled all-MiniLM-L6-v2)")
    build.add_argument(
        "--backend",
        choices=("auto", "onnx", "onnx-int8", "torch"),
        help="embedding backend (default auto: ONNX Runtime int8, sentence-transformers/torch as fallback)",
    )
    build.add_argument(
        "--index-type", choices=("auto", "flat", "hnsw-sq8", "ivf-sq8"), default="auto",
        help="vector index: exact flat, or approximate HNSW/IVF over 8-bit vectors "
        "(default auto: flat below 100k sentences, hnsw-sq8 above)",
    )
    build.add_argument("--full", action="store_true", help="re-embed every document (default: only new or changed ones)")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="read, segment and embed with Ray Data (pip install 'citeqa[ray]'): on the Ray cluster at ADDRESS "
        "(default $RAY_ADDRESS), else on a Ray started on this machine; every sentence is embedded",
    )

    evaluate = sub.add_parser(
        "eval", help="measure retrieval, follow-ups, abstention and latency against baselines", parents=[common]
    )
    evaluate.add_argument("--gold", metavar="FILE", help="gold JSONL file (default: the shipped article's)")
    evaluate.add_argument("--index", metavar="DIR", help="index the gold file is asked against (default: the shipped article's)")
    evaluate.add_argument("--squad", metavar="PATH", help="SQuAD v1.1 JSON (default: ../shared/data/squad/dev-v1.1-tune.json from the repo root)")
    evaluate.add_argument("--limit", type=int, metavar="N", help="use only the first N SQuAD articles (quick runs)")
    evaluate.add_argument("--cache", metavar="DIR", help="cache folder for the built SQuAD index (default: ~/.cache/citeqa/eval)")
    evaluate.add_argument("--no-gold", action="store_true", help="skip the gold-file evaluation")
    evaluate.add_argument("--no-squad", action="store_true", help="skip the SQuAD evaluation")
    evaluate.add_argument("--squad2", metavar="PATH", help="SQuAD 2.0 JSON (default: ../shared/data/squad2/dev-v2.0-tune.json)")
    evaluate.add_argument("--news", metavar="DIR", help="news dev folder (default: ../shared/data/news-dev)")
    evaluate.add_argument("--no-news", action="store_true", help="skip the news dev set")
    evaluate.add_argument("--docs", metavar="DIR", help="licences and manuals with user-style questions (default: eval-data/docs-dev of the checkout)")
    evaluate.add_argument("--no-docs", action="store_true", help="skip the docs dev set")
    evaluate.add_argument(
        "--no-honest", action="store_true", help="skip the fit/report-half answerability tables (citeqa.eval.honest)"
    )
    evaluate.add_argument("--no-ablation", action="store_true", help="skip the rule-by-rule ablation table")
    evaluate.add_argument(
        "--no-cross-compare", action="store_true", help="skip asking everything again without the cross-encoder (the before/after table)"
    )
    evaluate.add_argument("--json", action="store_true", help="print the results as JSON")
    evaluate.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    serve = sub.add_parser("serve", help="run the web chat", parents=[common])
    serve.add_argument("--index", metavar="DIR", help="index folder (default: the shipped article's)")
    serve.add_argument("--store", metavar="ADDRESS", help=STORE_HELP + " (served read-only: no uploads)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--cross-encoder", action=argparse.BooleanOptionalAction, default=None, help=CROSS_HELP)
    serve.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    serve.add_argument(
        "--workspace",
        metavar="DIR",
        help="folder for documents added from the page and their index "
        "(default: $XDG_DATA_HOME/citeqa/workspace; the --index folder is never written)",
    )
    serve.add_argument("--read-only", action="store_true", help="no adding or removing documents from the page")
    serve.add_argument(
        "--allowed-host", action="append", default=[], metavar="NAME",
        help="also accept requests for this host name (repeatable; 127.0.0.1, localhost, [::1] and --host "
        "always are; any other Host header is refused, against DNS rebinding)",
    )
    serve.add_argument("--allow-private-urls", action="store_true", help="let the page add web pages at local or "
                       "private network addresses (an intranet's; by default only public addresses are fetched)")
    serve.add_argument(
        "--mcp", action="store_true", help="also serve retrieve/answer as MCP tools at /gradio_api/mcp/ (needs citeqa[mcp])"
    )
    for command in sub.choices.values():
        command.set_defaults(usage_of=command)  # an unknown option is reported with its command's usage
    return parser


def _inert(text: str) -> str:
    """Document text made safe for a terminal: control characters (escape sequences
    that could rewrite the screen or the title) are shown as ``\\x1b``, not sent, and
    bidi controls (which reorder what follows them) as ``<U+202E>``."""
    return "".join(
        ch if ch in "\n\t" or (unicodedata.category(ch) != "Cc" and ch not in BIDI_CONTROLS)
        else (f"<U+{ord(ch):04X}>" if ch in BIDI_CONTROLS else ch.encode("unicode_escape").decode("ascii"))
        for ch in text.replace("\r\n", "\n")
    )


def _print_answer(result, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        # json.dumps escapes only C0 controls: C1 (U+009B is a terminal's CSI), DEL and bidi
        # controls are escaped too, so the output is the same JSON value, inert on a terminal.
        print(escape_json_controls(json.dumps(result.to_dict(), ensure_ascii=False, indent=2)))
        return
    if result.abstained:  # the decision, then each closest passage with where it stands
        from .answer.compose import CLOSEST_HEADING

        print(_inert(result.text.split("\n", 1)[0]))
        if result.citations:
            print(CLOSEST_HEADING)
        for number, hit in enumerate(result.citations, 1):
            print(f"  [{number}] {_inert(' '.join(hit.text.split()))}")  # on one line, as the chat shows it
            print(f"      {_inert(hit.doc_id)} characters {hit.start}-{hit.end}")
        return
    from .answer.compose import format_cited

    # a hard-wrapped sentence on one line and a list's items on lines of their own, as the chat shows them
    print(_inert(format_cited(result.citations, one_line=True) if result.citations else result.text))
    if result.confidence is not None:
        print()
        from .answer.confidence import describe_confidence

        print(describe_confidence(result.confidence) + " that [1] answers the question")
    if result.citations:
        print()
        print("Sources:")
        for number, hit in enumerate(result.citations, 1):
            page = f", p. {hit.page}" if hit.page is not None else ""
            print(f"  [{number}] {visible_controls(hit.doc_id)}{page} characters {hit.start}-{hit.end}")


CROSS_HELP = (
    "rescore the best 20 sentences with the cross-encoder that reads question and sentence together "
    "(about 30-60 ms a question; same as CITEQA_CROSS_ENCODER=1/0; default: see README)"
)


def _cross_encoder_switch(args: argparse.Namespace) -> None:
    """``--cross-encoder`` / ``--no-cross-encoder``: every index this process loads follows it (the env var reaches the chat's reloads too)."""
    chosen = getattr(args, "cross_encoder", None)
    if chosen is not None:
        from .config import CROSS_ENCODER_ENV

        os.environ[CROSS_ENCODER_ENV] = "1" if chosen else "0"


def _read_question(question: str) -> str:
    """The question as given, or standard input's when it is ``-`` (like ``cat -``)."""
    if question != "-":
        return question
    from .question import MAX_RAW_QUESTION_CHARS

    return sys.stdin.read(MAX_RAW_QUESTION_CHARS + 1)  # clean_question refuses anything longer


def _ask(args: argparse.Namespace) -> int:
    from .api import default_index
    from .index import Index, check_k
    from .question import clean_question

    question = _read_question(args.question)
    asked = clean_question(question)  # fail fast, before loading anything
    history = []  # the user's turns are all a follow-up is read against
    for number, earlier in enumerate(args.after, 1):
        try:
            history.append({"role": "user", "content": clean_question(earlier)})
        except InvalidQuestionError as exc:
            raise InvalidQuestionError(f"--after question {number}: {exc}") from None
    if args.k is not None:
        check_k(args.k)
    _cross_encoder_switch(args)
    where = _where(args)
    index = Index.load(where) if where else default_index()
    result = index.answer(question, history or None, max_citations=args.k, documents=args.doc)
    if not args.json and result.interpreted_as != asked:  # a follow-up: say how it was read, as the chat does
        print(f"Interpreted as: {_inert(result.interpreted_as)}")
        print()
    _print_answer(result, args.json)
    return EXIT_ABSTAINED if result.abstained else EXIT_OK


def _build(args: argparse.Namespace) -> int:
    from .api import build_index
    from .config import default_index_path

    out = _where(args) or str(default_index_path())
    index = build_index(
        args.sources or None,
        out,
        model=args.model,
        backend=args.backend,
        index_type=args.index_type,
        incremental=not args.full,
        show_progress=not args.quiet,
        ray=False if args.ray is None else (args.ray or True),
    )
    manifest = index.manifest
    counts = manifest["counts"]
    print(
        f"Indexed {counts['sentences']} sentence{'s' if counts['sentences'] != 1 else ''} from {counts['documents']} "
        f"document{'s' if counts['documents'] != 1 else ''} into {out} ({index.store.version}; "
        f"{manifest['backend']} embeddings, {_vector_index(manifest)} index)"
    )
    return 0


def _vector_index(manifest: dict) -> str:  # type: ignore[type-arg]
    if "faiss" in manifest:
        return str(manifest["faiss"]["type"])
    return f"Milvus {manifest['milvus']['dense_index']['index_type']}"


def _eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .config import default_squad_path
    from .eval import harness, run
    from .eval.report import format_report
    from .fsutil import refuse_file_in_the_way
    from .index import Index

    def log(message: str) -> None:
        print(f"{PROG}: {message}", file=sys.stderr, flush=True)

    if args.cache is not None:
        refuse_file_in_the_way(args.cache, "cache folder", "pass --cache a folder")
    squad = args.squad
    with_squad = not args.no_squad
    if with_squad and squad is None and not default_squad_path().is_file():
        print(f"{PROG}: SQuAD file not found at {default_squad_path()}; skipping it (pass --squad PATH)", file=sys.stderr)
        with_squad = False
    results = harness.run(
        gold=args.gold,
        index=Index.load(args.index) if args.index else None,
        squad=Path(squad) if squad else None,
        limit=args.limit,
        cache_dir=args.cache,
        with_gold=not args.no_gold,
        with_squad=with_squad,
        log=None if args.quiet else log,
    )
    honest_lines = [] if args.no_honest else run.cli_tables(args, with_squad, log)
    if args.json:
        print(json.dumps({**results, "honest": honest_lines}, indent=2))
    else:
        print(format_report(results["gold"], results["squad"]))
        if honest_lines:
            print()
            print("\n".join(honest_lines))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .serve.app import serve

    _cross_encoder_switch(args)
    where = _where(args)
    serve(
        index_path=where,
        host=args.host,
        port=args.port,
        workspace=args.workspace,
        read_only=args.read_only or bool(args.store),
        mcp=args.mcp,
        allowed_hosts=args.allowed_host,
        private_urls=args.allow_private_urls,
    )
    return 0


def _configure_logging(verbose: int = 0) -> None:
    """citeqa's own lines at INFO on stderr; libraries at WARNING unless ``-v`` (INFO) or ``-vv`` (DEBUG)."""
    logger = logging.getLogger("citeqa")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
    library_level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    for handler in root.handlers:
        # The handler's level, not only the loggers': bm25s sets DEBUG on its logger when it
        # is first imported, which happens after this runs.
        handler.setLevel(library_level)
        handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s: %(message)s"))
    root.setLevel(library_level)
    for name in NOISY_LOGGERS + RESTATING_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR if verbose == 0 and name in RESTATING_LOGGERS else library_level)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (see :data:`EXIT_CODES`)."""
    args, unknown = _parser().parse_known_args(argv)
    if unknown:  # "citeqa build x.txt -o idx": build's usage names --index, the top-level one no option
        args.usage_of.error(f"unrecognized arguments: {' '.join(unknown)}")
    # no default: set on the shared -v action, a command's 0 overwrote "citeqa -vv build"'s 2
    _configure_logging(getattr(args, "verbose", 0))
    handlers = {"ask": _ask, "build": _build, "eval": _eval, "serve": _serve}
    try:
        return handlers[args.command](args)
    except CiteqaError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # e.g. piped into `head`
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback, unless asked
        if os.environ.get("CITEQA_DEBUG"):
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc} (set CITEQA_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
