"""`consolidate serve` and `links`: the web page where units hand in their reports, and their links."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from ..console import FOLDER, CommandRefused, ValueRefused, VietnamesePath, say
from .group import EXIT_FATAL, fatal_reason, inside, load_or_refuse, main, settings_options


def _port(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """A TCP port, said in Vietnamese when it is not one (click's own range message is English)."""
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueRefused(f"“{value}” không phải một cổng: ghi một số từ 1 đến 65535, ví dụ 8765")
    return int(text)


@main.command(short_help="Mở trang web để các đơn vị gửi báo cáo qua trình duyệt.")
@click.argument("inbox", type=VietnamesePath(folder=True), metavar=FOLDER)
@click.option("--out", "out", type=VietnamesePath(folder=True, must_exist=False), metavar=FOLDER,
              default=Path("outbox"), help="Thư mục ghi kết quả, đường liên kết và trạng thái máy chủ (mặc định: outbox).")
@settings_options
@click.option("--host", default="127.0.0.1", metavar="ĐỊA_CHỈ",
              help="Địa chỉ lắng nghe (mặc định: 127.0.0.1, chỉ máy này); 0.0.0.0 để các máy trong mạng cơ quan truy cập được.")
@click.option("--port", default="8765", callback=_port, metavar="CỔNG",
              help="Cổng lắng nghe (mặc định: 8765).")
@click.option("--base-url", metavar="URL",
              help="Phần đầu của các đường liên kết gửi cho đơn vị, ví dụ http://192.168.1.10:8765 (mặc định: theo địa chỉ và cổng).")
def serve(inbox: Path, out: Path, units_file: Path | None, config_file: Path | None, host: str, port: int,
          base_url: str | None) -> None:
    """Mở trang web nhận báo cáo: mỗi đơn vị gửi tệp qua đường liên kết riêng và xem ngay kết quả kiểm tra;
    văn thư theo dõi tình trạng nộp và bấm tổng hợp. Chạy cho tới khi bấm Ctrl+C.

    \b
    Ví dụ:
      consolidate serve inbox/ --out outbox/
      consolidate serve inbox/ --out outbox/ --host 0.0.0.0 --base-url http://192.168.1.10:8765
    """
    from ..web.links import default_base_url  # start-up: Flask and waitress only for the server
    from ..web.server import is_open_to_network, make_server, open_inbox

    inbox, out, units_file, config_file = from_here(inbox, out, units_file, config_file)
    if inside(out, inbox):
        raise CommandRefused("Thư mục kết quả (--out) không được nằm trong thư mục báo cáo nhận về.")
    registry, settings = load_or_refuse(units_file, config_file)
    with _server_state_said(out):
        opened = open_inbox(inbox, out, registry, settings, base_url or default_base_url(host, port))
    try:
        server = make_server(opened.place, host, port)
    except OSError as exc:
        raise CommandRefused(f"Không mở được cổng {port} trên {host} ({exc.strerror or exc}); "
                             "có thể một chương trình khác đang dùng cổng này: chọn cổng khác bằng --port.") from None
    if is_open_to_network(host):
        say("Cảnh báo: máy chủ mở cho cả mạng cơ quan. Ai có đường liên kết cũng dùng được nó: "
                    "chỉ gửi mỗi đường liên kết cho đúng đơn vị, không đăng lên nhóm chung.", fg="yellow", err=True)
        if base_url is None:
            say(f"Các đường liên kết đang bắt đầu bằng {opened.base_url}, máy khác không mở được: chạy lại với "
                        f"--base-url http://<địa chỉ IP của máy này>:{port}.", fg="yellow", err=True)
    say(f"Đang nhận báo cáo vào {inbox}, kết quả ghi vào {out}.")
    say(f"Trang của văn thư (không gửi cho ai): {opened.clerk}")
    say(f"Đường liên kết của từng đơn vị: {opened.links}")
    say("Bấm Ctrl+C để dừng.")
    try:
        server.run()
    except KeyboardInterrupt:
        say("Đã dừng máy chủ; các báo cáo đã nhận vẫn nằm trong thư mục nhận về.")
    finally:
        server.close()


@main.command(short_help="Ghi lại tệp đường liên kết của các đơn vị; cấp đường liên kết mới cho một đơn vị.")
@click.argument("inbox", type=VietnamesePath(folder=True), metavar=FOLDER)
@click.option("--out", "out", type=VietnamesePath(folder=True, must_exist=False), metavar=FOLDER,
              default=Path("outbox"), help="Thư mục kết quả mà lệnh serve dùng (mặc định: outbox).")
@settings_options
@click.option("--base-url", metavar="URL", help="Phần đầu của các đường liên kết (mặc định: như lần chạy serve gần nhất).")
@click.option("--renew", "renew", metavar="MÃ", help="Cấp đường liên kết mới cho đơn vị có mã này; đường liên kết cũ hết dùng được.")
@click.option("--renew-clerk", is_flag=True, help="Cấp đường liên kết mới cho trang của văn thư; đường cũ hết dùng được.")
def links(inbox: Path, out: Path, units_file: Path | None, config_file: Path | None, base_url: str | None,
          renew: str | None, renew_clerk: bool) -> None:
    """Ghi lại tệp lien-ket-don-vi.csv (mã, tên, đường liên kết của từng đơn vị) trong thư mục kết quả.

    \b
    Ví dụ:
      consolidate links inbox/ --out outbox/
      consolidate links inbox/ --out outbox/ --renew x-phuoc-an
    """
    from ..web.server import open_inbox  # start-up: Flask and waitress only for the links
    from ..web.state import ServerState

    inbox, out, units_file, config_file = from_here(inbox, out, units_file, config_file)
    if inside(out, inbox):
        raise CommandRefused("Thư mục kết quả (--out) không được nằm trong thư mục báo cáo nhận về.")
    registry, settings = load_or_refuse(units_file, config_file)
    if renew is not None:
        codes = {u.code: u for u in registry.reporting_units()}
        if renew not in codes:
            raise CommandRefused(f"Không có đơn vị báo cáo nào mã “{renew}” (xem cột code của tệp lien-ket-don-vi.csv).")
        with _server_state_said(out):
            ServerState(out).renew(renew)
    with _server_state_said(out):
        if renew_clerk:
            ServerState(out).renew_clerk()
        opened = open_inbox(inbox, out, registry, settings, base_url)
    if renew is not None:
        say(f"Đã cấp đường liên kết mới cho {codes[renew].name}; đường liên kết cũ không còn dùng được.")
    if renew_clerk:
        say("Đã cấp đường liên kết mới cho trang của văn thư; đường liên kết cũ không còn dùng được.")
    say(f"Đã ghi đường liên kết của các đơn vị vào {opened.links}")
    say(f"Trang của văn thư (không gửi cho ai): {opened.clerk}")


def from_here(*paths: Path | None) -> list[Path | None]:
    """The folders and files as typed, taken from the folder the clerk is in, once, at start: the server
    sees only absolute paths (Flask takes a relative one from its package's folder: every download failed)."""
    return [Path(os.path.abspath(p)) if p is not None else None for p in paths]


@contextmanager
def _server_state_said(out: Path) -> Iterator[None]:
    """The links and the server's state cannot be written or read: one Vietnamese line, exit 2."""
    from ..web.state import StateError  # start-up: only serve and links

    try:
        yield
    except StateError as exc:
        say(str(exc), fg="red", err=True)
        sys.exit(EXIT_FATAL)
    except OSError as exc:
        say(f"Không ghi được đường liên kết vào thư mục kết quả {out}: {fatal_reason(exc)}.",
                    fg="red", err=True)
        sys.exit(EXIT_FATAL)
