"""The catalogue of problems: one class per kind, a stable code, a Vietnamese message.

The error log, the CSV twin, the terminal, the feedback copies and the tests all
read these classes, so a problem is described in exactly one place. Its fix is
told twice where the readers differ: ``hint`` to the district clerk who runs the
tool, ``unit_hint`` to the unit that filled the file (feedback copy, ``check``).

Longer than ~400 lines on purpose: it is a catalogue (~50 small classes, each a
code, a message and a fix), read as one list; tests/test_catalogue.py checks it whole.
"""

from __future__ import annotations

from typing import ClassVar

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITY_LABELS = {ERROR: "Lỗi", WARNING: "Cảnh báo", INFO: "Thông tin"}


class Problem:
    """One thing wrong with the inbox, located as precisely as we can."""

    code: ClassVar[str]
    severity: ClassVar[str] = ERROR
    title: ClassVar[str]
    template: ClassVar[str]
    hint: ClassVar[str] = ""  # what the district clerk does: the log, the HTML page, the run's terminal
    # What the unit that filled the file does, in its own file: its feedback copy and ``check``.
    # Empty when the clerk's hint already fits the unit (it names only the unit's own file).
    unit_hint: ClassVar[str] = ""
    # Told only to the clerk, never to a unit: problems of the clerk's own run (the history store, an
    # export), which no file of a unit carries into its feedback copy or its ``check``.
    clerk_only: ClassVar[bool] = False

    def __init__(
        self,
        *,
        file: str = "",
        sheet: str = "",
        cell: str = "",
        unit: str = "",
        **params: object,
    ) -> None:
        self.file = file
        self.sheet = sheet
        self.cell = cell
        self.unit = unit
        self.params = params

    @property
    def message(self) -> str:
        return self.template.format(**self.params)

    @property
    def how_to_fix(self) -> str:
        return self.hint.format(**self.params)

    @property
    def unit_how_to_fix(self) -> str:
        """The fix told to the unit: it cannot edit the district's units list or ask itself to resend."""
        return (self.unit_hint or self.hint).format(**self.params)

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABELS[self.severity]

    def as_row(self, for_unit: bool = False) -> dict[str, str]:
        """Plain data for the log and ``--json``; ``for_unit`` gives the unit's hint (``check``)."""
        return {
            "file": self.file,
            "sheet": self.sheet,
            "cell": self.cell,
            "unit": self.unit,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "hint": self.unit_how_to_fix if for_unit else self.how_to_fix,
        }

    def __repr__(self) -> str:
        where = "!".join(p for p in (self.file, self.sheet, self.cell) if p)
        return f"<{self.code} {where}: {self.message}>"


CATALOGUE: dict[str, type[Problem]] = {}


def _register(cls: type[Problem]) -> type[Problem]:
    assert cls.code not in CATALOGUE, cls.code
    CATALOGUE[cls.code] = cls
    return cls


# Exports (consolidate export) ---------------------------------------------------
# A value the DHIS2 files leave out; one problem per field, unit or period, with the count.


@_register
class ExportFieldUnmapped(Problem):
    code = "export-field-unmapped"
    clerk_only = True
    severity = WARNING
    title = "Chỉ tiêu chưa có mã DHIS2"
    template = "Chỉ tiêu “{label}” ({field}) chưa có mã phần tử dữ liệu DHIS2: {count} giá trị không được xuất."
    hint = "Điền cột “Mã phần tử dữ liệu DHIS2 (dataElement)” ở dòng “{field}” của tệp {mapping} rồi xuất lại."


@_register
class ExportUnitUnmapped(Problem):
    code = "export-unit-unmapped"
    clerk_only = True
    severity = WARNING
    title = "Đơn vị chưa có mã DHIS2"
    template = "Đơn vị “{unit_name}” ({unit_code}) chưa có mã đơn vị DHIS2: {count} giá trị không được xuất."
    hint = "Điền cột “Mã đơn vị DHIS2 (orgUnit)” ở dòng “{unit_code}” của tệp {mapping} rồi xuất lại."


@_register
class ExportPeriodInvalid(Problem):
    code = "export-period-invalid"
    clerk_only = True
    severity = WARNING
    title = "Kỳ báo cáo không theo mã kỳ của DHIS2"
    template = "Kỳ “{period}” không phải mã kỳ của DHIS2: {count} giá trị không được xuất."
    hint = "Ghi kỳ theo mã của DHIS2, ví dụ {examples}, trong khóa period của tệp cấu hình rồi chạy lại kỳ đó."


# Files ---------------------------------------------------------------------


