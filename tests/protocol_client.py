"""A page of the explorer without a browser: a Bokeh-protocol client that sends what the Morph page sends.

The load test (``benchmarks/classroom.py``) and the soak test (``tests/test_soak.py``) open many of these on one
served app. Each ``ProtocolPage``:

* loads the page over HTTP (with its ``rbm_explorer_id`` cookie), as a browser does, and takes the session
  token from the HTML;
* opens the session's websocket, pulls the document and reports ``document_ready``, which builds the first page
  (``pn.state.onload``);
* keeps a table of every model the server describes (the Morph page arrives in patches after the first
  document), so that it can address the chain grid's data source, the status line, the "Flip unit 0" button and
  the tab-visibility reporter by their ids;
* takes the frames of the grid and the status line's text from the messages their components are pushed
  (``MessageSent`` events named ``esm_event``);
* reports the grid frames it has received the way the page reports the frames it has drawn (the ``tags``
  of the grid's model, at most every ``PAINT_REPORT_MS``), so that the server's flow control sees a page
  that keeps up;
* can click a button, hide or show the tab, and measure the time from a click on Flip to the first grid frame
  whose status line shows the unit's new state (the same server message carries both).

What the page sends was read off a real page's websocket in headless Chromium: ``PULL-DOC-REQ``, then
``PATCH-DOC`` messages whose events are ``ModelChanged`` (``tags`` of the grid, ``tab_visible``) and
``MessageSent`` ``bokeh_event`` (``document_ready``, ``button_click``). The browser also sends its trace plots'
auto-ranges and layout sizes; those do not change what the server does per frame and are left out.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid

from rbm_explorer.app.live_components import PAINT_REPORT_MS

TOKEN = re.compile(r'"token":\s*"([^"]+)"')
RATE = re.compile(r"Rate</b>\s*([\d,.]+)\s*sweeps/s")
RELEASED_0 = re.compile(r"Released</b>\s*\d+:\s*(on|off|free)")


def _objects(node, found: dict) -> None:
    """Every Bokeh model described anywhere in a decoded message: id -> (type name, attributes)."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "id" in node:
            entry = found.setdefault(node["id"], [node.get("name"), {}])
            entry[1].update(node.get("attributes") or {})
        for value in node.values():
            _objects(value, found)
    elif isinstance(node, list):
        for value in node:
            _objects(value, found)


def _map_entries(value) -> dict:
    """A serialized Bokeh map ({"type": "map", "entries": [[key, value], ...]}) as a dict."""
    if isinstance(value, dict) and value.get("type") == "map":
        return {k: v for k, v in value.get("entries", [])}
    return value if isinstance(value, dict) else {}


