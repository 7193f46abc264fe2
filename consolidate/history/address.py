"""Where a history store is, as the clerk typed it (a path or a URL): the one way every output names it,
its engine, and what went wrong reaching it, in Vietnamese.

A URL may carry a user name and a password, in its user part or in its query
(``?user=…&password=…``), and a password may hold a character a URL reserves (``@ / ?``)
written as it is. No output shows any of them (issue 21): a server's store is named by its
host and database (``postgresql://may-chu/lich_su``), a file by its path, and an address
that cannot be read safely by its scheme alone. A password whose ``@`` was read as the end of
the user part is refused with the reason, before anything connects to a host read out of it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa

from ..core.observations import HistoryError
from .schema import VERSION, NewerSchema

# A scheme of two letters or more: "C:\…" is a Windows path; "postgresql:/…" (one slash) is a mistyped URL.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
_KNOWN = ("postgresql", "postgres", "sqlite")
EXAMPLE = "postgresql://tên:mật-khẩu@máy-chủ:5432/lich_su hoặc đường dẫn tới một tệp .sqlite"
BAD_URL = f"địa chỉ cơ sở dữ liệu không đúng dạng; ví dụ {EXAMPLE}"
UNESCAPED = ("địa chỉ cơ sở dữ liệu không đúng dạng: ký tự @ / ? trong tên đăng nhập hoặc mật khẩu phải viết "
             "mã hóa (@ thành %40, / thành %2F, ? thành %3F)")
CONNECT_TIMEOUT = 10  # seconds, unless the URL says otherwise (?connect_timeout=…)
SQLITE_WAIT = 30  # seconds an SQLite file's user waits for another run's transaction (SQLite's own default: 5)
HIDDEN = "địa chỉ đã cho"  # what an unreadable address with an unknown scheme is called (the "scheme" may be a user name)


class Address(NamedTuple):
    """A store's address: how messages name it, its URL (None for a plain path), and why it cannot be used."""

    label: str
    url: sa.URL | None = None
    problem: str | None = None


def is_url(target: str | Path) -> bool:
    """Whether ``target`` is meant as a URL (well formed or not), not a file's path."""
    return isinstance(target, str) and _SCHEME.match(target) is not None


def store_label(target: str | Path) -> str:
    """How every message and output names a store: its path, or its host and database; never a credential."""
    return parse(target).label


def parse(target: str | Path) -> Address:
    """The address of a store; ``problem`` (Vietnamese) says why a URL cannot be used as written.

    Only a URL whose host and database cannot be a password's text is named by them: one with no
    ``@`` at all, or with exactly one, read as the end of a user part with no ``?`` in it. Anything
    else (a password in the query with an ``@`` in it, say) is named by its scheme alone: it may
    still connect, but a name built from it might be the end of a password.
    """
    if not is_url(target):
        return Address(str(target))
    assert isinstance(target, str)
    scheme = _SCHEME.match(target)[1].lower()
    known = scheme.partition("+")[0] in _KNOWN  # else the "scheme" may be a user name typed without one
    hidden = Address(f"{scheme}://…" if known else HIDDEN, None, BAD_URL)
    rest = target[len(scheme) + 1:]
    if not rest.startswith("//"):
        return hidden
    try:
        url = sa.make_url(target)
    except Exception:  # noqa: BLE001 - SQLAlchemy's ArgumentError, or ValueError for a port such as "54x2"
        return hidden
    ats = rest.count("@")
    user_part = rest[2:].partition("@")[0] if url.username is not None else ""
    if ("@" in (url.host or "") or "@" in (url.database or "") or (url.username is not None and ats > 1)
            or "=" in user_part.partition("?")[2]):  # "host:5432/db?password=a@b": SQLAlchemy reads "b" as the host
        return hidden._replace(problem=UNESCAPED)  # a password's own @, / or ?: its end was read as the host
    if not known:  # a database this tool does not use (engine_for says so), named by nothing it holds
        return hidden._replace(url=url, problem=None)
    if url.get_backend_name() == "sqlite":
        return Address(url.database if url.database not in (None, "", ":memory:") else f"{scheme}://", url)
    if ats > 1 or (ats == 1 and (url.username is None or "?" in user_part)):
        return hidden._replace(url=url, problem=None)  # usable (an @ in the query's password), not nameable
    host = f"[{url.host}]" if url.host and ":" in url.host else (url.host or "")
    return Address(f"{scheme}://{host}/{url.database or ''}", url)