@_register
class FileSkipped(Problem):
    code = "file-skipped"
    severity = INFO
    title = "Tệp được bỏ qua (tệp tạm, tệp ẩn, bản phản hồi hoặc nhật ký của huyện)"
    template = "Bỏ qua {what} “{name}”."
    hint = "Không cần làm gì; nếu đây là báo cáo thật, đổi tên tệp (hoặc chuyển ra khỏi thư mục “phan-hoi”) rồi chạy lại."
    unit_hint = ("Không cần làm gì; hãy kiểm tra chính tệp báo cáo. Nếu đây là báo cáo thật, đổi tên tệp "
                 "(bỏ dấu “.” hoặc “~$” ở đầu tên) rồi kiểm tra lại.")


@_register
class FileNotSpreadsheet(Problem):
    code = "file-not-spreadsheet"
    severity = WARNING
    title = "Tệp không phải bảng tính"
    template = "Tệp “{name}” ({kind}) không phải bảng tính nên không được đọc."
    hint = "Nếu đây là báo cáo của một đơn vị, đề nghị đơn vị gửi lại bằng tệp Excel theo mẫu."
    unit_hint = "Gửi lại báo cáo bằng tệp Excel lập từ tệp mẫu."


@_register
class FileUnreadable(Problem):
    code = "file-unreadable"
    title = "Không mở được tệp"
    template = "Không mở được tệp như một bảng tính ({reason})."
    hint = "Mở thử tệp bằng Excel; nếu tệp hỏng, đề nghị đơn vị lưu lại theo mẫu và gửi lại."
    unit_hint = "Mở thử tệp bằng Excel; nếu tệp hỏng, lưu lại báo cáo theo tệp mẫu rồi gửi lại."


@_register
class FileUnsafe(Problem):
    code = "file-unsafe"
    title = "Tệp có thể gây hại"
    template = "Tệp bị từ chối vì {reason}."
    hint = "Không mở tệp này; đề nghị đơn vị lưu lại báo cáo từ Excel theo mẫu và gửi lại."
    unit_hint = "Lưu lại báo cáo từ Excel theo tệp mẫu rồi gửi lại."


@_register
class FileChanged(Problem):
    code = "file-changed"
    title = "Tệp thay đổi trong lúc chạy"
    template = "Tệp đã bị thay đổi hoặc thay thế sau khi được kiểm tra; không gửi bản phản hồi cho tệp này."
    hint = "Chạy lại để kiểm tra tệp mới."
    unit_hint = "Lưu và đóng tệp trong Excel rồi kiểm tra lại."


@_register
class FileEncrypted(Problem):
    code = "file-encrypted"
    title = "Tệp có mật khẩu"
    template = "Tệp được đặt mật khẩu nên không đọc được."
    hint = "Đề nghị đơn vị gỡ mật khẩu (Tệp → Thông tin → Bảo vệ sổ làm việc) rồi gửi lại."
    unit_hint = "Gỡ mật khẩu của tệp (Tệp → Thông tin → Bảo vệ sổ làm việc), lưu lại rồi gửi lại."


@_register
class FileFormatMismatch(Problem):
    code = "file-format-mismatch"
    severity = INFO
    title = "Đuôi tệp không đúng định dạng"
    template = "Tệp có đuôi “{suffix}” nhưng thực chất là {kind}; đã đọc theo định dạng thật."
    hint = "Không cần làm gì; lần sau nên lưu tệp đúng định dạng .xlsx."


@_register
class LegacyEncoding(Problem):
    code = "legacy-encoding"
    severity = INFO
    title = "Bảng mã tiếng Việt cũ"
    template = "Chữ trong {what} gõ bằng bảng mã cũ {encoding}; đã chuyển sang Unicode."
    hint = "Không cần làm gì; lần sau nên gõ bằng Unicode (phông Times New Roman)."


@_register
class SheetTruncated(Problem):
    code = "sheet-truncated"
    severity = INFO
    title = "Trang tính quá lớn, chỉ đọc phần bảng"
    template = "Trang tính khai báo {rows} dòng × {cols} cột; chỉ đọc {max_rows} dòng × {max_cols} cột đầu, nơi có bảng biểu mẫu."
    hint = "Nếu có số liệu nằm ngoài vùng này, chuyển vào đúng bảng của mẫu; xóa dữ liệu thừa ở xa bảng."


@_register
class FormMissing(Problem):
    code = "form-missing"
    title = "Thiếu biểu mẫu"
    template = "Không tìm thấy {form} trong tệp (không có trang tính nào có tiêu đề cột của biểu này)."
    hint = "Dùng đúng tệp mẫu; không xóa hoặc đổi tiêu đề cột của {form}."


