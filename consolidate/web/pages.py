"""The web application: a unit's page behind its own link, the clerk's page behind the clerk's; Vietnamese pages.

Built by ``create_app(place)``, so tests make their own. A wrong or revoked token is a 404, as if the
page did not exist; a form posted without the page's own anti-forgery token (an HMAC of the server's
secret and the link's token) is refused with nothing saved; a body over the limit is a 413 before it
is read (MAX_CONTENT_LENGTH here, and waitress's own limit in front of it, see server.py). Every error
is a Vietnamese page (400, 403, 404, 405, 413, 500 and the rest); every answer is sent with no-store,
no-referrer, nosniff, DENY framing and a Content-Security-Policy allowing only the page's own inline
style and script (a nonce per answer; files shown inline, the clerk's HTML summary, are sandboxed).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from datetime import datetime
from pathlib import Path

from flask import Flask, Response, abort, g, redirect, render_template, request, send_file, url_for
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from ..core import problems as P
from ..core.results import MISSING, REPORTED, STATUS_LABELS, UNUSABLE
from .clerk import Completeness, Consolidation, local_time
from .links import CLERK_PATH, UNIT_PATH
from .privacy import redact, redact_logs
from .reconcile import start_uploads
from .state import ServerState
from .uploads import Place, Received, UploadNoFile, UploadNotSaved, receive

FORM_FIELD = "ma_xac_nhan"
FILE_FIELD = "tep"
SENT_ARG = "da-gui"  # after an upload, the unit's page names the file saved (a name of the inbox, nothing secret)
# What a multipart body adds around the file (boundaries, headers, the token field): bodies up to
# the limit plus this reach the page that explains the refusal; larger ones are refused unread.
BODY_MARGIN = 64 * 1024
# werkzeug reads a form in chunks of READ_CHUNK and counts against MAX_FORM_MEMORY_SIZE each chunk plus what
# it holds over from the last one (a boundary's first bytes), even while a file streams through to disk: a
# limit of one chunk refused most reports from ~128 kB up. The form's only text field, the token, is 64 bytes.
READ_CHUNK = 64 * 1024
FORM_MEMORY = 4 * READ_CHUNK
DOWNLOADS = {"workbook": ("Bảng tổng hợp (Excel)", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
             "log": ("Nhật ký lỗi (CSV)", "text/csv"),
             "html": ("Trang tóm tắt (HTML)", "text/html"),
             "feedback": ("Tất cả bản phản hồi (zip)", "application/zip")}
# Any other refused file: 422. A unit over its hourly count: 429. Its stored total or the disk: 507 Insufficient
# Storage (the server cannot store it; 413 would say that the file itself is too large, which it is not).
REFUSAL_STATUS = {P.UploadTooLarge: 413, UploadNotSaved: 503, P.UploadTooOften: 429, P.UploadUnitFull: 507,
                  P.UploadDiskFull: 507}
# Every answer: never cached (its URL carries a token), never framed, no Referer, no sniffing, and only
# this page's own inline style and script (a nonce per answer); files served inline run nothing at all.
PAGE_POLICY = ("default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; form-action 'self'; "
               "frame-ancestors 'none'; base-uri 'none'")
FILE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; sandbox"
SAFE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
# What each refusal the unit or the clerk may meet says (title, what happened, what to do), by status.
ERROR_PAGES = {
    400: ("Yêu cầu không hợp lệ", "Trình duyệt gửi một yêu cầu không đúng dạng; chưa lưu gì.",
          "Mở lại trang bằng đường liên kết rồi thử lại."),
    403: ("Yêu cầu bị từ chối", "Yêu cầu không có mã xác nhận của trang; chưa làm gì.",
          "Mở lại trang bằng đường liên kết rồi bấm nút trên trang đó."),
    404: ("Không tìm thấy trang", "Đường liên kết này không đúng hoặc đã được thay bằng đường liên kết mới.",
          "Hỏi văn thư (người tổng hợp) đường liên kết hiện dùng của đơn vị mình."),
    405: ("Không làm được thao tác này", "Trang này không nhận thao tác đó; chưa làm gì.",
          "Mở lại trang bằng đường liên kết rồi bấm nút trên trang đó."),
    500: ("Máy chủ gặp lỗi", "Máy chủ gặp lỗi khi xử lý yêu cầu này; chỉ tệp nào trang báo “Đã tiếp nhận” mới được lưu.",
          "Thử lại sau ít phút; nếu vẫn lỗi, báo cho văn thư (người tổng hợp)."),
}
OTHER_ERROR = ("Không thực hiện được yêu cầu", "Máy chủ không thực hiện được yêu cầu này; chưa làm gì.",
               "Mở lại trang bằng đường liên kết rồi thử lại; nếu vẫn lỗi, báo cho văn thư (người tổng hợp).")


class WebApp(Flask):
    """Flask, with the request path logged without its token when a page fails."""

    def log_exception(self, exc_info) -> None:  # type: ignore[override]
        self.logger.error("Lỗi khi trả trang %s [%s]", redact(request.path), request.method, exc_info=exc_info)


def form_token(secret: bytes, link_token: str) -> str:
    """The anti-forgery token of the page behind ``link_token``: only a page this server sent carries it."""
    return hmac.new(secret, b"form:" + link_token.encode(), hashlib.sha256).hexdigest()


def body_limit(place: Place) -> int:
    return place.limit_bytes + BODY_MARGIN


def csp_nonce() -> str:
    """This answer's nonce for its inline style and script (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def error_page(status: int) -> tuple[str, str, str]:
    """(title, message, hint) of the Vietnamese page for an HTTP error status."""
    return ERROR_PAGES.get(status, OTHER_ERROR)


