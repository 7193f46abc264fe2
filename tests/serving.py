"""Shared by the serve tests: a district's server on a fresh inbox, its links, a unit uploading through its page."""

from __future__ import annotations

import csv
import http.client
import io
import random
import re
import socket
import string
import subprocess
import sys
import threading
import time
import urllib.parse
import zipfile
from contextlib import contextmanager
from typing import Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl

from consolidate import app
from consolidate.core.registry import Registry, ReportSettings
from consolidate.web.connections import Limits
from consolidate.web.links import LINKS_NAME
from consolidate.web.pages import create_app
from consolidate.web.server import Opened, open_inbox
from consolidate.core.template import FORM1_FIELDS
from consolidate.web.server import make_server
from consolidate.write.sample import form2_values, make_sample_inbox
from consolidate.write.templates import write_template

BASE = "http://may-van-thu:8765"


@dataclass
class District:
    """A district running ``consolidate serve``: its inbox (empty at first), --out, the communes' own files."""

    inbox: Path
    out: Path
    own_files: Path  # each commune's filled report, as it sits on the commune's PC
    opened: Opened

    def links(self) -> dict[str, str]:
        """unit code → the path of its link (what the clerk sends the unit), from the links file."""
        text = (self.out / LINKS_NAME).read_text(encoding="utf-8-sig")
        return {row["code"]: row["url"].removeprefix(self.opened.base_url) for row in csv.DictReader(io.StringIO(text))}

    @property
    def clerk(self) -> str:
        return self.opened.clerk.removeprefix(self.opened.base_url)

    def own_file(self, code: str) -> Path:
        return self.own_files / f"bao-cao-{code}.xlsx"


def open_district(tmp_path: Path, registry: Registry | None = None, settings: ReportSettings | None = None,
                  base_url: str = BASE) -> District:
    default_registry, default_settings = app.load()
    registry, settings = registry or default_registry, settings or default_settings
    own = tmp_path / "may-cac-xa"
    if registry is default_registry:
        make_sample_inbox(own, registry, settings)
    else:  # units the sample's figures do not know: plausible figures of their own
        for unit in registry.reporting_units():
            form1 = dict(zip((f.key for f in FORM1_FIELDS), (5, 5, 0, 0, 5, 3, 3, 4)))
            write_template(unit, settings, own / f"bao-cao-{unit.code}.xlsx", form1=form1,
                           form2=form2_values(unit.name, unit.code), total_formula=False)
    inbox, out = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    return District(inbox, out, own, open_inbox(inbox, out, registry, settings, base_url))


def form_token(html: str) -> str:
    return re.search(r'name="ma_xac_nhan" value="([^"]+)"', html)[1]