@_register
class FormEmpty(Problem):
    code = "form-empty"
    title = "Biểu không có số liệu"
    template = "{form} không có dòng số liệu nào dưới tiêu đề cột."
    hint = "Ghi tên đơn vị và nhập số liệu vào dòng đầu tiên dưới tiêu đề cột của {form}."


@_register
class UnitRepeated(Problem):
    code = "unit-repeated"
    title = "Một đơn vị ghi ở nhiều dòng"
    template = "{name} được ghi ở nhiều dòng trong cùng tệp ({cells}); chỉ dùng dòng đầu tiên."
    hint = "Xóa các dòng thừa, chỉ để một dòng số liệu cho mỗi đơn vị."


@_register
class UnitAmbiguous(Problem):
    code = "unit-ambiguous"
    title = "Tên đơn vị trùng ở nhiều huyện"
    template = "Tên “{name}” có ở nhiều huyện ({where}) nên không biết là đơn vị nào; số liệu của dòng này không được tổng hợp."
    hint = "Ghi rõ đơn vị thuộc huyện nào (dùng tệp mẫu của đúng huyện), hoặc gửi kèm báo cáo của các đơn vị khác cùng huyện."
    unit_hint = "Dùng tệp mẫu do huyện mình gửi và ghi tên đơn vị đúng như trong tệp mẫu."


@_register
class HeaderIncomplete(Problem):
    code = "header-incomplete"
    title = "Thiếu cột"
    template = "Bảng {form} thiếu cột “{label}”."
    hint = "Khôi phục cột “{label}” như trong tệp mẫu rồi nhập số liệu."


@_register
class FileNameUndecodable(Problem):
    code = "file-name-undecodable"
    severity = INFO
    title = "Tên tệp có ký tự lạ"
    template = "Tên tệp có ký tự không đọc được (không phải Unicode), hiển thị là “{name}”; tệp vẫn được đọc."
    hint = "Đổi tên tệp bằng chữ tiếng Việt có dấu gõ Unicode hoặc chữ không dấu, rồi chạy lại."
    unit_hint = "Đổi tên tệp bằng chữ tiếng Việt có dấu gõ Unicode hoặc chữ không dấu, rồi gửi lại."


@_register
class FileLinkOutside(Problem):
    code = "file-link-outside"
    title = "Lối tắt trỏ ra ngoài thư mục báo cáo"
    template = "“{name}” là liên kết trỏ ra ngoài thư mục báo cáo nhận về nên không được đọc."
    hint = "Chép chính tệp báo cáo (không phải lối tắt) vào thư mục báo cáo nhận về rồi chạy lại."
    unit_hint = "Gửi chính tệp báo cáo, không gửi lối tắt tới tệp."


@_register
class FileLinkBroken(Problem):
    code = "file-link-broken"
    title = "Lối tắt hỏng"
    template = "“{name}” là liên kết tới một tệp không còn tồn tại nên không được đọc."
    hint = "Xóa lối tắt này; nếu đây là báo cáo thật, chép chính tệp báo cáo vào thư mục rồi chạy lại."
    unit_hint = "Gửi chính tệp báo cáo, không gửi lối tắt tới tệp."


@_register
class FolderUnreadable(Problem):
    code = "folder-unreadable"
    title = "Không mở được thư mục con"
    template = "Không mở được thư mục “{name}” ({reason}); các tệp trong đó không được đọc."
    hint = "Kiểm tra quyền truy cập thư mục (chuột phải → Properties → Security) rồi chạy lại."
    unit_hint = "Gửi riêng từng tệp báo cáo, không gửi cả thư mục."


@_register
class TextTruncated(Problem):
    code = "text-truncated"
    severity = INFO
    title = "Chữ quá dài, chỉ đọc phần đầu"
    template = "{what}; chỉ đọc {limit}."
    hint = "Nếu đây là báo cáo thật, xóa phần chữ thừa (thường là dữ liệu dán nhầm) rồi gửi lại."


@_register
class FeedbackNotWritten(Problem):
    code = "feedback-not-written"
    severity = INFO
    title = "Không tạo được bản phản hồi"
    template = "Không tạo được bản phản hồi cho tệp này ({reason}); các lỗi của tệp vẫn có trong nhật ký."
    hint = "Đổi tên tệp cho ngắn hơn hoặc chọn thư mục kết quả (--out) có đường dẫn ngắn hơn, rồi chạy lại."
    unit_hint = "Không cần làm gì với tệp này; huyện vẫn ghi nhận các lỗi của tệp."


