"""A class on one server: N students' Morph pages at once, as protocol clients and as real Chromium pages.

Setting (issue 13): ``rbm-explorer serve`` with the flags the README recommends for a class, on this machine.
Students arrive a fifth of a second apart, each page opens the Morph page (64 chains of the bundled MNIST 0/1
released model, 784 x 400, at its default 40 sweeps per second) and clicks "Flip unit 0" every few seconds,
at its own moments.

* **Protocol sessions** (``tests/protocol_client.py``): a client that sends what the page sends - the session's
  HTTP request with its ``rbm_explorer_id`` cookie, ``document_ready``, an acknowledgement of every grid
  frame (the page's flow control), button clicks and the tab's visibility. All N run in this one process,
  which lowers its own priority (``nice 19``) so that the server keeps the CPU; its CPU is reported. For
  each N: frames received per session per second (median and 10th percentile), flip-to-frame latency (median
  and 90th percentile over every flip in the window), the server's CPU (cores, all its processes) and RSS,
  errors (pages and server log) and refused sessions.
* **Chromium pages**: N headless Debian Chromium pages, each in its own browser context, on the same 2 cores
  as the server. For each N: painted grid frames per second per page (median, min) and the browser's CPU.

Each N gets a fresh server, warmed by one page that waits for the class judge and leaves. Usage::

    python benchmarks/classroom.py [--sessions 1,10,20,30] [--browsers 1,5,10] [--seconds 30]
                                   [--server-args "--num-procs 2"] [--nice 19] [--no-save]
    python benchmarks/classroom.py --soak 100      # the soak test's full form

The last stdout line is a JSON object; a full run saves it under ``benchmarks/results/`` and rewrites the
classroom table in README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import shlex
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from protocol_client import ProtocolPage  # noqa: E402
from server_process import ServedProcess, descendants, tree_cpu_seconds  # noqa: E402

RECOMMENDED = "--num-procs 2"  # the README's flags for a class on a 2-core server
ARRIVAL_S = 0.2  # between two students' arrivals
FLIP_EVERY_S = 4.0  # each page clicks Flip about this often, at random moments


def keep_server_log(server: ServedProcess, name: str) -> None:
    """Copy the server's log to test-artifacts/ when it holds an error: the log goes when the server stops."""
    if server.log_problems():
        folder = HERE.parent / "test-artifacts"
        folder.mkdir(exist_ok=True)
        (folder / f"classroom_{name}.log").write_text(server.log_text())


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def warm(url: str) -> None:
    """One page that waits for the class judge's first shares, then leaves (the teacher's demo)."""
    page = ProtocolPage(url)
    await page.open()
    deadline = time.perf_counter() + 180
    while time.perf_counter() < deadline and not page.judged:
        await asyncio.sleep(0.2)
    await page.close()


async def protocol_class(url: str, n: int, seconds: float, server: ServedProcess) -> dict:
    pages = [ProtocolPage(url) for _ in range(n)]

    async def arrive(k, page):
        await asyncio.sleep(k * ARRIVAL_S)
        try:
            await page.open()
        except Exception as exc:  # noqa: BLE001 - a failed open is a measured error
            page.errors.append(f"open failed: {type(exc).__name__}: {exc}")

    await asyncio.gather(*(arrive(k, p) for k, p in enumerate(pages)))
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline and not all(len(p.frames) >= 5 or p.refused or p.errors for p in pages):
        await asyncio.sleep(0.2)
    await asyncio.sleep(3.0)  # every page past its first frames

    rng = random.Random(n)
    stop = asyncio.Event()

    async def student(page):
        await asyncio.sleep(rng.uniform(0, FLIP_EVERY_S))
        while not stop.is_set() and page.live:
            await page.flip()
            await asyncio.sleep(rng.uniform(0.5, 1.5) * FLIP_EVERY_S)

    for p in pages:
        p.flips.clear()
    cpu0, client0, t0 = server.cpu_seconds(), self_cpu_seconds(), time.perf_counter()
    tasks = [asyncio.ensure_future(student(p)) for p in pages if p.live]
    await asyncio.sleep(seconds)
    t1 = time.perf_counter()
    cpu1, client1 = server.cpu_seconds(), self_cpu_seconds()
    stop.set()
    rss = server.rss_bytes()
    await asyncio.gather(*tasks, return_exceptions=True)
    rates = [p.frames_between(t0, t1) / (t1 - t0) for p in pages if not p.refused]
    sweeps = [p.rate for p in pages if p.rate is not None and not p.refused]
    flips = [f for p in pages for f in p.flips]
    for p in pages:
        await p.close()
    errors = [e for p in pages for e in p.errors]
    return {
        "sessions": n,
        "frames_per_s_median": round(float(np.median(rates)), 1) if rates else 0.0,
        "frames_per_s_p10": round(float(np.percentile(rates, 10)), 1) if rates else 0.0,
        "flip_ms_median": round(1000 * float(np.median(flips)), 0) if flips else None,
        "flip_ms_p90": round(1000 * float(np.percentile(flips, 90)), 0) if flips else None,
        "flips": len(flips),
        "sweeps_per_s_median": round(float(np.median(sweeps)), 1) if sweeps else None,
        "server_cores": round((cpu1 - cpu0) / (t1 - t0), 2),
        "server_rss_mb": round(rss / 2**20),
        "client_cores": round((client1 - client0) / (t1 - t0), 2),
        "errors": len(errors) + len(server.log_problems()),
        "error_examples": (errors + server.log_problems())[:3],
        "refused": sum(p.refused for p in pages),
    }


