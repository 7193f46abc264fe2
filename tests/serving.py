"""Shared by the serve tests: a district's server on a fresh inbox, its links, a unit uploading through its page."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from consolidate import app
from consolidate.core.registry import Registry, ReportSettings
from consolidate.web.links import LINKS_NAME
from consolidate.web.pages import create_app
from consolidate.web.server import Opened, open_inbox
from consolidate.write.sample import make_sample_inbox

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
    make_sample_inbox(own, registry, settings)
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