@_register
class TemplateOutdated(Problem):
    code = "template-outdated"
    severity = WARNING
    title = "Tệp lập từ mẫu cũ"
    template = "Tệp được lập từ mẫu “{found}”, không phải mẫu hiện hành “{expected}”."
    hint = "Tải mẫu mới từ huyện, nhập lại số liệu vào mẫu mới rồi gửi lại tệp đó."


# Units ---------------------------------------------------------------------


@_register
class UnitNameMissing(Problem):
    code = "unit-name-missing"
    title = "Thiếu tên đơn vị"
    template = "Dòng số liệu không ghi tên đơn vị (cột “Bộ phận Một cửa”)."
    hint = "Ghi tên đơn vị đúng như trong danh sách đơn vị báo cáo."
    unit_hint = "Ghi tên đơn vị mình vào cột “Bộ phận Một cửa”, đúng như tên trong tệp mẫu huyện gửi."


@_register
class UnitUnknown(Problem):
    code = "unit-unknown"
    title = "Đơn vị không có trong danh sách"
    template = "Đơn vị “{name}” không có trong danh sách đơn vị báo cáo{suggestion}; số liệu của dòng này không được tổng hợp."
    hint = "Sửa tên đơn vị cho đúng danh sách, hoặc bổ sung đơn vị vào danh sách đơn vị báo cáo."
    unit_hint = "Sửa tên đơn vị cho đúng tên chính thức của đơn vị mình (như trong tệp mẫu huyện gửi); nếu tên đã đúng, báo cho huyện biết."


@_register
class UnitNotReported(Problem):
    code = "unit-not-reported"
    title = "Đơn vị chưa báo cáo"
    template = "Chưa nhận được báo cáo của {name}."
    hint = "Liên hệ đơn vị để nhận báo cáo rồi chạy lại."
    unit_hint = "Gửi báo cáo của {name} cho cấp trên."


@_register
class UnitNameInterpreted(Problem):
    code = "unit-name-interpreted"
    severity = INFO
    title = "Tên đơn vị được hiểu theo danh sách"
    template = "Tên đơn vị “{typed}” được hiểu là “{name}”."
    hint = "Không cần làm gì; lần sau nên ghi đúng tên như trong danh sách đơn vị."
    unit_hint = "Không cần làm gì; lần sau nên ghi đúng tên “{name}”."


@_register
class GroupNotReported(Problem):
    code = "group-not-reported"
    title = "Cả huyện chưa gửi báo cáo"
    template = "Chưa nhận được báo cáo tổng hợp của {name} (không có số liệu của đơn vị nào thuộc {name})."
    hint = "Liên hệ {name} để nhận báo cáo tổng hợp rồi chạy lại."
    unit_hint = "Gửi báo cáo tổng hợp của {name} lên tỉnh."


@_register
class UpstreamErrors(Problem):
    code = "upstream-errors"
    severity = WARNING
    title = "Báo cáo cấp dưới còn lỗi"
    template = "Báo cáo tổng hợp này còn {count} lỗi trong trang “Nhật ký lỗi” của cấp dưới."
    hint = "Xem trang “Nhật ký lỗi” trong tệp; đề nghị cấp dưới sửa và gửi lại nếu cần."
    unit_hint = "Xem trang “Nhật ký lỗi” trong tệp; sửa các lỗi (hoặc đề nghị xã, thị trấn có lỗi gửi lại) rồi gửi lại báo cáo tổng hợp."


@_register
class Superseded(Problem):
    code = "superseded"
    severity = WARNING
    title = "Báo cáo được thay bằng bản mới hơn"
    template = "{name} gửi nhiều tệp; dùng tệp mới hơn “{used}” ({why}), bỏ tệp “{file_name}”."
    hint = "Kiểm tra lại đúng tệp cần dùng; xóa tệp cũ khỏi thư mục nếu không cần."
    unit_hint = "Không cần làm gì nếu tệp “{used}” là bản đúng; nếu không, gửi lại bản đúng."


@_register
class DuplicateFile(Problem):
    code = "duplicate-file"
    severity = INFO
    title = "Tệp trùng"
    template = "{name} gửi hai tệp có cùng số liệu; dùng “{used}”, bỏ “{file_name}”."
    hint = "Không cần làm gì; có thể xóa tệp trùng khỏi thư mục."
    unit_hint = "Không cần làm gì."


