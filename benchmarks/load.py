"""Load test: 50 concurrent users against a real ``citeqa serve`` on loopback.

Starts the server (real model, real index) on a free port, measures a single-user
baseline in the same run, then drives ``--rounds`` rounds in which ``--users`` threads
each send ``--requests`` questions (chat and JSON endpoints, some of them bad input)
over raw HTTP, as a non-browser client would. A burst of simultaneous submissions
beyond the queue's size checks that overflow is rejected cleanly (HTTP 503 "queue
full"). After each round the server's RSS and thread count are sampled; at the end
the server must still answer normally.

Every request must be answered (a reply or a clear "Can't answer that" message) or
cleanly rejected; a 5xx other than queue-full 503, an error event or a timeout is a
failure. Exits 1 on any failure, when RSS grows more than --growth-limit from round 2 to the
last, or when the thread count exceeds its bound (after warm-up + anyio's pool of 40 + 8).

Usage::

    PYTHONPATH=src python benchmarks/load.py [--users 50] [--rounds 5] [--requests 4]

Bounded: every request times out after --timeout s, the whole run after --max-seconds s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
GOOD = [
    "When did the joint exercise take place?",
    "Where was the exercise held?",
    "What does the Shusha Declaration focus on?",
    "How many times has Erdogan visited Azerbaijan?",
    "What is the aim of the exercise?",
    "Who took part in the exercise?",
    "What happened to the targets of the imaginary enemy?",
    "Which agreement is the exercise held under?",
]
BAD = ["", "   ", "😀🔥", "\u200b\u202e", "x" * 200_000, "<script>alert(1)</script>"]
EXPECTED = "Lachin"
ANYIO_POOL = 40  # anyio's default thread limiter: Gradio runs sync handlers there  # appears in the answer to "Where was the exercise held?"


@dataclass(frozen=True)
class Result:
    """One request's outcome."""

    kind: str  # "answered", "clear_message", "rejected", "error"
    seconds: float
    detail: str = ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_stats(pid: int) -> tuple[float, int]:
    """(RSS in MB, thread count) of a process, from /proc."""
    rss_kb = threads = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
        elif line.startswith("Threads:"):
            threads = int(line.split()[1])
    return rss_kb / 1024, threads


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of ``values`` (nearest rank); nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def submit(client: httpx.Client, url: str, api: str, question: str) -> tuple[int, str]:
    """POST a question; returns (status, event_id or error text)."""
    data = [question, None] if api == "chat" else [question]  # /chat takes (message, history)
    response = client.post(f"{url}/gradio_api/call/{api}", content=json.dumps({"data": data}),
                           headers={"Content-Type": "application/json"})
    if response.status_code == 200:
        return 200, response.json()["event_id"]
    return response.status_code, response.text[:200]


def fetch(client: httpx.Client, url: str, api: str, event_id: str) -> tuple[str, object]:
    """Read the result stream of a submitted event; returns (event, data)."""
    response = client.get(f"{url}/gradio_api/call/{api}/{event_id}")
    event, data = f"http {response.status_code}", None
    for line in response.text.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            try:
                data = json.loads(line.split(":", 1)[1])
            except json.JSONDecodeError:
                data = line
    return event, data


def classify(api: str, event: str, data: object) -> tuple[str, str]:
    """Sort a finished event into answered / clear_message / error."""
    if event != "complete" or not isinstance(data, list) or not data:
        return "error", f"{event}: {str(data)[:200]}"
    value = data[0]
    if api == "chat" and isinstance(value, str):
        if "Can't answer that" in value:
            return "clear_message", ""
        if "Sources" in value or "Closest passages" in value:
            return "answered", ""
    if api == "answer" and isinstance(value, dict):
        if "error" in value:
            return "clear_message", ""
        if "citations" in value:
            return "answered", ""
    return "error", f"unexpected reply: {str(value)[:200]}"