def upload(client, link: str, data: bytes, name: str, token: str | None = None):
    """What the unit's browser sends when the unit picks a file on its page and presses "Gửi báo cáo"."""
    if token is None:
        token = form_token(client.get(link).get_data(as_text=True))
    return client.post(link, data={"ma_xac_nhan": token, "tep": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", follow_redirects=True)  # a saved upload: back to the page


def text_of(response) -> str:
    """The page as the unit reads it: tags dropped, spaces folded."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" .", ".").strip()


def client_of(district: District):
    return create_app(district.opened.place).test_client()


@contextmanager
def real_server(district: District, threads: int = 8, limits: Limits = Limits()) -> Iterator[str]:
    """The district's app behind a real waitress server on a free loopback port, in a thread: its base URL."""
    server = make_server(district.opened.place, "127.0.0.1", 0, threads=threads, limits=limits)
    closing = threading.Event()

    def serve() -> None:
        try:
            server.run()
        except OSError:  # its sockets closed under the loop by close() below: how a thread's waitress stops
            if not closing.is_set():
                raise

    thread = threading.Thread(target=serve, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        closing.set()
        server.task_dispatcher.shutdown(timeout=10)  # first: a task finishing wakes the loop through its trigger
        server.close()
        thread.join(10)


def multipart(fields: dict[str, str], file_field: str, name: str, data: bytes) -> tuple[bytes, str]:
    """A browser's form body: the fields, then the file; and its Content-Type."""
    boundary = "----consolidate-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{name}"\r\n'
                 "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n".encode())
    body = b"".join(parts) + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def http_upload(url: str, data: bytes, name: str, timeout: float = 120, source: str | None = None) -> tuple[int, str]:
    """GET the unit's page, then POST the file with the page's token, over real HTTP: (status, page text);
    from the loopback address ``source`` (127.0.0.2…: another PC of the office) when given."""
    status, page = http_get(url, timeout, source)
    body, content_type = multipart({"ma_xac_nhan": form_token(page.decode("utf-8"))}, "tep", name, data)
    status, answer, moved = http_request("POST", url, body, {"Content-Type": content_type}, timeout, source, True)
    if status == 303:  # saved: the browser is sent back to the unit's page, which it loads
        status, answer = http_get(urllib.parse.urljoin(url, moved), timeout, source)
    return status, answer.decode("utf-8", "replace")


def http_get(url: str, timeout: float = 60, source: str | None = None) -> tuple[int, bytes]:
    return http_request("GET", url, None, {}, timeout, source)


def http_request(method: str, url: str, body: bytes | None, headers: dict[str, str], timeout: float,
                 source: str | None = None, location: bool = False):
    """One request on its own connection, from ``source`` if given: (status, body), and with ``location`` the
    Location header too (a redirect's target; "" when none)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=headers)
        answer = conn.getresponse()
        if location:
            return answer.status, answer.read(), answer.getheader("Location", "")
        return answer.status, answer.read()
    finally:
        conn.close()

FILLER_SHEET = "Ghi chú của xã"
FILLER_CELL = 1000  # characters of random text per cell: a paragraph of notes, nearly incompressible


def report_of_size(report: Path, size: int, seed: int = 0) -> bytes:
    """``report`` (a unit's filled report) grown to exactly ``size`` bytes, as a real one grows: a sheet of
    notes in random text beside the template's sheets (which stay as filled), topped up to the byte by the
    zip's comment (which Excel ignores). Still the unit's report: it checks as the original does."""
    rng = random.Random(seed)
    letters = string.ascii_letters + string.digits + " "
    cells = max(0, (size - report.stat().st_size) // FILLER_CELL)
    for _ in range(8):  # each try corrects the number of cells by what the last one measured
        book = openpyxl.load_workbook(report)
        notes = book.create_sheet(FILLER_SHEET)
        for i in range(cells):
            notes.cell(row=i // 4 + 1, column=i % 4 + 1, value="".join(rng.choices(letters, k=FILLER_CELL)))
        buffer = io.BytesIO()
        book.save(buffer)
        gap = size - len(buffer.getvalue())
        if 0 <= gap <= 0xFFFF:
            with zipfile.ZipFile(buffer, "a") as zf:
                zf.comment = b"x" * gap
            data = buffer.getvalue()
            assert len(data) == size
            return data
        per_cell = max(1.0, (len(buffer.getvalue()) - report.stat().st_size) / max(cells, 1))
        cells = max(0, cells + int(gap / per_cell) - (1 if gap < 0 else -1))
    raise AssertionError(f"could not make a report of {size} bytes")


@dataclass
class Serving:
    """``consolidate serve`` running as its own process (a new interpreter: spawn-safe): its clerk's link and
    everything it printed so far."""

    proc: subprocess.Popen
    clerk: str
    printed: list[bytes]
    reader: threading.Thread | None = None

    def stop(self) -> str:
        """Killed (as the clerk closing the window would), then what it printed, decoded leniently."""
        self.proc.kill()
        self.proc.wait(30)
        if self.reader is not None:
            self.reader.join(10)
        return b"".join(self.printed).decode("utf-8", "replace")


CLERK_LINK = re.compile(rb"http://127\.0\.0\.1:\d+/van-thu/[A-Za-z0-9_-]+")


@contextmanager
def serve_process(cwd: Path, *args: str, port: int) -> Iterator[Serving]:
    """``python -m consolidate serve ARGS --port PORT`` started from the folder ``cwd`` as the clerk types it,
    until it prints the clerk's link and answers; stopped on leaving."""
    proc = subprocess.Popen([sys.executable, "-m", "consolidate", "serve", *args, "--port", str(port)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    printed: list[bytes] = []
    reader = threading.Thread(target=lambda: printed.extend(iter(proc.stdout.readline, b"")), daemon=True)
    reader.start()
    serving = Serving(proc, "", printed, reader)
    try:
        for _ in range(600):  # up to a minute on a loaded machine
            found = CLERK_LINK.search(b"".join(printed))
            if found and _answers(port):
                serving.clerk = found[0].decode("ascii")
                break
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the server did not start within a minute")
        if not serving.clerk:
            raise AssertionError(b"".join(printed).decode("utf-8", "replace"))
        yield serving
    finally:
        if proc.poll() is None:
            serving.stop()
        proc.stdout.close()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