@_register
class ResubmissionConflict(Problem):
    code = "resubmission-conflict"
    title = "Hai tệp khác nhau của cùng đơn vị"
    template = "{name} gửi hai tệp có số liệu khác nhau, “{file_name}” và “{other}”, mà không biết tệp nào mới hơn; chưa tổng hợp tệp nào."
    hint = "Hỏi đơn vị tệp nào đúng, xóa tệp kia khỏi thư mục (hoặc đặt tên tệp mới có “_v2”) rồi chạy lại."
    unit_hint = "Báo cho huyện biết tệp nào đúng, hoặc gửi lại bản đúng với tên tệp mới có thêm “_v2”."


@_register
class UploadsReplaced(Problem):
    """A unit re-sent its report through its page, as the page asks: its earlier uploads are replaced quietly
    (no warning, no feedback copy), in one line per unit; ``replaced`` names them, for the provenance sheet."""

    code = "uploads-replaced"
    severity = INFO
    title = "Đơn vị gửi lại qua trang nhận báo cáo"
    template = "{name} gửi lại qua trang nhận báo cáo: dùng bản gửi sau cùng “{used}”, bỏ {count} bản gửi trước."
    hint = "Không cần làm gì."


@_register
class PeriodMismatch(Problem):
    code = "period-mismatch"
    title = "Khác kỳ báo cáo"
    template = "Tiêu đề cột ghi kỳ “{found}”, khác kỳ của báo cáo này “{expected}”; tệp không được tổng hợp."
    hint = "Đề nghị đơn vị dùng mẫu của kỳ báo cáo này và gửi lại."
    unit_hint = "Dùng tệp mẫu của kỳ báo cáo này, nhập lại số liệu rồi gửi lại."


@_register
class Form2UnitAmbiguous(Problem):
    code = "form2-unit-ambiguous"
    title = "Không xác định được đơn vị của Biểu mẫu 2"
    template = "Biểu mẫu 1 của tệp có {count} dòng đơn vị nên không biết Biểu mẫu 2 thuộc đơn vị nào; số liệu Biểu mẫu 2 của tệp không được tổng hợp."
    hint = "Mỗi đơn vị gửi một tệp riêng, ghi tên đơn vị ở đúng một dòng của Biểu mẫu 1."


# Values --------------------------------------------------------------------


@_register
class MissingValue(Problem):
    code = "missing-value"
    title = "Ô bỏ trống"
    template = "Ô “{label}” bỏ trống."
    hint = "Nhập số liệu vào ô này (nếu không có thì nhập 0)."


@_register
class NotANumber(Problem):
    code = "not-a-number"
    title = "Không phải số"
    template = "Ô “{label}” ghi “{raw}”, không phải là số."
    hint = "Chỉ nhập số vào ô này, không kèm chữ hoặc ký hiệu."


@_register
class FormulaWithoutValue(Problem):
    code = "formula-without-value"
    title = "Công thức chưa có giá trị"
    template = "Ô “{label}” chứa công thức {formula} nhưng tệp không lưu kết quả và không tính lại được."
    hint = "Mở tệp bằng Excel, lưu lại (để Excel tính công thức) rồi gửi lại; hoặc nhập trực tiếp con số."


@_register
class FormulaExternal(Problem):
    code = "formula-external"
    severity = WARNING
    title = "Công thức liên kết ra ngoài tệp"
    template = ("Ô chứa công thức {formula} liên kết ra ngoài tệp (trang web, tệp khác hoặc chương trình); "
                "đã dùng giá trị lưu trong tệp, bản phản hồi bỏ công thức này vì lý do an toàn.")
    hint = ("Nhập trực tiếp con số vào ô; không dùng công thức liên kết tới tệp khác, trang web "
            "hoặc chương trình khác (HYPERLINK, WEBSERVICE, DDE…).")


@_register
class NotWholeNumber(Problem):
    code = "not-whole-number"
    title = "Không phải số nguyên"
    template = "Ô “{label}” ghi {value}, nhưng số lượng phải là số nguyên."
    hint = "Nhập số nguyên (0, 1, 2, …)."


@_register
class NegativeCount(Problem):
    code = "negative-count"
    title = "Số lượng âm"
    template = "Ô “{label}” ghi {value}, nhưng số lượng không được âm."
    hint = "Nhập số từ 0 trở lên."


@_register
class TotalMismatch(Problem):
    code = "total-mismatch"
    title = "Tổng số không khớp"
    template = "Tổng số {total} ≠ {own} + {seconded} + {bcci} (= {expected})."
    hint = "Tổng số phải bằng tổng ba cột thành phần: sửa Tổng số thành {expected} hoặc sửa lại các cột thành phần."


