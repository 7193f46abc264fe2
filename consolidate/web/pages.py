"""The web application: a unit's page behind its own link, the clerk's page behind the clerk's; Vietnamese pages.

Built by ``create_app(place)``, so tests make their own. A wrong or revoked token is a 404, as if the
page did not exist; a form posted without the page's own anti-forgery token (an HMAC of the server's
secret and the link's token) is refused with nothing saved; a body over the limit is a 413 before it
is read (MAX_CONTENT_LENGTH here, and waitress's own limit in front of it, see server.py).
"""

from __future__ import annotations

import hashlib
import hmac
import io
from datetime import datetime
from pathlib import Path

from flask import Flask, Response, abort, redirect, render_template, request, send_file, url_for
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..core import problems as P
from ..core.results import MISSING, REPORTED, STATUS_LABELS, UNUSABLE
from .clerk import Completeness, Consolidation, local_time
from .links import CLERK_PATH, UNIT_PATH
from .privacy import redact, redact_logs
from .state import ServerState
from .uploads import Place, Received, receive

FORM_FIELD = "ma_xac_nhan"
FILE_FIELD = "tep"
# What a multipart body adds around the file (boundaries, headers, the token field): bodies up to
# the limit plus this reach the page that explains the refusal; larger ones are refused unread.
BODY_MARGIN = 64 * 1024
DOWNLOADS = {"workbook": ("Bảng tổng hợp (Excel)", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
             "log": ("Nhật ký lỗi (CSV)", "text/csv"),
             "html": ("Trang tóm tắt (HTML)", "text/html"),
             "feedback": ("Tất cả bản phản hồi (zip)", "application/zip")}


class WebApp(Flask):
    """Flask, with the request path logged without its token when a page fails."""

    def log_exception(self, exc_info) -> None:  # type: ignore[override]
        self.logger.error("Lỗi khi trả trang %s [%s]", redact(request.path), request.method, exc_info=exc_info)


def form_token(secret: bytes, link_token: str) -> str:
    """The anti-forgery token of the page behind ``link_token``: only a page this server sent carries it."""
    return hmac.new(secret, b"form:" + link_token.encode(), hashlib.sha256).hexdigest()


def body_limit(place: Place) -> int:
    return place.limit_bytes + BODY_MARGIN


def create_app(place: Place) -> Flask:
    """The application for this inbox, output folder, units table and settings."""
    web = WebApp(__name__)
    web.config["MAX_CONTENT_LENGTH"] = body_limit(place)
    web.config["MAX_FORM_MEMORY_SIZE"] = 64 * 1024
    redact_logs()
    redact_logs(web.logger.name)
    state: ServerState = place.state
    completeness = Completeness(place)
    consolidation = Consolidation(place)
    web.extensions["consolidate"] = {"place": place, "completeness": completeness, "consolidation": consolidation}
    settings = place.settings
    report = {"number": settings.report_number, "issuer": settings.issuer, "area": settings.area,
              "date": settings.report_date.strftime("%d/%m/%Y"), "form1": settings.form1_title,
              "period_before": settings.period_before, "period_after": settings.period_after,
              "limit": f"{settings.upload_limit_mb:g}".replace(".", ",")}

    @web.context_processor
    def the_report() -> dict:
        return {"report": report}

    def unit_of(token: str):
        code = state.unit_for(token)
        if code is None:
            abort(404)
        return place.registry.unit(code)

    def clerk_only(token: str) -> None:
        if not state.is_clerk(token):
            abort(404)

    def forged(token: str) -> bool:
        sent = request.form.get(FORM_FIELD, "")
        return not hmac.compare_digest(sent.encode(), form_token(state.secret(), token).encode())

    # A unit's page ----------------------------------------------------------------------

    def unit_page(token: str, received: Received | None = None, status: int = 200) -> tuple[str, int]:
        unit = unit_of(token)
        uploads = state.uploads(unit.code)
        for entry in uploads:
            entry["when"] = _shown_time(entry["at"])
        problems = [_shown_problem(p) for p in received.problems] if received else []
        return render_template("unit.html", unit=unit, report=report, uploads=uploads[::-1],
                               latest=uploads[-1] if uploads else None, received=received, problems=problems,
                               token=token, form_token=form_token(state.secret(), token),
                               form_field=FORM_FIELD, file_field=FILE_FIELD,
                               limit_bytes=place.limit_bytes), status

    @web.get(f"/{UNIT_PATH}/<token>")
    def unit_get(token: str):
        return unit_page(token)

    @web.post(f"/{UNIT_PATH}/<token>")
    def unit_post(token: str):
        unit = unit_of(token)
        if forged(token):
            refused = P.UploadForged()
            return unit_page(token, Received("", refused=refused), 403)
        upload = request.files.get(FILE_FIELD)
        if upload is None or not upload.filename:
            return unit_page(token, None, 400)
        data = upload.read(place.limit_bytes + 1)
        received = receive(place, unit, data, upload.filename)
        refused = 413 if isinstance(received.refused, P.UploadTooLarge) else 422
        return unit_page(token, received, 200 if received.saved else refused)

    @web.get(f"/{UNIT_PATH}/<token>/phan-hoi/<name>")
    def unit_feedback(token: str, name: str):
        unit = unit_of(token)
        own = {e["feedback"] for e in state.uploads(unit.code) if e.get("feedback")}
        if name not in own:  # only the copies of this unit's own uploads, by their saved names
            abort(404)
        path = place.feedback_dir / name
        if not path.is_file():
            abort(404)
        state.add_download(unit.code, name)
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

    @web.errorhandler(404)
    def not_found(exc: HTTPException):
        return render_template("error.html", title="Không tìm thấy trang",
                               message="Đường liên kết này không đúng hoặc đã được thay bằng đường liên kết mới.",
                               hint="Hỏi văn thư (người tổng hợp) đường liên kết hiện dùng của đơn vị mình."), 404

    @web.errorhandler(403)
    def forbidden(exc: HTTPException):
        return render_template("error.html", title="Yêu cầu bị từ chối",
                               message="Yêu cầu không có mã xác nhận của trang; chưa làm gì.",
                               hint="Mở lại trang bằng đường liên kết rồi bấm nút trên trang đó."), 403

    @web.after_request
    def no_caching(response: Response) -> Response:
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["Referrer-Policy"] = "no-referrer"  # the link's token never leaves in a Referer
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return web


def _shown_time(iso: str) -> str:
    """A stored UTC time as the office reads it: local time, hour first."""
    return local_time(datetime.fromisoformat(iso).timestamp())


def _shown_problem(p: P.Problem) -> dict[str, str]:
    where = f"{p.sheet}!{p.cell}" if p.cell else (p.sheet or "tệp")
    return {"severity": p.severity, "label": p.severity_label, "where": where, "message": p.message,
            "fix": p.unit_how_to_fix if p.severity != P.INFO else "", "code": p.code}
