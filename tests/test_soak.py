"""The soak test, short form (issue 13): 20 protocol sessions opened, used and closed in turn on one server.

Each session is a ``ProtocolPage`` (``tests/protocol_client.py``): it opens the Morph page with its own cookie,
takes frames and acknowledges them, flips the released unit, hides and shows its tab, and leaves. The server
runs with ``--session-lifetime-ms 1000``, so a closed session is destroyed a second or two later. After all of
them are gone the server's health log (``rbm_explorer.app.health``) must show zero sessions, documents, Gibbs
engines and pool tasks; the log must hold no error; and the server's memory must be at most 1.2 times what it
was once the first 10 sessions were gone (the full form, 100 sessions, is ``benchmarks/classroom.py --soak``).
"""

import asyncio

from protocol_client import ProtocolPage
from server_process import ServedProcess
from browser_support import wait_until

SESSIONS, AT_ONCE = 20, 5
ZERO = {"sessions": 0, "documents": 0, "engines": 0, "pool_tasks": 0, "training_runs": 0}


async def use_and_close(url: str) -> list[str]:
    """One student: open, take frames, flip, hide and show the tab, leave. Returns the page's errors."""
    page = ProtocolPage(url)
    try:
        await page.open()
        for condition in (lambda: len(page.frames) >= 3, lambda: page.released is not None):
            for _ in range(600):
                if condition() or page.errors:
                    break
                await asyncio.sleep(0.1)
        await page.flip()
        seen = len(page.frames)
        for _ in range(300):
            if page.flips or page.errors:
                break
            await asyncio.sleep(0.1)
        await page.set_visible(False)
        await asyncio.sleep(0.3)
        await page.set_visible(True)
        if not page.flips:
            page.errors.append(f"the flip never showed ({len(page.frames) - seen} frames after it)")
    except Exception as exc:  # noqa: BLE001 - reported as the page's error
        page.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        await page.close()
    return page.errors


async def batch(url: str, n: int) -> list[str]:
    results = await asyncio.gather(*(use_and_close(url) for _ in range(n)))
    return [e for errors in results for e in errors]


def settled(server: ServedProcess) -> bool:
    totals = server.live_totals()
    return bool(totals) and all(totals.get(key) == 0 for key in ZERO)


def test_sessions_opened_used_and_closed_leave_nothing_behind():
    with ServedProcess(["--session-lifetime-ms", "1000"]) as server:
        errors, baseline = [], None
        for start in range(0, SESSIONS, AT_ONCE):
            errors += asyncio.run(batch(server.url, AT_ONCE))
            if start + AT_ONCE == SESSIONS // 2:
                wait_until(lambda: settled(server), 60, what="the first 10 sessions to be destroyed")
                baseline = server.rss_bytes()
        assert not errors, errors[:5]
        wait_until(lambda: settled(server), 60, what=f"every session destroyed: {server.live_totals()}")
        final = server.rss_bytes()
        assert server.live_totals() == ZERO
        problems = server.log_problems()
        assert not problems, problems[:10]
        print(f"RSS after 10 sessions {baseline / 2**20:.0f} MB, after {SESSIONS}: {final / 2**20:.0f} MB")
        assert final <= 1.2 * baseline, (final, baseline)
