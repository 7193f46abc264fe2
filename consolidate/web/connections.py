"""What one client may hold of the server, so that a hundred half-sent requests from one machine (a careless
script, an attacker on the office network) never keep the other units' pages waiting.

Waitress serves at most ``Limits.connections`` connections at once and, once full, accepts no more until
one closes (it closes a silent one only after its ``channel_timeout``): one machine could fill it. So

- each address holds at most ``per_address`` connections: one more is answered at once with a short
  Vietnamese 503 page and closed, before it costs anything (a browser uses one or two for these pages);
- a request whose headers are still unfinished ``header_deadline`` seconds after its first byte is closed
  (headers are a few hundred bytes: only a deliberately slow sender takes that long); a body may take its
  time, as a 10 MB report does on a commune's slow line, as long as it keeps coming;
- a connection with nothing arriving for ``idle`` seconds is closed by waitress's own clean-up.

The clerk's terminal is told in Vietnamese, once a minute per machine at most: which machine, what happened.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from waitress.channel import HTTPChannel

log = logging.getLogger("consolidate.web")
SAID_EVERY = 60.0  # seconds between two lines about the same machine on the clerk's terminal


@dataclass(frozen=True)
class Limits:
    """The bounds of the web server (waitress's ``connection_limit``, ``channel_timeout``, ``cleanup_interval``
    and this module's own two)."""

    per_address: int = 20
    connections: int = 250  # 200 communes at once; below Windows' 512 sockets per select()
    idle: int = 30  # seconds
    header_deadline: float = 20.0  # seconds
    cleanup_every: int = 5  # seconds between two looks for idle connections

    def waitress(self) -> dict[str, int]:
        return {"connection_limit": self.connections, "channel_timeout": self.idle,
                "cleanup_interval": self.cleanup_every}


class Said:
    """One line per machine and kind of trouble per SAID_EVERY seconds: a flood is told, not echoed."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def warn(self, kind: str, host: str, message: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get((kind, host), -SAID_EVERY) < SAID_EVERY:
                return
            self._last[(kind, host)] = now
            if len(self._last) > 10_000:  # many machines over a long day: forget the old ones
                self._last = {k: t for k, t in self._last.items() if now - t < SAID_EVERY}
        log.warning(message, *args)


def host_of(addr: object) -> str:
    return str(addr[0]) if isinstance(addr, tuple) and addr else str(addr)


class BoundedChannel(HTTPChannel):
    """A connection whose request headers must be complete ``header_deadline`` seconds after their first byte
    (the server's ``limits``); a slower sender is closed, the clerk told."""

    request_began = 0.0

    def received(self, data: bytes) -> bool:
        limits: Limits = getattr(self.server, "limits", Limits())
        now = time.monotonic()
        request = self.request
        if request is None:  # these bytes begin a request
            self.request_began = now
        elif not request.headers_finished and now - self.request_began > limits.header_deadline:
            host = host_of(self.addr)
            getattr(self.server, "said", Said()).warn(
                "slow", host, "Đã đóng kết nối của máy %s: yêu cầu gửi quá chậm (chưa xong phần đầu sau %g giây).",
                host, limits.header_deadline)
            self.will_close = True  # closed by the loop at its next turn; nothing more read
            return False
        return super().received(data)


class Admission:
    """Waitress's ``channel_class`` on a listening server: a new connection becomes a channel of ``channel``
    unless its address already holds ``per_address``; then it gets ``refusal`` (a whole HTTP answer) and is
    closed at once."""

    def __init__(self, channel: type[HTTPChannel], limits: Limits, refusal: bytes, said: Said) -> None:
        self.channel, self.limits, self.refusal, self.said = channel, limits, refusal, said

    def __call__(self, server, sock, addr, adj, map=None):  # noqa: A002 - waitress's own name
        host = host_of(addr)
        held = sum(1 for ch in list((map or {}).values()) if isinstance(ch, HTTPChannel) and host_of(ch.addr) == host)
        if held >= self.limits.per_address:
            self.said.warn("many", host, "Máy %s đang mở %d kết nối cùng lúc (tối đa %d): từ chối các kết nối thêm của "
                           "máy này; các đơn vị khác vẫn gửi báo cáo bình thường.", host, held, self.limits.per_address)
            refuse(sock, self.refusal)
            return None
        return self.channel(server, sock, addr, adj, map=map)


def refuse(sock, answer: bytes) -> None:
    """``answer`` written without waiting (a fresh socket's buffer takes it), whatever the client already sent
    read off (so that closing does not reset the answer away), and the socket closed."""
    try:
        sock.setblocking(False)
        try:
            sock.recv(65536)
        except OSError:  # nothing sent yet: fine
            pass
        sock.send(answer)
    except OSError:  # the client is gone already
        pass
    finally:
        sock.close()