@_register
class RateOutOfRange(Problem):
    code = "rate-out-of-range"
    title = "Tỷ lệ ngoài 0–100"
    template = "Ô “{label}” ghi {value}, nhưng tỷ lệ phải nằm trong khoảng 0–100 (%)."
    hint = "Nhập tỷ lệ phần trăm từ 0 đến 100 (ví dụ 97,8)."


@_register
class ValueInterpreted(Problem):
    code = "value-interpreted"
    severity = INFO
    title = "Số ghi dạng chữ"
    template = "Ô “{label}” ghi “{raw}” dạng chữ, đã hiểu là {value}."
    hint = "Không cần làm gì; lần sau nên nhập số trực tiếp."


@_register
class ValueAmbiguous(Problem):
    code = "value-ambiguous"
    severity = WARNING
    title = "Số có hai cách hiểu"
    template = "Ô “{label}” ghi “{raw}”: có thể là {value} hoặc {alternative}; đã hiểu là {value}."
    hint = "Kiểm tra lại với đơn vị; nhập số không có dấu phân cách hàng nghìn."
    unit_hint = "Nhập lại số này không có dấu phân cách hàng nghìn (ví dụ 1234; số thập phân dùng dấu phẩy, ví dụ 12,5)."


@_register
class BelowTarget(Problem):
    code = "below-target"
    severity = WARNING
    title = "Thấp hơn chỉ tiêu"
    template = "Ô “{label}” ghi {value}, thấp hơn chỉ tiêu tỉnh giao {target}."
    hint = "Không phải lỗi số liệu; đơn vị cần có giải pháp để đạt chỉ tiêu."
    unit_hint = "Không phải lỗi số liệu, không cần sửa ô này; cần có giải pháp để đạt chỉ tiêu trong kỳ tới."


@_register
class Outlier(Problem):
    code = "outlier"
    severity = WARNING
    title = "Khác xa các đơn vị khác"
    template = ("Ô “{label}” ghi {value}, {how} mức các đơn vị khác thường nhập: {typical} trong {units} đơn vị "
                "nhập từ {low} đến {high} (mức ở giữa là {median}).")
    hint = "Kiểm tra lại với đơn vị xem số liệu có đúng không; nếu đúng thì không cần sửa."
    unit_hint = "Xem lại số liệu trong ô này; nếu đúng thì không cần sửa."
    HOW = {True: "cao hơn hẳn", False: "thấp hơn hẳn"}

    def __init__(self, *, higher: bool | None = None, **params: object) -> None:
        """``higher``: whether the figure lies above the others' (the rule itself is two-sided)."""
        if higher is not None:
            params["how"] = self.HOW[higher]
        super().__init__(**params)


@_register
class ChangedSincePrevious(Problem):
    code = "changed-since-previous"
    severity = WARNING
    title = "Thay đổi lớn so với kỳ trước"
    template = "Ô “{label}” ghi {value}, kỳ báo cáo trước là {previous}."
    hint = "Kiểm tra lại với đơn vị xem thay đổi này có đúng không; nếu đúng thì không cần sửa."
    unit_hint = "Xem lại số liệu trong ô này so với kỳ trước; nếu đúng thì không cần sửa."


@_register
class IndicatorMissing(Problem):
    code = "indicator-missing"
    title = "Thiếu chỉ tiêu"
    template = "Biểu mẫu 2 thiếu dòng chỉ tiêu “{label}”."
    hint = "Khôi phục dòng “{label}” như trong tệp mẫu rồi nhập số liệu."


@_register
class IndicatorUnknown(Problem):
    code = "indicator-unknown"
    severity = WARNING
    title = "Dòng chỉ tiêu lạ"
    template = "Dòng “{label}” không phải chỉ tiêu của Biểu mẫu 2 nên không được tổng hợp."
    hint = "Xóa dòng này hoặc đưa số liệu vào đúng dòng chỉ tiêu của mẫu."


# Uploads through a unit's link (consolidate serve): refused, nothing saved ------------------


@_register
class UploadNotSpreadsheet(Problem):
    code = "upload-not-spreadsheet"
    title = "Tệp gửi lên không phải bảng tính"
    template = "Tệp “{name}” là {kind}, không phải bảng tính Excel hoặc OpenDocument; chưa lưu gì."
    hint = "Mở báo cáo bằng Excel, lưu theo mẫu (.xlsx) rồi gửi lại tệp đó."


@_register
class UploadOtherUnit(Problem):
    code = "upload-other-unit"
    title = "Tệp gửi lên là báo cáo của đơn vị khác"
    template = "Biểu mẫu 1 của tệp “{name}” ghi {named}, không phải “{unit_name}” (đơn vị của đường liên kết này); chưa lưu gì."
    hint = "Gửi đúng báo cáo của {unit_name}; mỗi đơn vị gửi báo cáo của mình qua đường liên kết riêng của mình."