class NoHistoryYet(HistoryError):
    """The store is a file that does not exist yet: no run has recorded anything there."""


def engine_for(target: str | Path, create: bool) -> sa.Engine:
    """The engine of the store at ``target``; HistoryError (NoHistoryYet: a file not made yet, with
    ``create=False``) for an address that cannot be used, before anything connects."""
    address = parse(target)
    label = address.label
    if address.problem is not None:
        raise HistoryError(label, address.problem)
    url, path = address.url, None
    if url is not None:
        if url.drivername in ("postgresql", "postgres"):  # "postgres://" too, as Heroku and others write it
            url = url.set(drivername="postgresql+psycopg")  # psycopg 3, installed with the tool
        elif url.get_backend_name() not in ("sqlite", "postgresql"):
            raise HistoryError(label, "chỉ dùng được tệp SQLite (sqlite:///…) hoặc PostgreSQL (postgresql://…)")
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            path = Path(url.database)
    else:
        path = Path(target)
        url = sa.URL.create("sqlite", database=str(path))  # no escaping: a Vietnamese or spaced path stays as it is
    if path is not None:
        try:
            exists, folder = path.exists(), path.is_dir()
        except OSError:  # a name the system refuses (too long; on Windows a character such as ":")
            raise HistoryError(label, "đường dẫn tệp lịch sử không dùng được (kiểm tra tên tệp và thư mục)") from None
        if not exists and not create:
            raise NoHistoryYet(label, "chưa có lịch sử ở đây (chưa lần chạy nào ghi vào tệp này)")
        if folder:
            raise HistoryError(label, "đây là một thư mục, không phải tệp lịch sử")
        if create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError:
                raise HistoryError(label, "không tạo được thư mục chứa tệp lịch sử (kiểm tra đường dẫn và quyền ghi)") from None
    options: dict = {}
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}  # a server that does not answer: not forever
    elif url.get_backend_name() == "sqlite":
        options["connect_args"] = {"timeout": SQLITE_WAIT}
    try:
        return sa.create_engine(url, **options)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise HistoryError(label, f"không dùng được địa chỉ này (mã {type(exc).__name__})") from None


def db_reason(exc: BaseException, local: bool = False) -> str:
    """What went wrong with a database, in Vietnamese (the driver's own text is English); its type as a code.
    ``local``: the store is an SQLite file, whose failures are never a server's."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    code = type(getattr(exc, "orig", None) or exc).__name__
    if isinstance(exc, NewerSchema):
        return (f"lịch sử được ghi bởi phiên bản mới hơn của chương trình (lược đồ số {exc.version}, "
                f"phiên bản này chỉ đọc được đến số {VERSION}); hãy cập nhật chương trình")
    if "not a database" in text or "malformed" in text:
        return "tệp này không phải cơ sở dữ liệu lịch sử, hoặc đã hỏng"
    if "locked" in text or "busy" in text:
        return "cơ sở dữ liệu đang bị chương trình khác khóa; đợi chương trình đó xong rồi chạy lại"
    if "readonly" in text or "read-only" in text or "permission denied" in text:
        return "không có quyền ghi vào cơ sở dữ liệu"
    if "unable to open" in text:
        return "không mở được tệp (kiểm tra thư mục và quyền ghi)"
    if local:
        if "no such table" in text or "no such column" in text or "already exists" in text:
            return ("tệp lịch sử bị hỏng hoặc thiếu bảng (có thể do chương trình khác sửa); chép lại tệp từ bản sao lưu, "
                    "hoặc đổi tên tệp để lần chạy sau tạo tệp mới")
        if "full" in text:
            return "ổ đĩa đã đầy"
        if "i/o" in text:
            return "lỗi đọc ghi ổ đĩa khi dùng tệp lịch sử"
        return f"không dùng được tệp lịch sử (mã {code})"
    if "password" in text or "authentication" in text:
        return "máy chủ từ chối tên đăng nhập hoặc mật khẩu"
    if "does not exist" in text and "database" in text:
        return "máy chủ không có cơ sở dữ liệu mang tên này"
    if "does not exist" in text and "relation" in text:
        return "cơ sở dữ liệu lịch sử thiếu bảng (có thể đã bị sửa tay)"
    if isinstance(exc, sa.exc.OperationalError):
        return "không kết nối được máy chủ cơ sở dữ liệu (kiểm tra địa chỉ, cổng và mạng)"
    return f"lỗi cơ sở dữ liệu (mã {code})"
