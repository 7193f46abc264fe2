"""Serving: the state and links for an inbox, and the waitress server (pure Python threads: Windows too)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from waitress.server import create_server

from ..core.registry import Registry, ReportSettings
from .links import clerk_url, default_base_url, write_links
from .pages import body_limit, create_app
from .state import ServerState
from .uploads import Place

THREADS = 8  # requests served at once; the checks themselves are bounded by Place.checks_at_once
OPEN_HOSTS = ("0.0.0.0", "::", "")


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
    return Opened(place, links, clerk_url(base, state.clerk_token()), base)


def is_open_to_network(host: str) -> bool:
    return host in OPEN_HOSTS or not (host.startswith("127.") or host in ("localhost", "::1"))


def make_server(place: Place, host: str, port: int, threads: int = THREADS):
    """A waitress server for this place, listening now (OSError when the port is taken); ``.run()`` serves,
    ``.close()`` stops. Bodies over the limit are refused by waitress from their Content-Length, unread."""
    return create_server(create_app(place), host=host, port=port, threads=threads,
                         max_request_body_size=body_limit(place), ident="consolidate", expose_tracebacks=False,
                         clear_untrusted_proxy_headers=True)
