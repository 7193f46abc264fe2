"""Shared by the serve tests: a district's server on a fresh inbox, its links, a unit uploading through its page."""

from __future__ import annotations

import csv
import io
import re
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from typing import Iterator
from dataclasses import dataclass
from pathlib import Path

from consolidate import app
from consolidate.core.registry import Registry, ReportSettings
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
                       content_type="multipart/form-data")


def text_of(response) -> str:
    """The page as the unit reads it: tags dropped, spaces folded."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" .", ".").strip()


def client_of(district: District):
    return create_app(district.opened.place).test_client()


@contextmanager
def real_server(district: District, threads: int = 8) -> Iterator[str]:
    """The district's app behind a real waitress server on a free loopback port, in a thread: its base URL."""
    server = make_server(district.opened.place, "127.0.0.1", 0, threads=threads)
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
        server.close()
        server.task_dispatcher.shutdown(timeout=10)
        thread.join(10)


def multipart(fields: dict[str, str], file_field: str, name: str, data: bytes) -> tuple[bytes, str]:
    """A browser's form body: the fields, then the file; and its Content-Type."""
    boundary = "----consolidate-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{name}"\r\n'
                 "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n".encode())
    body = b"".join(parts) + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def http_upload(url: str, data: bytes, name: str, timeout: float = 120) -> tuple[int, str]:
    """GET the unit's page, then POST the file with the page's token, over real HTTP: (status, page text)."""
    with urllib.request.urlopen(url, timeout=timeout) as page:
        token = form_token(page.read().decode("utf-8"))
    body, content_type = multipart({"ma_xac_nhan": token}, "tep", name, data)
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")