def chromium_class(url: str, n: int, seconds: float, server: ServedProcess) -> dict:
    from playwright.sync_api import sync_playwright

    from browser_support import CHROMIUM, CHROMIUM_ARGS, LOCAL_HOSTS, count_chain_paints, wait_until

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            pages = []
            problems, foreign = [], []
            for _ in range(n):
                page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                page.on("pageerror", lambda exc: problems.append(str(exc)))
                page.on("request", lambda request: foreign.append(request.url)
                        if (urlparse(request.url).hostname or "") not in LOCAL_HOSTS
                        and not request.url.startswith(("data:", "blob:", "about:")) else None)
                page.goto(url)
                pages.append(page)
                time.sleep(ARRIVAL_S)
            for k, page in enumerate(pages):
                try:
                    wait_until(lambda page=page: page.locator(".morph-grid canvas").count() > 0, 180, what="the grid")
                except TimeoutError:  # a measured error: the page and the server log say why
                    shot = HERE.parent / "test-artifacts" / f"classroom_no_grid_{n}_{k}.png"
                    shot.parent.mkdir(exist_ok=True)
                    page.screenshot(path=str(shot))
                    problems.append(f"page {k} showed no grid in 180 s (screenshot {shot.name})")
                page.evaluate(count_chain_paints("__class"))
            time.sleep(3.0)
            server_pids = set(server.pids)
            browser_pids = [p for p in descendants(os.getpid()) if p not in server_pids and p != os.getpid()]
            starts = [page.evaluate("() => performance.now()") for page in pages]
            cpu0, scpu0, t0 = tree_cpu_seconds(browser_pids), server.cpu_seconds(), time.perf_counter()
            time.sleep(seconds)
            t1 = time.perf_counter()
            cpu1, scpu1 = tree_cpu_seconds(browser_pids), server.cpu_seconds()
            rates = []
            for page, start in zip(pages, starts):
                frames = page.evaluate("(s) => window.__class.frames.filter(t => t >= s).length", start)
                rates.append(frames / (t1 - t0))
        finally:
            browser.close()
    return {
        "pages": n,
        "painted_per_s_median": round(float(np.median(rates)), 1),
        "painted_per_s_min": round(float(np.min(rates)), 1),
        "browser_cores": round((cpu1 - cpu0) / (t1 - t0), 2),
        "server_cores": round((scpu1 - scpu0) / (t1 - t0), 2),
        "errors": len(problems) + len(server.log_problems()),
        "error_examples": (problems + server.log_problems())[:3],
        "foreign_requests": len(foreign),
        "foreign_examples": sorted(set(foreign))[:5],
    }