def ask(client: httpx.Client, url: str, api: str, question: str) -> Result:
    started = time.monotonic()
    try:
        status, event_id = submit(client, url, api, question)
        if status == 503:
            return Result("rejected", time.monotonic() - started, event_id)
        if status != 200:
            return Result("error", time.monotonic() - started, f"HTTP {status}: {event_id}")
        event, data = fetch(client, url, api, event_id)
    except httpx.HTTPError as exc:
        return Result("error", time.monotonic() - started, f"{type(exc).__name__}: {exc}")
    kind, detail = classify(api, event, data)
    return Result(kind, time.monotonic() - started, detail)


def run_round(url: str, users: int, requests: int, timeout: float, seed: int) -> tuple[list[Result], float]:
    """``users`` threads, each sending ``requests`` questions one after another."""
    results: list[Result] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(users)

    def user(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        with httpx.Client(timeout=timeout) as client:
            start_gate.wait()
            for _ in range(requests):
                question = rng.choice(BAD) if rng.random() < 0.15 else rng.choice(GOOD)
                result = ask(client, url, rng.choice(["chat", "answer"]), question)
                with lock:
                    results.append(result)

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(users)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout * requests + 30)
    return results, time.monotonic() - started


def burst(url: str, size: int, timeout: float) -> Counter[str]:
    """Submit ``size`` questions at once (more than the queue holds), then collect them."""
    statuses: list[tuple[int, str]] = []
    lock = threading.Lock()
    gate = threading.Barrier(size)

    def one() -> None:
        with httpx.Client(timeout=timeout) as client:
            gate.wait()
            try:
                outcome = submit(client, url, "answer", random.choice(GOOD))
            except httpx.HTTPError as exc:
                outcome = (0, str(exc))
            with lock:
                statuses.append(outcome)

    threads = [threading.Thread(target=one, daemon=True) for _ in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout + 30)
    counts: Counter[str] = Counter()
    with httpx.Client(timeout=timeout) as client:
        for status, event_id in statuses:
            if status == 200:
                kind, _ = classify("answer", *fetch(client, url, "answer", event_id))
                counts[kind] += 1
            elif status == 503 and "queue" in event_id.lower():
                counts["rejected (503 queue full)"] += 1
            else:
                counts[f"error HTTP {status}"] += 1
    return counts


def start_server(index: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    env.setdefault("GRADIO_TEMP_DIR", tempfile.mkdtemp(prefix="citeqa-load-gradio-"))
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "citeqa", "serve", "--index", str(index), "--port", str(port)],
            env=env, stdout=handle, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/gradio_api/info", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not start in 180 s")