def page_headers(nonce: str) -> list[tuple[str, str]]:
    """The headers of an HTML page of this server whose inline style and script carry ``nonce``."""
    return [*SAFE_HEADERS.items(), ("Content-Security-Policy", PAGE_POLICY.format(nonce=nonce))]


def prepared_error_pages(web: Flask, statuses: tuple[int, ...]) -> tuple[dict[int, bytes], str]:
    """The Vietnamese error pages for answers the web server gives on its own, before any page runs (a body
    over the limit, a malformed request), rendered once; and the nonce they carry (nothing in them varies)."""
    place: Place = web.extensions["consolidate"]["place"]
    pages = {}
    with web.test_request_context():
        nonce = csp_nonce()
        for status in statuses:
            if status == 413:
                problem = P.UploadTooLarge(limit=f"{place.settings.upload_limit_mb:g}".replace(".", ","))
                title, message, hint = problem.title, problem.message, problem.unit_how_to_fix
            else:
                title, message, hint = error_page(status)
            pages[status] = render_template("error.html", title=title, message=message, hint=hint).encode("utf-8")
    return pages, nonce


def create_app(place: Place) -> Flask:
    """The application for this inbox, output folder, units table and settings."""
    web = WebApp(__name__)
    web.config["MAX_CONTENT_LENGTH"] = body_limit(place)
    web.config["MAX_FORM_MEMORY_SIZE"] = FORM_MEMORY
    redact_logs()
    redact_logs(web.logger.name)
    state: ServerState = place.state
    completeness = Completeness(place)
    consolidation = Consolidation(place)
    start_uploads(place)  # a warm check worker; uploads a killed server saved but never recorded, recorded
    web.extensions["consolidate"] = {"place": place, "completeness": completeness, "consolidation": consolidation}
    settings = place.settings
    report = {"number": settings.report_number, "issuer": settings.signer, "area": settings.area,
              "date": settings.report_date.strftime("%d/%m/%Y"), "form1": settings.form1_title,
              "period_before": settings.period_before, "period_after": settings.period_after,
              "limit": f"{settings.upload_limit_mb:g}".replace(".", ",")}

    @web.context_processor
    def the_report() -> dict:
        return {"report": report, "csp_nonce": csp_nonce}

    reporting = {u.code: u for u in place.registry.reporting_units()}

    def unit_of(token: str):
        code = state.unit_for(token)
        if code not in reporting:  # a wrong link, or a unit the units table no longer has (merged, renamed)
            abort(404)
        return reporting[code]

    def clerk_only(token: str) -> None:
        if not state.is_clerk(token):
            abort(404)

    def forged(token: str) -> bool:
        sent = request.form.get(FORM_FIELD, "")
        return not hmac.compare_digest(sent.encode(), form_token(state.secret(), token).encode())

    # A unit's page ----------------------------------------------------------------------

    def unit_page(token: str, received: Received | None = None, status: int = 200) -> tuple[str, int]:
        """The unit's page: its line of the clerk's table with the problems of its file (on every visit), the
        result of the upload just sent (a refusal, or the upload the query's ``da-gui`` names), the form, its uploads."""
        unit = unit_of(token)
        uploads = state.uploads(unit.code)
        for entry in uploads:
            entry["when"] = _shown_time(entry["at"])
        row = completeness.row(unit.code)  # the clerk's table's line: recomputed only when the inbox changed
        in_use = next((e for e in uploads if row is not None and e["file"] == row.file), None)  # None: came another way
        sent = received or _sent(uploads, request.args.get(SENT_ARG, ""))
        if sent is not None and sent.saved and in_use is not None and in_use["file"] == sent.saved:
            sent.problems = row.problems  # what the run says of it now, as the status below says
        refused = [_shown_problem(p) for p in sent.problems] if sent is not None and sent.refused else []
        return render_template("unit.html", unit=unit, report=report, uploads=uploads[::-1], row=row,
                               by_page=in_use is not None, current_feedback=(in_use or {}).get("feedback", ""),
                               problems=[_shown_problem(p) for p in (row.problems if row else [])],
                               received=sent, refused_problems=refused, token=token,
                               form_token=form_token(state.secret(), token), form_field=FORM_FIELD,
                               file_field=FILE_FIELD, limit_bytes=place.limit_bytes, REPORTED=REPORTED,
                               MISSING=MISSING), status

    @web.get(f"/{UNIT_PATH}/<token>")
    def unit_get(token: str):
        return unit_page(token)

    @web.post(f"/{UNIT_PATH}/<token>")
    def unit_post(token: str):
        """A refusal is answered at once (nothing was saved: sending again changes nothing); a saved upload sends
        the browser back to the unit's page (303), so that reloading it does not send the file again."""
        unit = unit_of(token)
        if forged(token):
            refused = P.UploadForged()
            return unit_page(token, Received("", refused=refused), 403)
        upload = request.files.get(FILE_FIELD)
        if upload is None or not upload.filename:
            return unit_page(token, Received("", refused=UploadNoFile()), 400)
        data = upload.read(place.limit_bytes + 1)
        received = receive(place, unit, data, upload.filename)
        if received.saved:
            return redirect(url_for("unit_get", token=token, **{SENT_ARG: received.saved}), code=303)
        return unit_page(token, received, REFUSAL_STATUS.get(type(received.refused), 422))

    @web.get(f"/{UNIT_PATH}/<token>/phan-hoi/<name>")
    def unit_feedback(token: str, name: str):
        unit = unit_of(token)
        own = {e["feedback"] for e in state.uploads(unit.code) if e.get("feedback")}
        if name not in own:  # only the copies of this unit's own uploads, by their saved names
            abort(404)
        path = place.feedback_dir / name
        if not path.is_file():
            abort(404)
        try:
            if request.method == "GET":  # a HEAD (a link checker, a chat app's preview) downloads nothing
                state.add_download(unit.code, name)
        except OSError:  # the clerk's record of it only: the unit still gets its copy
            web.logger.warning("Không ghi được lượt tải bản phản hồi %s", name)
        return send_file(path, as_attachment=True, download_name=f"phan-hoi-{name}", max_age=0)

    # The clerk's page ---------------------------------------------------------------------

    @web.get(f"/{CLERK_PATH}/<token>")
    def clerk_get(token: str):
        clerk_only(token)
        rows = completeness.rows()
        downloads = state.downloads()
        uploads = {code: state.uploads(code) for code in {r.code for r in rows}}
        sent_back = []
        for row in rows:
            copies = [e["feedback"] for e in uploads[row.code] if e.get("feedback")]
            taken = downloads.get(row.code, [])
            if copies:
                sent_back.append({"name": row.name, "copies": len(copies), "downloaded": len({d["file"] for d in taken}),
                                  "last": _shown_time(taken[-1]["at"]) if taken else ""})
        counts = {state_: sum(r.state == state_ for r in rows) for state_ in (REPORTED, MISSING, UNUSABLE)}
        outputs = consolidation.outputs()
        files = [(kind, DOWNLOADS[kind][0], path.name) for kind, path in outputs.items()]
        feedback = consolidation.feedback_files()
        if feedback:
            files.append(("feedback", DOWNLOADS["feedback"][0], f"{len(feedback)} tệp"))
        return render_template("clerk.html", rows=rows, counts=counts, labels=STATUS_LABELS, report=report,
                               REPORTED=REPORTED, MISSING=MISSING, run=consolidation.last, files=files,
                               sent_back=sent_back, token=token, form_token=form_token(state.secret(), token),
                               form_field=FORM_FIELD, started=request.args.get("bat-dau"))

    @web.post(f"/{CLERK_PATH}/<token>/tong-hop")
    def clerk_run(token: str):
        clerk_only(token)
        if forged(token):
            abort(403)
        started = consolidation.start()
        return redirect(url_for("clerk_get", token=token, **{"bat-dau": "1" if started else "0"}), code=303)

    @web.get(f"/{CLERK_PATH}/<token>/tai/<kind>")
    def clerk_download(token: str, kind: str):
        clerk_only(token)
        if kind == "feedback":
            return send_file(io.BytesIO(consolidation.feedback_zip()), mimetype=DOWNLOADS[kind][1], as_attachment=True,
                             download_name="phan-hoi.zip", max_age=0)
        path = consolidation.outputs().get(kind)
        if path is None:
            abort(404)
        return send_file(Path(path), mimetype=DOWNLOADS[kind][1], as_attachment=kind != "html",
                         download_name=path.name, max_age=0)

    # Refusals --------------------------------------------------------------------------------

    @web.errorhandler(RequestEntityTooLarge)
    def too_large(exc: HTTPException):
        problem = P.UploadTooLarge(limit=report["limit"])
        return render_template("error.html", title=problem.title, message=problem.message, hint=problem.unit_how_to_fix), 413

    @web.errorhandler(HTTPException)
    def refused(exc: HTTPException):
        title, message, hint = error_page(exc.code or 500)
        return render_template("error.html", title=title, message=message, hint=hint), exc.code or 500

    @web.errorhandler(InternalServerError)
    def failed(exc: InternalServerError):  # also every exception a page did not catch (logged, token hidden)
        title, message, hint = error_page(500)
        return render_template("error.html", title=title, message=message, hint=hint), 500

    @web.after_request
    def safe_headers(response: Response) -> Response:
        response.headers.update(SAFE_HEADERS)  # also over send_file's own Cache-Control
        inline = response.mimetype == "text/html" and not response.direct_passthrough
        response.headers["Content-Security-Policy"] = PAGE_POLICY.format(nonce=csp_nonce()) if inline else FILE_POLICY
        return response

    return web


def _shown_time(iso: str) -> str:
    """A stored UTC time as the office reads it: local time, hour first."""
    return local_time(datetime.fromisoformat(iso).timestamp())


def _sent(uploads: list[dict], name: str) -> Received | None:
    """The upload of this unit saved as ``name``, as its page tells it once sent; None for any other name."""
    entry = next((e for e in uploads if name and e.get("file") == name), None)
    if entry is None:
        return None
    return Received(entry.get("browser_name", ""), saved=name, feedback=entry.get("feedback", ""))


def _shown_problem(p: P.Problem) -> dict[str, str]:
    where = f"{p.sheet}!{p.cell}" if p.cell else (p.sheet or "tệp")
    return {"severity": p.severity, "label": p.severity_label, "where": where, "message": p.message,
            "fix": p.unit_how_to_fix if p.severity != P.INFO else "", "code": p.code}