def soak(n: int, at_once: int, server_args: list[str]) -> dict:
    """The soak test's full form: ``n`` protocol sessions opened, used and closed ``at_once`` at a time (the
    suite's short form is ``tests/test_soak.py``). Returns the health counts once all are destroyed, the RSS
    after the first 10 and at the end, and every error."""
    from test_soak import batch, settled

    from browser_support import wait_until

    errors, baseline = [], None
    with ServedProcess([*server_args, "--session-lifetime-ms", "1000"]) as server:
        for start in range(0, n, at_once):
            errors += asyncio.run(batch(server.url, min(at_once, n - start)))
            if baseline is None and start + at_once >= 10:
                wait_until(lambda: settled(server), 120, what="the first sessions to be destroyed")
                baseline = server.rss_bytes()
            print(f"soak: {start + at_once} sessions, {len(errors)} errors, RSS {server.rss_bytes() / 2**20:.0f} MB",
                  flush=True)
        wait_until(lambda: settled(server), 120, what="every session destroyed")
        final = server.rss_bytes()
        return {"sessions": n, "live_at_end": server.live_totals(), "errors": errors[:5] + server.log_problems()[:5],
                "rss_after_10_mb": round(baseline / 2**20), "rss_end_mb": round(final / 2**20),
                "rss_ratio": round(final / baseline, 3)}


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()}


def run(args) -> dict:
    os.nice(args.nice)  # the clients yield to the server; their CPU is reported
    server_args = shlex.split(args.server_args)
    result = {"machine": machine(), "server_args": args.server_args, "seconds": args.seconds, "nice": args.nice,
              "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "protocol": [], "chromium": []}
    for n in args.sessions:
        with ServedProcess(server_args) as server:
            asyncio.run(warm(server.url))
            row = asyncio.run(protocol_class(server.url, n, args.seconds, server))
            keep_server_log(server, f"protocol_{n}")
        print(json.dumps(row), flush=True)
        result["protocol"].append(row)
    for n in args.browsers:
        with ServedProcess(server_args) as server:
            asyncio.run(warm(server.url))
            row = chromium_class(server.url, n, args.seconds, server)
            keep_server_log(server, f"chromium_{n}")
        print(json.dumps(row), flush=True)
        result["chromium"].append(row)
    return result


def table(result: dict) -> str:
    m = result["machine"]
    lines = ["| protocol sessions | frames/s per session, median / p10 | flip -> frame, median / p90 | sweeps/s per "
             "session | server CPU (cores) / RSS | client CPU (cores) | errors | refused |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["protocol"]:
        lines.append(f"| {r['sessions']} | {r['frames_per_s_median']} / {r['frames_per_s_p10']} | "
                     f"{r['flip_ms_median']:.0f} / {r['flip_ms_p90']:.0f} ms ({r['flips']} flips) | "
                     f"{r['sweeps_per_s_median']} | "
                     f"{r['server_cores']} / {r['server_rss_mb']} MB | {r['client_cores']} | {r['errors']} | "
                     f"{r['refused']} |")
    lines += ["", "| Chromium pages | painted frames/s per page, median / min | browser CPU (cores) | server CPU "
              "(cores) | errors |", "|---|---|---|---|---|"]
    for r in result["chromium"]:
        lines.append(f"| {r['pages']} | {r['painted_per_s_median']} / {r['painted_per_s_min']} | "
                     f"{r['browser_cores']} | {r['server_cores']} | {r['errors']} |")
    lines += ["", f"Server flags `{result['server_args']}`; clients at nice {result.get('nice', 19)}; "
              f"{result['seconds']} s measured per row; {m['cpu']}, "
              f"{m['cores']} cores, Python {m['python']}; {result['when']}."]
    return "\n".join(lines)


def save(result: dict) -> None:
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"classroom-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(result, indent=1))
    readme = HERE / "README.md"
    text = readme.read_text()
    start, end = "<!-- classroom-table:start -->", "<!-- classroom-table:end -->"
    block = f"{start}\n{table(result)}\n{end}"
    if start in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text += f"\n## A class on one server (`benchmarks/classroom.py`)\n\n{block}\n"
    readme.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    numbers = lambda text: [int(x) for x in text.split(",") if x.strip()]  # noqa: E731
    parser.add_argument("--sessions", type=numbers, default=[1, 10, 20, 30])
    parser.add_argument("--browsers", type=numbers, default=[1, 5, 10])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--server-args", default=RECOMMENDED)
    parser.add_argument("--nice", type=int, default=19, help="the clients' niceness (default 19)")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--soak", type=int, default=0, metavar="N",
                        help="instead, the soak test: N protocol sessions opened, used and closed, 5 at a time")
    args = parser.parse_args()
    if args.soak:
        print(json.dumps(soak(args.soak, 5, shlex.split(args.server_args))))
        return
    result = run(args)
    print(table(result))
    if not args.no_save:
        save(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
