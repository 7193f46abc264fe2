"""Serving: the state and links for an inbox, and the waitress server (pure Python threads: Windows too).

Waitress answers a few requests itself, before the application runs (a body over the limit told by its
Content-Length, a malformed request): its error task is replaced so that those answers are the
application's Vietnamese error page, with the same headers, instead of English plain text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

from ..core.registry import Registry, ReportSettings
from .links import clerk_url, default_base_url, write_links
from .pages import body_limit, create_app, page_headers, prepared_error_pages
from .state import ServerState
from .uploads import Place, sweep_leftovers

THREADS = 8  # requests served at once; the checks themselves are bounded by Place.checks_at_once
OPEN_HOSTS = ("0.0.0.0", "::", "")
WAITRESS_ERRORS = (400, 413, 431, 500, 501)  # what waitress answers itself, before the application runs


class QueueInVietnamese(logging.Filter):
    """Waitress's "Task queue depth is N" (more requests than threads: normal on the last day) as the clerk's
    terminal says it, not as an English warning that looks like a failure."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Task queue depth is %d" and record.args:
            record.msg = "Máy chủ đang bận: %d yêu cầu đang chờ đến lượt (các đơn vị chỉ phải chờ thêm một chút)."
        return True


class VietnameseErrorTask(ErrorTask):
    """Waitress's own refusals (a body over the limit told by its Content-Length, a malformed request) as the
    application's Vietnamese error page, with its headers, instead of English plain text."""

    def execute(self) -> None:
        pages, nonce = getattr(self.channel.server, "vietnamese_errors", ({}, ""))
        error = self.request.error
        body = pages.get(error.code) or pages.get(500)
        if body is None:  # a server made without the pages: waitress's own text
            super().execute()
            return
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", "text/html; charset=utf-8"), *page_headers(nonce)])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class VietnameseChannel(HTTPChannel):
    error_task_class = VietnameseErrorTask


@dataclass
class Opened:
    """What ``open_inbox`` made ready: where things go, the links file, the clerk's link."""

    place: Place
    links: Path
    clerk: str
    base_url: str


def open_inbox(inbox: Path, out: Path, registry: Registry, settings: ReportSettings,
               base_url: str | None = None) -> Opened:
    """The server's state in ``out`` (made at first start, kept after), every unit's link written to the links file;
    without ``base_url``, the one the links were last written with."""
    out.mkdir(parents=True, exist_ok=True)
    state = ServerState(out)
    base = (base_url or state.base_url() or default_base_url()).rstrip("/")
    links = write_links(registry, state, out, base)
    state.set_base_url(base)
    place = Place(inbox=inbox, out=out, registry=registry, settings=settings, state=state)
    sweep_leftovers(place)
    return Opened(place, links, clerk_url(base, state.clerk_token()), base)


def is_open_to_network(host: str) -> bool:
    return host in OPEN_HOSTS or not (host.startswith("127.") or host in ("localhost", "::1"))


def make_server(place: Place, host: str, port: int, threads: int = THREADS):
    """A waitress server for this place, listening now (OSError when the port is taken); ``.run()`` serves,
    ``.close()`` stops. Bodies over the limit are refused by waitress from their Content-Length, unread."""
    web = create_app(place)
    queue = logging.getLogger("waitress.queue")
    if not any(isinstance(f, QueueInVietnamese) for f in queue.filters):
        queue.filters.insert(0, QueueInVietnamese())  # before the token filter, which formats the message
    server = create_server(web, host=host, port=port, threads=threads,
                           max_request_body_size=body_limit(place), ident="consolidate", expose_tracebacks=False,
                           clear_untrusted_proxy_headers=True)
    errors = prepared_error_pages(web, WAITRESS_ERRORS)
    # one server per address listened on ("localhost" may be two); each answers its refusals in Vietnamese
    for listening in [server] if isinstance(server, BaseWSGIServer) else list(server.map.values()):
        if isinstance(listening, BaseWSGIServer):
            listening.channel_class = VietnameseChannel
            listening.vietnamese_errors = errors
    return server