def summarize(results: Sequence[Result], wall: float) -> str:
    kinds = Counter(r.kind for r in results)
    served = [r.seconds for r in results if r.kind in ("answered", "clear_message")]
    return (
        f"{len(results)} requests: answered {kinds['answered']}, clear message {kinds['clear_message']}, "
        f"rejected {kinds['rejected']}, errors {kinds['error']}; "
        f"p50 {percentile(served, 0.5) * 1000:.0f} ms, p95 {percentile(served, 0.95) * 1000:.0f} ms, "
        f"throughput {len(served) / wall:.1f} req/s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=4, help="requests per user per round")
    parser.add_argument("--burst", type=int, default=150, help="simultaneous submissions in the overflow test (0: skip)")
    parser.add_argument("--index", type=Path, default=REPO / "index")
    parser.add_argument("--timeout", type=float, default=120.0, help="per request, seconds")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="whole run, seconds")
    parser.add_argument("--settle", type=float, default=12.0, help="idle seconds before sampling RSS/threads")
    parser.add_argument("--growth-limit", type=float, default=0.10, help="allowed RSS growth from round 2 to the last")
    args = parser.parse_args(argv)
    for name in ("users", "rounds", "requests"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")

    run_deadline = time.monotonic() + args.max_seconds
    port = _free_port()
    log = Path(tempfile.mkdtemp(prefix="citeqa-load-")) / "server.log"
    server = start_server(args.index, port, log)
    url = f"http://127.0.0.1:{port}"
    failures: list[str] = []
    try:
        rss, threads = proc_stats(server.pid)
        print(f"server pid {server.pid} on {url}: started with RSS {rss:.0f} MB, {threads} threads")
        with httpx.Client(timeout=args.timeout) as client:
            ask(client, url, "answer", GOOD[0])  # warm-up: the model loads on first use
            baseline = [ask(client, url, api, q) for q in GOOD for api in ("answer", "chat")]
        base_wall = sum(r.seconds for r in baseline)
        warm_threads = proc_stats(server.pid)[1]
        print(f"baseline (1 user, sequential): {summarize(baseline, base_wall)}")
        failures += [f"baseline: {r.detail}" for r in baseline if r.kind == "error"]

        samples: list[tuple[float, int]] = []
        all_results: list[Result] = []
        total_wall = 0.0
        for number in range(1, args.rounds + 1):
            if time.monotonic() > run_deadline:
                failures.append(f"stopped after {number - 1} rounds: --max-seconds reached")
                break
            results, wall = run_round(url, args.users, args.requests, args.timeout, seed=number)
            all_results += results
            total_wall += wall
            if len(results) != args.users * args.requests:
                failures.append(f"round {number}: {args.users * args.requests - len(results)} requests never finished")
            failures += [f"round {number}: {r.detail}" for r in results if r.kind == "error"][:5]
            time.sleep(args.settle)  # idle worker threads retire; sample the steady state
            rss, threads = proc_stats(server.pid)
            samples.append((rss, threads))
            print(f"round {number} ({args.users} users): {summarize(results, wall)}; server RSS {rss:.0f} MB, {threads} threads")

        if args.burst and time.monotonic() < run_deadline:
            counts = burst(url, args.burst, args.timeout)
            print(f"burst of {args.burst} simultaneous submissions: {dict(counts)}")
            failures += [f"burst: {k} x{v}" for k, v in counts.items() if k.startswith("error")]
            rss, threads = proc_stats(server.pid)
            print(f"after the burst: server RSS {rss:.0f} MB, {threads} threads")

        with httpx.Client(timeout=args.timeout) as client:
            status, event_id = submit(client, url, "answer", "Where is the military drill being held?")
            event, data = fetch(client, url, "answer", event_id) if status == 200 else ("", None)
        normal = event == "complete" and isinstance(data, list) and any(
            EXPECTED in c["text"] for c in data[0].get("citations", [])
        )
        print(f"afterwards the server answers normally: {normal}")
        if not normal:
            failures.append(f"after the load: {event} {str(data)[:200]}")

        served = [r.seconds for r in all_results if r.kind in ("answered", "clear_message")]
        base_p50 = percentile([r.seconds for r in baseline], 0.5)
        print(
            f"\nall rounds: {summarize(all_results, total_wall)}; "
            f"p50 under load / single-user p50 = {percentile(served, 0.5) / base_p50:.1f}x"
        )
        if len(samples) >= 3:
            first_rss, first_threads = samples[1]  # round 1 includes one-off warm-up allocations
            last_rss, last_threads = samples[-1]
            growth = (last_rss - first_rss) / first_rss
            print(
                f"RSS round 2 -> {len(samples)}: {first_rss:.0f} -> {last_rss:.0f} MB ({growth:+.1%}); "
                f"threads {first_threads} -> {last_threads}; per round: {[round(s[0]) for s in samples]} MB, "
                f"{[s[1] for s in samples]} threads"
            )
            if growth > args.growth_limit:
                failures.append(f"RSS grew {growth:+.1%} from round 2 to {len(samples)}")
            # Idle worker threads come and go (anyio's pool of at most 40), so samples are
            # noisy; a leak (a thread per request or per round) would blow through the bound.
            bound = warm_threads + ANYIO_POOL + 8
            peak = max(t for _, t in samples)
            print(f"thread peak {peak}, bound {bound} (after warm-up {warm_threads} + anyio pool {ANYIO_POOL} + 8)")
            if peak > bound:
                failures.append(f"threads reached {peak}, over the bound {bound}")
        log_text = log.read_text(errors="replace")
        if "Traceback" in log_text:
            failures.append("the server log has a traceback: " + log_text[log_text.index("Traceback"):][:500])
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    for failure in failures:
        print(f"FAIL: {failure}")
    print("OK" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
