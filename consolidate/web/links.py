"""The units' links and the clerk's: where each points, and the CSV the clerk sends them from."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..core.registry import Registry
from ..core.text import excel_safe
from .state import ServerState, make_private, write_atomically

LINKS_NAME = "lien-ket-don-vi.csv"
UNIT_PATH = "don-vi"  # /don-vi/<token>: a unit's page
CLERK_PATH = "van-thu"  # /van-thu/<token>: the clerk's page
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765


def default_base_url(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    """http://host:port; an address that listens everywhere is no address to send: the clerk gives --base-url."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def unit_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/{UNIT_PATH}/{token}"


def clerk_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/{CLERK_PATH}/{token}"


def write_links(registry: Registry, state: ServerState, out: Path, base_url: str) -> Path:
    """``out/lien-ket-don-vi.csv`` (code,name,url; UTF-8 with BOM so Excel shows the names), one row per
    reporting unit, tokens made for units that have none; readable only by the clerk where the OS allows.
    A name or code that Excel would run as a formula ("=HYPERLINK(…)") is written as text, as in every CSV."""
    units = registry.reporting_units()
    state.ensure([u.code for u in units])
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["code", "name", "url"])
    for unit in units:
        writer.writerow([excel_safe(unit.code), excel_safe(unit.name), unit_url(base_url, state.unit_token(unit.code))])
    path = out / LINKS_NAME
    out.mkdir(parents=True, exist_ok=True)
    write_atomically(path, buffer.getvalue().encode("utf-8-sig"))
    make_private(path)
    return path
