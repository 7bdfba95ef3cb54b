"""Real local servers for the widget's tests: a clinic's website and a cuttable network link.

The clinic's pages are served from their own port, i.e. another origin than the bot, as a
real clinic's website would be. `TcpProxy` stands between the browser and the bot so that
a test can drop the network under a live socket.io connection and bring it back.
"""

from __future__ import annotations

import asyncio
import html
import socket
import threading
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, Mapping

import socketio

from tests.support.chat import which_response
from tests.support.servers import ROOT, free_port

# as in credentials.yml
# the widget channel as registered in credentials.yml
WIDGET_CREDENTIALS = """\
rest:
bot.channels.widget.WidgetSocketIOInput:
  user_message_evt: user_uttered
  bot_message_evt: bot_uttered
  session_persistence: true
"""

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def clinic_page(script_src: str, title: str = "Demo clinic", **data: str) -> str:
    """A mock clinic page that embeds the widget with one script tag and `data-` attributes
    (`primary_color="#123"` is `data-primary-color`; `title_` is the widget's `data-title`)."""
    attributes = "".join(
        f' data-{name.rstrip("_").replace("_", "-")}="{html.escape(value)}"'
        for name, value in data.items()
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:serif;margin:0;padding:24px;background:#fbfaf7}"
        "div{display:flex;color:red}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>Hemifacial spasm treatment for patients from abroad.</p>"
        "<p><a href='/other'>Our doctors</a></p>"
        f"<script src='{html.escape(script_src)}'{attributes}></script>"
        "</body></html>"
    )


@dataclass
class Site:
    """A website on its own loopback port; `pages` maps a path to its HTML."""

    origin: str
    pages: dict[str, str] = field(default_factory=dict)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = site.pages.get(self.path.split("?")[0])
            body = (page or "not found").encode("utf-8")
            self.send_response(200 if page is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_site(pages: Mapping[str, str] | None = None) -> Iterator[Site]:
    port = free_port()
    site = Site(f"http://127.0.0.1:{port}", dict(pages or {}))
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(site))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


class TcpProxy:
    """Forwards a loopback port to another; `cut()` drops every connection and refuses new
    ones until `restore()`, as a lost network would."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._cut = False
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self._cut = True
        with self._lock:
            connections, self._connections = self._connections, []
        for sock in connections:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def restore(self) -> None:
        self._cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


class ThirdPartyWidget:
    """A socket.io client that speaks Rasa's protocol, from a page of `origin`."""

    def __init__(self, url: str, origin: str | None, transport: str = "websocket") -> None:
        self.url = url
        self.headers = {"Origin": origin} if origin else {}
        self.transport = transport
        self.client = socketio.AsyncClient(reconnection=False)
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.confirmed: asyncio.Queue[Any] = asyncio.Queue()
        self.session_id = ""
        self.client.on("bot_uttered", self.replies.put)
        self.client.on("session_confirm", self.confirmed.put)

    async def connect(self, session_id: Any = None) -> str:
        await self.client.connect(self.url, headers=self.headers, transports=[self.transport])
        await self.client.emit("session_request", {"session_id": session_id})
        self.session_id = await asyncio.wait_for(self.confirmed.get(), timeout=10)
        return self.session_id

    async def close(self) -> None:
        await self.client.disconnect()

    async def call(self, payload: Any) -> Any:
        """Emits `user_uttered` and returns the channel's acknowledgement."""
        return await self.client.call("user_uttered", payload, timeout=60)

    async def say(self, text: str, **extra: Any) -> list[tuple[str, str] | None]:
        """Sends a message; the (response, language) of each reply the bot sent for it."""
        ack = await self.call({"message": text, "session_id": self.session_id, **extra})
        assert ack == {"status": "ok"}
        replies = []
        while not self.replies.empty():  # the acknowledgement comes after the replies
            replies.append(which_response(self.replies.get_nowait().get("text", "")))
        return replies