@_register
class UploadTooLarge(Problem):
    code = "upload-too-large"
    title = "Tệp gửi lên quá lớn"
    template = "Tệp gửi lên lớn hơn giới hạn {limit} MB; chưa lưu gì."
    hint = "Một báo cáo theo mẫu chỉ vài chục KB: xóa các trang tính, ảnh thừa rồi lưu lại và gửi lại."


@_register
class UploadForged(Problem):
    code = "upload-forged"
    title = "Gửi tệp không qua trang của đơn vị"
    template = "Yêu cầu gửi tệp không có mã xác nhận của trang; chưa lưu gì."
    hint = "Mở lại đường liên kết của đơn vị, chọn tệp và bấm “Gửi báo cáo” trên trang đó."


@_register
class UploadTooOften(Problem):
    code = "upload-too-often"
    title = "Gửi quá nhiều lần trong một giờ"
    template = ("Đường liên kết của {unit_name} đã gửi {count} tệp trong một giờ qua, đủ giới hạn {limit} tệp mỗi giờ; "
                "chưa lưu gì.")
    hint = ("Đơn vị gửi lại sau {retry}. Nếu đơn vị không gửi nhiều như vậy, có thể đường liên kết đã lộ: cấp đường "
            "liên kết mới bằng lệnh “consolidate links <thư mục nhận> --out <thư mục kết quả> --renew {unit_code}”; "
            "giới hạn đặt ở khóa upload_per_hour của tệp cấu hình.")
    unit_hint = ("Gửi lại sau {retry}. Nếu đơn vị mình không gửi nhiều như vậy, báo ngay cho văn thư (người tổng hợp) "
                 "để được cấp đường liên kết mới.")


@_register
class UploadUnitFull(Problem):
    code = "upload-unit-full"
    title = "Đơn vị đã gửi quá nhiều dữ liệu"
    template = ("Các tệp {unit_name} đã gửi lên máy chủ chiếm {used} MB; thêm tệp này sẽ vượt giới hạn {limit} MB "
                "của mỗi đơn vị; chưa lưu gì.")
    hint = ("Chuyển các bản gửi cũ của đơn vị ra một thư mục lưu trữ (giữ bản mới nhất trong thư mục nhận báo cáo), "
            "hoặc tăng khóa upload_total_mb trong tệp cấu hình rồi khởi động lại máy chủ.")
    unit_hint = "Báo cho văn thư (người tổng hợp) để dọn các bản đã gửi trên máy chủ, rồi gửi lại tệp này."


@_register
class UploadDiskFull(Problem):
    code = "upload-disk-full"
    title = "Ổ đĩa của máy chủ sắp đầy"
    template = ("Ổ đĩa của máy chủ chỉ còn {free} MB trống; lưu thêm tệp này sẽ để lại ít hơn {margin} MB cần giữ; "
                "chưa lưu gì.")
    hint = "Giải phóng dung lượng ổ đĩa chứa thư mục nhận báo cáo và thư mục kết quả; máy chủ nhận tệp trở lại ngay."
    unit_hint = "Báo cho văn thư (người tổng hợp) để giải phóng ổ đĩa của máy chủ, rồi gửi lại tệp này."


@_register
class UploadCheckStopped(Problem):
    code = "upload-check-stopped"
    title = "Không kiểm tra xong tệp gửi lên"
    template = "Máy chủ đã dừng việc kiểm tra tệp “{name}”: {reason}; chưa lưu gì."
    hint = ("Một báo cáo theo mẫu được kiểm tra trong vài giây: mở tệp bằng Excel, xóa các trang tính, ảnh và dữ liệu "
            "thừa, lưu lại theo mẫu (.xlsx) rồi gửi lại; nếu vẫn không được, báo cho văn thư (người tổng hợp).")


@_register
class HistoryNotRecorded(Problem):
    code = "history-not-recorded"
    clerk_only = True
    severity = WARNING
    title = "Không ghi được lịch sử"
    template = ("Không ghi được số liệu kỳ {period} vào lịch sử ({store}): {reason}. "
                "Bảng tổng hợp và các tệp kết quả khác vẫn được ghi đầy đủ.")
    hint = "Kiểm tra đường dẫn hoặc địa chỉ cơ sở dữ liệu ở --history (quyền ghi, mật khẩu, máy chủ) rồi chạy lại."


