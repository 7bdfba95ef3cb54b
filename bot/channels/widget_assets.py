"""The website widget's files, read once at start-up and served by the bot itself.

`widget.js` as served is one file built from plain sources in `bot/widget/` (no build
step): the vendored socket.io client, the stylesheet and the labels, and the widget. The
socket.io client runs in its own scope so that it neither overwrites a clinic page's own
`window.io` nor registers itself with the page's AMD loader.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

WIDGET_DIR: Final[Path] = Path(__file__).resolve().parent.parent / "widget"
SOCKET_IO_CLIENT: Final[Path] = WIDGET_DIR / "vendor" / "socket.io.min.js"
_SOURCE_MAP_COMMENT = "//# sourceMappingURL="


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    content_type: str
    etag: str


def _asset(text: str, content_type: str) -> Asset:
    body = text.encode("utf-8")
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Asset(body, gzip.compress(body, mtime=0), content_type, etag)


def _read(name: str) -> str:
    return (WIDGET_DIR / name).read_text(encoding="utf-8")


def _without_source_map(script: str) -> str:
    return "\n".join(
        line for line in script.splitlines() if not line.startswith(_SOURCE_MAP_COMMENT)
    )


def labels() -> dict[str, dict[str, str]]:
    """The widget's own labels per language (`bot/widget/labels.json`)."""
    return dict(json.loads(_read("labels.json")))


def bundle_script() -> str:
    """socket.io client + stylesheet + labels + widget, as one script for one tag."""
    client = _without_source_map(SOCKET_IO_CLIENT.read_text(encoding="utf-8"))
    return "\n".join(
        [
            "/* Hemifacial spasm assistant: website widget. Includes the socket.io client",
            " * (MIT licence, /widget/vendor/socket.io-client.LICENSE). */",
            "(function () {",
            "var vendor = {};",
            # the client's UMD header assigns `globalThis.io`: give it our own object instead
            "(function (globalThis, define, module, exports) {",
            client,
            "}).call(vendor, vendor);",
            _read("widget.js"),
            f"startHfsWidget(vendor.io, document.currentScript, {json.dumps(_read('widget.css'))}, "
            f"{json.dumps(labels(), ensure_ascii=False)});",
            "})();",
            "",
        ]
    )


@lru_cache(maxsize=1)
def widget_assets() -> dict[str, Asset]:
    """Every file served under `/widget/`, by name."""
    return {
        "widget.js": _asset(bundle_script(), "application/javascript; charset=utf-8"),
        "widget.css": _asset(_read("widget.css"), "text/css; charset=utf-8"),
        "demo.html": _asset(_read("demo.html"), "text/html; charset=utf-8"),
        "vendor/socket.io-client.LICENSE": _asset(
            _read("vendor/socket.io-client.LICENSE"), "text/plain; charset=utf-8"
        ),
    }
