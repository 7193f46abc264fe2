"""Serving: the state and links for an inbox, and the waitress server (pure Python threads: Windows too).

Waitress answers a few requests itself, before the application runs (a body over the limit told by its
Content-Length, a malformed request): its error task is replaced so that those answers are the
application's Vietnamese error page, with the same headers, instead of English plain text. What one
client may hold (connections per address, slow and idle requests) is bounded in connections.py; what
waitress says on the clerk's terminal about it, it says in Vietnamese.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, render_template
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

from ..core.registry import Registry, ReportSettings
from .connections import Admission, BoundedChannel, Limits, Said
from .links import clerk_url, default_base_url, write_links
from .pages import body_limit, create_app, csp_nonce, page_headers, prepared_error_pages
from .state import ServerState
from .uploads import Place, sweep_leftovers

THREADS = 8  # requests served at once; the checks themselves are bounded by Place.checks_at_once
OPEN_HOSTS = ("0.0.0.0", "::", "")
WAITRESS_ERRORS = (400, 413, 431, 500, 501)  # what waitress answers itself, before the application runs


# What waitress says on the clerk's terminal about its load, as the clerk reads it (its text → ours).
WAITRESS_SAYS = {
    # more requests than threads: normal on the last day, not a failure
    "Task queue depth is %d": "Máy chủ đang bận: %d yêu cầu đang chờ đến lượt (các đơn vị chỉ phải chờ thêm một chút).",
    "total open connections reached the connection limit, no longer accepting new connections":
        "Máy chủ đang giữ số kết nối tối đa cùng lúc: kết nối mới phải chờ đến khi có kết nối xong.",
    "total open connections dropped below the connection limit, listening again":
        "Máy chủ nhận kết nối mới trở lại.",
    "server accept() threw an exception":  # a client gone before its connection was taken: nothing lost
        "Một kết nối đóng trước khi máy chủ kịp nhận; bỏ qua.",
}
# Waitress's messages that carry their detail in the text itself (a path, which may hold a link's token)
# or come with a traceback: told by how they start.
WAITRESS_SAYS_START = {
    "Exception while serving ": "Một yêu cầu gặp lỗi trong máy chủ và đã được trả lời bằng trang báo lỗi; các báo cáo "
                                "đã nhận không bị ảnh hưởng.",
    "Exception when servicing ": "Một yêu cầu gặp lỗi trong máy chủ và đã được trả lời bằng trang báo lỗi; các "
                                 "báo cáo đã nhận không bị ảnh hưởng.",
    "Client disconnected while serving ": "Một trình duyệt đã đóng kết nối trước khi nhận xong trang; bỏ qua.",
    "Socket error": "Một kết nối bị ngắt giữa chừng (mạng chập chờn hoặc trình duyệt đã đóng); bỏ qua.",
    "Unexpected exception when flushing": "Một kết nối bị ngắt giữa chừng (mạng chập chờn hoặc trình duyệt đã "
                                          "đóng); bỏ qua.",
    "Unexpected error when closing an outbuf": "Một kết nối bị ngắt giữa chừng; bỏ qua.",
    "%d thread(s) still running": "Đang dừng máy chủ: còn %d yêu cầu chưa xong.",
    "Canceling %d pending task(s)": "Đang dừng máy chủ: bỏ %d yêu cầu còn chờ.",
}
# Anything else waitress says at a warning or above: no English reaches the clerk's terminal, ever (issue 21.18).
WAITRESS_OTHER = "Máy chủ web báo một sự cố nhỏ khi trả lời một yêu cầu; các báo cáo đã nhận không bị ảnh hưởng."
BUSY_MACHINE = ("Máy này đang mở quá nhiều kết nối tới máy chủ", "Máy chủ chỉ nhận một số kết nối cùng lúc từ mỗi "
                "máy; yêu cầu này chưa được xử lý, chưa lưu gì.",
                "Đóng bớt các thẻ trình duyệt đang mở trang này, đợi một phút rồi mở lại đường liên kết.")


class WaitressInVietnamese(logging.Filter):
    """Waitress's messages (about its load, a connection dropped, a request that failed) as the clerk's terminal
    says them, without the English text, the path (it may hold a link's token) or a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.msg if isinstance(record.msg, str) else ""
        said = WAITRESS_SAYS.get(text)
        if said is None:
            said = next((v for start, v in WAITRESS_SAYS_START.items() if text.startswith(start)), None)
        if said is None and record.levelno >= logging.WARNING and record.name.startswith("waitress"):
            said = WAITRESS_OTHER
        if said is not None:
            record.msg = said
            if "%" not in said:  # the English text's own arguments have no place in it
                record.args = ()
            record.exc_info, record.exc_text, record.stack_info = None, None, None
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


class VietnameseChannel(BoundedChannel):
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


def make_server(place: Place, host: str, port: int, threads: int = THREADS, limits: Limits = Limits()):
    """A waitress server for this place, listening now (OSError when the port is taken); ``.run()`` serves,
    ``.close()`` stops. Bodies over the limit are refused by waitress from their Content-Length, unread;
    what one client may hold is bounded by ``limits``."""
    web = create_app(place)
    for name in ("waitress", "waitress.queue"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, WaitressInVietnamese) for f in logger.filters):
            logger.filters.insert(0, WaitressInVietnamese())  # before the token filter, which formats the message
    server = create_server(web, host=host, port=port, threads=threads,
                           max_request_body_size=body_limit(place), ident="consolidate", expose_tracebacks=False,
                           clear_untrusted_proxy_headers=True, **limits.waitress())
    errors = prepared_error_pages(web, WAITRESS_ERRORS)
    admission = Admission(VietnameseChannel, limits, busy_machine_answer(web), Said())
    # one server per address listened on ("localhost" may be two); each answers its refusals in Vietnamese
    for listening in [server] if isinstance(server, BaseWSGIServer) else list(server.map.values()):
        if isinstance(listening, BaseWSGIServer):
            listening.channel_class = admission
            listening.vietnamese_errors = errors
            listening.limits, listening.said = limits, admission.said
    return server


def busy_machine_answer(web: Flask) -> bytes:
    """The whole HTTP answer to a connection over its machine's limit: a Vietnamese 503 page, then closed."""
    with web.test_request_context():
        nonce = csp_nonce()
        title, message, hint = BUSY_MACHINE
        body = render_template("error.html", title=title, message=message, hint=hint).encode("utf-8")
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
               ("Connection", "close"), ("Retry-After", "60"), *page_headers(nonce)]
    head = "HTTP/1.1 503 Service Unavailable\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("latin-1") + body