@_register
class HistoryNotRead(Problem):
    code = "history-not-read"
    clerk_only = True
    severity = WARNING
    title = "Không đọc được lịch sử"
    template = ("Không đọc được lịch sử ({store}): {reason}. Lần chạy này không so sánh với kỳ trước "
                "và trang HTML không có diễn biến qua các kỳ.")
    hint = "Kiểm tra đường dẫn hoặc địa chỉ cơ sở dữ liệu ở --history rồi chạy lại; hoặc so sánh bằng --previous TỆP."


@_register
class ContentExternal(Problem):
    code = "content-external"
    severity = WARNING
    title = "Nội dung liên kết ra ngoài tệp"
    template = ("{what}: liên kết ra ngoài tệp, khi mở tệp Excel có thể tự truy cập trang web, thư mục mạng "
                "hoặc tệp khác; bản phản hồi đã bỏ phần này vì lý do an toàn.")
    hint = ("Không mở tệp gốc này trên máy có dữ liệu quan trọng; đề nghị đơn vị xóa liên kết đó "
            "(ảnh thì chèn thẳng vào tệp) rồi gửi lại.")
    unit_hint = ("Xóa liên kết, ảnh liên kết, định dạng có điều kiện hoặc danh sách chọn trỏ tới trang web, "
                 "thư mục mạng hay tệp khác (ảnh thì chèn thẳng vào tệp), lưu lại rồi gửi lại.")


# The clerk's traps (issue 22) ------------------------------------------------------------------


@_register
class SampleUnitsList(Problem):
    code = "sample-units-list"
    clerk_only = True
    severity = WARNING
    title = "Đang dùng danh sách đơn vị mẫu"
    template = ("Đang dùng danh sách đơn vị mẫu của {area}, nhưng {unknown}/{files} tệp báo cáo ghi đơn vị "
                "không có trong danh sách đó.")
    hint = ("Tạo danh sách đơn vị của địa phương mình bằng lệnh “consolidate init cau-hinh/”, sửa tệp "
            "cau-hinh/don-vi.xlsx rồi chạy lại với --config cau-hinh/cau-hinh.toml.")


@_register
class NotAReport(Problem):
    code = "not-a-report"
    title = "Tệp không phải báo cáo"
    template = "Tệp “{name}” là {kind}, không phải bảng tính báo cáo nên không kiểm tra được."
    hint = "Báo cáo phải là tệp Excel lập từ tệp mẫu; đề nghị đơn vị gửi lại bằng tệp đó."
    unit_hint = "Lập báo cáo bằng tệp Excel mẫu huyện gửi rồi kiểm tra và gửi tệp Excel đó (không gửi tệp Word, PDF hay ảnh chụp)."


@_register
class CountTooLarge(Problem):
    code = "count-too-large"
    title = "Số quá lớn"
    template = ("Ô “{label}” ghi {value}, quá lớn cho một số lượng: Excel chỉ giữ đúng số có tới 15 chữ số; "
                "số này không được tổng hợp.")
    hint = "Nhập đúng số lượng (số nguyên, không quá 15 chữ số); xem lại ô này có bị dán nhầm số khác không."


@_register
class MacroRemoved(Problem):
    code = "macro-removed"
    severity = WARNING
    title = "Tệp có macro"
    template = ("{what}: macro có thể tự chạy lệnh hoặc chương trình khi mở tệp bằng Excel; số liệu không lấy "
                "từ đó, bản phản hồi đã bỏ phần này vì lý do an toàn.")
    hint = ("Không mở tệp gốc này bằng Excel và không bật macro; đề nghị đơn vị lập lại báo cáo từ tệp mẫu, "
            "lưu thành tệp .xlsx (không có macro) rồi gửi lại.")
    unit_hint = ("Xóa macro khỏi tệp: lập lại báo cáo từ tệp mẫu huyện gửi, lưu thành “Sổ làm việc Excel (*.xlsx)” "
                 "rồi gửi lại.")


SEVERITY_ORDER = (ERROR, WARNING, INFO)  # how every list of problems is read: what must be fixed first


def worst_first(problems: list[Problem]) -> list[Problem]:
    """Errors, then warnings, then notes; each group in the order found (the file's, the cell's)."""
    return sorted(problems, key=lambda p: SEVERITY_ORDER.index(p.severity))


def by_file(problems: list[Problem]) -> dict[str, list[Problem]]:
    """The problems of each file, in the order found: what a feedback copy, the page and the accounting list."""
    grouped: dict[str, list[Problem]] = {}
    for p in problems:
        grouped.setdefault(p.file, []).append(p)
    return grouped


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity == ERROR for p in problems)