class ProtocolPage:
    """One student's page, driven over the Bokeh server protocol (see the module docstring)."""

    def __init__(self, base_url: str, app: str = "explorer", identity: str | None = None):
        self.base_url, self.app = base_url.rstrip("/"), app
        self.identity = identity or uuid.uuid4().hex
        self.models: dict[str, list] = {}
        self.frames: list[tuple[float, int]] = []  # (arrival time, frame number) of each grid frame
        self.flips: list[float] = []  # seconds from a click on Flip to the first frame showing it
        self.errors: list[str] = []
        self.refused = False
        self.released = None  # released unit 0's state, as the status line shows it
        self.judged = False  # the status line has shown the class judge's shares
        self.rate = None  # sweeps per second, as the status line shows it
        self.closed = False
        self._grid = None  # the model of the grid (ChainCanvas), whose tags report painted frames
        self._received = self._reported = -1  # the last frame received, and the last one reported painted
        self._reported_at = -1e9
        self._report_later = None
        self._pending_flip = None  # (click time, state before)
        self._ws = None
        self._reader = None

    # --- connection --------------------------------------------------------------------------------------
    async def open(self, timeout: float = 120.0) -> None:
        from tornado.httpclient import AsyncHTTPClient, HTTPRequest
        from tornado.websocket import websocket_connect

        headers = {"Cookie": f"rbm_explorer_id={self.identity}"}
        response = await AsyncHTTPClient().fetch(HTTPRequest(f"{self.base_url}/{self.app}", headers=headers,
                                                             request_timeout=timeout))
        match = TOKEN.search(response.body.decode(errors="replace"))
        if match is None:
            raise RuntimeError("no session token in the page's HTML")
        ws_url = self.base_url.replace("http", "ws", 1) + f"/{self.app}/ws"
        self._ws = await websocket_connect(HTTPRequest(ws_url, headers=headers, request_timeout=timeout),
                                           subprotocols=["bokeh", match.group(1)], max_message_size=1 << 28)
        loop = asyncio.get_running_loop()
        self._acked, self._reply = loop.create_future(), loop.create_future()
        self._reader = asyncio.ensure_future(self._read())
        # the server takes messages once it has acknowledged the connection (earlier ones are lost)
        await asyncio.wait_for(self._acked, timeout)
        await self._send("PULL-DOC-REQ", {})
        await asyncio.wait_for(self._reply, timeout)
        await self._event("document_ready", {"type": "map"})

    async def close(self) -> None:
        self.closed = True
        if self._report_later is not None:
            self._report_later.cancel()
        if self._ws is not None:
            self._ws.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 10)
            except (asyncio.TimeoutError, Exception):
                self._reader.cancel()

    # --- sending -------------------------------------------------------------------------------------------
    async def _send(self, msgtype: str, content: dict) -> None:
        header = {"msgid": uuid.uuid4().hex.upper(), "msgtype": msgtype}
        # the three frames of a message are queued without a pause between them: a frame acknowledgement
        # written by the reader must never land inside another message
        writes = [self._ws.write_message(json.dumps(part)) for part in (header, {}, content)]
        await asyncio.gather(*writes)

    async def _patch(self, events: list) -> None:
        await self._send("PATCH-DOC", {"events": events})

    async def _event(self, name: str, values: dict) -> None:
        await self._patch([{"kind": "MessageSent", "msg_type": "bokeh_event",
                            "msg_data": {"type": "event", "name": name, "values": values}}])

    async def set_model(self, model_id: str, attr: str, value) -> None:
        await self._patch([{"kind": "ModelChanged", "model": {"id": model_id}, "attr": attr, "new": value}])

    def find(self, predicate) -> str | None:
        """The id of the last-described model whose (type name, attributes) satisfy ``predicate``."""
        found = None
        for model_id, (name, attributes) in self.models.items():
            if predicate(name or "", attributes):
                found = model_id
        return found

    async def click(self, label: str) -> None:
        button = self.find(lambda name, a: name.endswith("Button") and a.get("label") == label)
        if button is None:
            raise RuntimeError(f"no button {label!r} on the page")
        await self._event("button_click", {"type": "map", "entries": [["model", {"id": button}]]})

    async def flip(self) -> None:
        """Click "Flip unit 0"; the latency is recorded when a frame shows the unit's new state."""
        self._pending_flip = (time.perf_counter(), self.released)
        await self.click("Flip unit 0")

    async def set_visible(self, visible: bool) -> None:
        # the data model of the shell's TabVisibility component (its default value is not serialized)
        reporter = self.find(lambda name, a: name.startswith("TabVisibility"))
        if reporter is None:
            raise RuntimeError("no tab-visibility reporter on the page")
        await self.set_model(reporter, "tab_visible", bool(visible))

    # --- receiving -----------------------------------------------------------------------------------------
    async def _read(self) -> None:
        try:
            while True:
                header = await self._ws.read_message()
                if header is None:
                    break
                await self._ws.read_message()  # metadata
                content = await self._ws.read_message()
                header = json.loads(header)
                for _ in range(int(header.get("num_buffers", 0))):  # a buffer header, then its bytes
                    await self._ws.read_message()
                    await self._ws.read_message()
                await self._handle(header, json.loads(content))
        except Exception as exc:  # noqa: BLE001 - a page's failure is a measured error, not a crash of the client
            if not self.closed:
                self.errors.append(f"{type(exc).__name__}: {exc}")
        if not self.closed and not self.refused:
            self.errors.append("the server closed the websocket")

    async def _handle(self, header: dict, content: dict) -> None:
        kind = header.get("msgtype")
        if kind == "ERROR":
            self.errors.append(f"server error: {content.get('text', content)}"[:2000])
            return
        if kind == "ACK":
            if not self._acked.done():
                self._acked.set_result(True)
            return
        if kind == "PULL-DOC-REPLY":
            _objects(content, self.models)
            if not self._reply.done():
                self._reply.set_result(True)
            return
        if kind != "PATCH-DOC":
            return
        described: dict[str, list] = {}
        _objects(content, described)
        for model_id, (name, attributes) in described.items():
            self.models.setdefault(model_id, [name, {}])[1].update(attributes)
            if "server-full" in (attributes.get("css_classes") or []):
                self.refused = True
        now = time.perf_counter()
        frame, status_changed = None, False
        for event in content.get("events", []):
            kind = event.get("kind")
            if kind == "MessageSent" and (event.get("msg_data") or {}).get("name") == "esm_event":
                # what a pushed component (the grid, the status line) sends: {"model": ..., "data": {...}}
                values = _map_entries((event["msg_data"] or {}).get("values"))
                data = _map_entries(values.get("data"))
                if "frame" in data and "png" in data:
                    self._grid, frame = (values.get("model") or {}).get("id"), int(data["frame"])
                if "html" in data:
                    status_changed = self._status(str(data["html"])) or status_changed
            elif kind == "ModelChanged" and event.get("attr") == "html":
                status_changed = self._status(str(event.get("new"))) or status_changed
        if frame is not None:
            self.frames.append((now, frame))
        pending = self._pending_flip
        if pending is not None and self.released != pending[1]:
            # the grid and the status line of one server frame come as one message or as two in a row: the
            # flip is shown by a frame that arrived with the new status, or the first one after it
            last = self.frames[-1][0] if self.frames else -1.0
            if frame is not None or (status_changed and now - last < 0.005):
                self.flips.append(now - pending[0])
                self._pending_flip = None
        if frame is not None:
            self._received = frame
            await self._report()

    def _status(self, html: str) -> bool:
        """Read the status line's new text; whether released unit 0's state changed."""
        self.judged = self.judged or "Judge</b>" in html
        rate = RATE.search(html)
        if rate:
            self.rate = float(rate.group(1).replace(",", ""))
        match = RELEASED_0.search(html)
        if match is None:
            return False
        changed = match.group(1) != self.released
        self.released = match.group(1)
        return changed

    async def _report(self) -> None:
        """Report the last frame received as painted, at most once per ``PAINT_REPORT_MS``, as the page does."""
        if self._report_later is not None or self._reported == self._received or self.closed:
            return
        wait = self._reported_at + PAINT_REPORT_MS / 1000 - time.perf_counter()
        if wait > 0:
            async def later():
                await asyncio.sleep(wait)
                self._report_later = None
                await self._report()

            self._report_later = asyncio.ensure_future(later())
            return
        self._reported_at, self._reported = time.perf_counter(), self._received
        await self.set_model(self._grid, "tags", [self._received])

    # --- measures ------------------------------------------------------------------------------------------
    @property
    def live(self) -> bool:
        return bool(self.frames) and not self.refused

    def frames_between(self, start: float, end: float) -> int:
        return sum(1 for t, _ in self.frames if start <= t < end)
