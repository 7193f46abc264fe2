"""Submissions as other programs write them, made by editing the parts of a sample package.

The sample inbox is written by xlsxwriter; units send files saved by Excel,
with markup-compatibility prefixes, revision ids, their own comments, images,
custom XML and defined names. ``as_saved_by_excel`` adds those to a sample
file so the feedback copy can be checked against what it must keep.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from pathlib import Path

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"

SHEET_ROOT = (
    f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}" xmlns:mc="{MC}" mc:Ignorable="x14ac xr xr2 xr3" '
    'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" '
    'xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision" '
    'xmlns:xr2="http://schemas.microsoft.com/office/spreadsheetml/2015/revision2" '
    'xmlns:xr3="http://schemas.microsoft.com/office/spreadsheetml/2016/revision3" '
    'xr:uid="{{{uid}}}">'
)
WORKBOOK_ROOT = (
    f'<workbook xmlns="{MAIN}" xmlns:r="{REL}" xmlns:mc="{MC}" mc:Ignorable="x15 xr xr6 xr10 xr2" '
    'xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/2010/11/main" '
    'xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision" '
    'xmlns:xr6="http://schemas.microsoft.com/office/spreadsheetml/2016/revision6" '
    'xmlns:xr10="http://schemas.microsoft.com/office/spreadsheetml/2016/revision10" '
    'xmlns:xr2="http://schemas.microsoft.com/office/spreadsheetml/2015/revision2">'
)
ABS_PATH = (
    '<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
    '<mc:Choice Requires="x15"><x15ac:absPath url="C:\\Users\\Mot cua\\Documents\\" '
    'xmlns:x15ac="http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac"/></mc:Choice></mc:AlternateContent>'
    '<xr:revisionPtr revIDLastSave="0" documentId="8_{2B1D4C31-6F0B-4E5C-9C3E-2F0C2D6E7A10}" '
    'xr6:coauthVersionLast="47" xr6:coauthVersionMax="47" xr10:uidLastSave="{00000000-0000-0000-0000-000000000000}"/>'
)
# A print area on the second sheet (localSheetId 1), a name local to the first, a global one.
DEFINED_NAMES = (
    "<definedNames>"
    "<definedName name=\"_xlnm.Print_Area\" localSheetId=\"1\">'Biểu mẫu 2'!$A$1:$H$12</definedName>"
    "<definedName name=\"nguon\" localSheetId=\"0\">'Biểu mẫu 1'!$B$7</definedName>"
    "<definedName name=\"tong\">'Biểu mẫu 1'!$C$7</definedName>"
    "</definedNames>"
)
UNIT_AUTHOR = "Nguyễn Văn A"
UNIT_NOTES = {"B7": "Số liệu đã đối chiếu với sổ.", "C7": "Gồm cả 1 người nghỉ thai sản."}


def _comment(ref: str, text: str, uid: int) -> str:
    bold = '<rPr><b/><sz val="9"/><color indexed="81"/><rFont val="Tahoma"/><family val="2"/></rPr>'
    plain = '<rPr><sz val="9"/><color indexed="81"/><rFont val="Tahoma"/><family val="2"/></rPr>'
    return (f'<comment ref="{ref}" authorId="0" shapeId="0" xr:uid="{{6D0C5A30-1A5B-4E0B-9E64-2B3C8F3E0A1{uid}}}">'
            f"<text><r>{bold}<t>{UNIT_AUTHOR}:</t></r><r>{plain}<t xml:space=\"preserve\">\n{text}</t></r></text>"
            "</comment>")


COMMENTS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<comments xmlns="{MAIN}" xmlns:mc="{MC}" mc:Ignorable="xr" '
    'xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision">'
    f"<authors><author>{UNIT_AUTHOR}</author></authors><commentList>"
    + "".join(_comment(ref, text, i) for i, (ref, text) in enumerate(UNIT_NOTES.items()))
    + "</commentList></comments>"
)


def _vml_note(shape_id: int, row: int, col: int) -> str:
    """A note box as Excel writes it: indented, single-quoted styles, an anchor."""
    return f"""<v:shape id="_x0000_s{shape_id}" type="#_x0000_t202" style='position:absolute;
  margin-left:141pt;margin-top:90pt;width:108pt;height:59.25pt;z-index:{shape_id - 1024};
  visibility:hidden' fillcolor="infoBackground [80]" o:insetmode="auto">
  <v:fill color2="infoBackground [80]"/>
  <v:shadow color="none [81]" obscured="t"/>
  <v:path o:connecttype="none"/>
  <v:textbox style='mso-direction-alt:auto'>
   <div style='text-align:left'></div>
  </v:textbox>
  <x:ClientData ObjectType="Note">
   <x:MoveWithCells/>
   <x:SizeWithCells/>
   <x:Anchor>
    {col + 1}, 15, {row}, 2, {col + 3}, 15, {row + 4}, 16</x:Anchor>
   <x:AutoFill>False</x:AutoFill>
   <x:Row>{row}</x:Row>
   <x:Column>{col}</x:Column>
  </x:ClientData>
 </v:shape>"""


VML = (
    '<xml xmlns:v="urn:schemas-microsoft-com:vml"\n xmlns:o="urn:schemas-microsoft-com:office:office"\n'
    ' xmlns:x="urn:schemas-microsoft-com:office:excel">\n <o:shapelayout v:ext="edit">\n'
    '  <o:idmap v:ext="edit" data="1"/>\n </o:shapelayout><v:shapetype id="_x0000_t202" coordsize="21600,21600"'
    ' o:spt="202"\n  path="m,l,21600r21600,l21600,xe">\n  <v:stroke joinstyle="miter"/>\n'
    '  <v:path gradientshapeok="t" o:connecttype="rect"/>\n </v:shapetype>'
    + _vml_note(1025, 6, 1) + _vml_note(1026, 6, 2) + "</xml>"
)
DRAWING = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><xdr:oneCellAnchor><xdr:from><xdr:col>9</xdr:col>'
    "<xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
    '<xdr:ext cx="952500" cy="952500"/><xdr:pic><xdr:nvPicPr><xdr:cNvPr id="2" name="Con dau"/><xdr:cNvPicPr>'
    '<a:picLocks noChangeAspect="1"/></xdr:cNvPicPr></xdr:nvPicPr><xdr:blipFill>'
    f'<a:blip xmlns:r="{REL}" r:embed="rId1"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill>'
    '<xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="952500" cy="952500"/></a:xfrm><a:prstGeom prst="rect">'
    "<a:avLst/></a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/></xdr:oneCellAnchor></xdr:wsDr>"
)
CUSTOM_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    '<b:Sources xmlns:b="http://schemas.openxmlformats.org/officeDocument/2006/bibliography" '
    'SelectedStyle="/APA.XSL" StyleName="APA"/>'
)
CUSTOM_XML_PROPS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    '<ds:datastoreItem ds:itemID="{5E1D6F0A-8C2B-4B7E-9D3A-1F2E3D4C5B6A}" '
    'xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml">'
    '<ds:schemaRefs><ds:schemaRef ds:uri="http://schemas.openxmlformats.org/officeDocument/2006/bibliography"/>'
    "</ds:schemaRefs></ds:datastoreItem>"
)
# Parts openpyxl does not keep; the copy must carry them unchanged.
FOREIGN_PARTS = ("customXml/item1.xml", "customXml/itemProps1.xml", "customXml/_rels/item1.xml.rels",
                 "xl/media/image1.png", "xl/drawings/drawing1.xml", "xl/drawings/_rels/drawing1.xml.rels")


def png(width: int = 2, height: int = 2) -> bytes:
    """A small valid PNG (an orange square)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xf8\xcb\xad" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def read_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write_parts(path: Path, parts: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def _rels(*rels: tuple[str, str, str]) -> bytes:
    items = "".join(f'<Relationship Id="{i}" Type="{t}" Target="{target}"/>' for i, t, target in rels)
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    return f'{head}<Relationships xmlns="{PKG_REL}">{items}</Relationships>'.encode()


def as_saved_by_excel(path: Path) -> None:
    """Make a sample submission look like Excel 365 saved it, with extras openpyxl would drop.

    Sheet and workbook roots with mc:Ignorable prefixes and revision ids,
    rows with x14ac:dyDescent, defined names (one local to each sheet), the
    unit's own comments on B7 and C7 of Biểu mẫu 1 (Excel's VML boxes), an
    image on Biểu mẫu 2, a custom XML part and a calculation chain.
    """
    parts = read_parts(path)
    text = {name: parts[name].decode("utf-8") for name in parts if name.endswith((".xml", ".rels"))}

    for n, name in enumerate(("xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"), start=1):
        sheet = re.sub(r"<worksheet [^>]*>", SHEET_ROOT.format(uid=f"0F6C9A1E-3B2D-4C5E-8F7A-00000000000{n}"),
                       text[name], count=1)
        sheet = sheet.replace("<row ", '<row x14ac:dyDescent="0.25" ')
        extra = '<legacyDrawing r:id="rId1"/>' if n == 1 else '<drawing r:id="rId1"/>'
        text[name] = sheet.replace("</worksheet>", extra + "</worksheet>")
    text["xl/worksheets/_rels/sheet1.xml.rels"] = _rels(
        ("rId1", f"{REL}/vmlDrawing", "../drawings/vmlDrawing1.vml"),
        ("rId2", f"{REL}/comments", "../comments1.xml"),
    ).decode()
    text["xl/worksheets/_rels/sheet2.xml.rels"] = _rels(("rId1", f"{REL}/drawing", "../drawings/drawing1.xml")).decode()
    text["xl/drawings/_rels/drawing1.xml.rels"] = _rels(("rId1", f"{REL}/image", "../media/image1.png")).decode()
    text["xl/comments1.xml"] = COMMENTS
    text["xl/drawings/drawing1.xml"] = DRAWING
    text["xl/calcChain.xml"] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                f'<calcChain xmlns="{MAIN}"><c r="C7" i="1"/></calcChain>')
    text["customXml/item1.xml"] = CUSTOM_XML
    text["customXml/itemProps1.xml"] = CUSTOM_XML_PROPS
    text["customXml/_rels/item1.xml.rels"] = _rels(
        ("rId1", f"{REL}/customXmlProps", "itemProps1.xml")).decode()

    book = re.sub(r"<workbook [^>]*>", WORKBOOK_ROOT, text["xl/workbook.xml"], count=1)
    book = re.sub(r"(<workbookPr[^>]*/>)", r"\1" + ABS_PATH.replace("\\", "\\\\"), book, count=1)
    if "</definedNames>" in book:  # the template's print titles: Excel keeps one list of names
        book = book.replace("</definedNames>", DEFINED_NAMES.removeprefix("<definedNames>"), 1)
    else:
        book = book.replace("<calcPr", DEFINED_NAMES + "<calcPr", 1)
    text["xl/workbook.xml"] = book
    text["xl/_rels/workbook.xml.rels"] = text["xl/_rels/workbook.xml.rels"].replace(
        "</Relationships>",
        f'<Relationship Id="rId90" Type="{REL}/calcChain" Target="calcChain.xml"/>'
        f'<Relationship Id="rId91" Type="{REL}/customXml" Target="../customXml/item1.xml"/></Relationships>',
    )
    text["[Content_Types].xml"] = text["[Content_Types].xml"].replace(
        "<Override ",
        '<Default Extension="png" ContentType="image/png"/>'
        '<Default Extension="vml" ContentType="application/vnd.openxmlformats-officedocument.vmlDrawing"/>'
        '<Override PartName="/xl/comments1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"/>'
        '<Override PartName="/xl/drawings/drawing1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/>'
        '<Override PartName="/xl/calcChain.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/>'
        '<Override PartName="/customXml/itemProps1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.customXmlProperties+xml"/>'
        "<Override ",
        1,
    )
    parts.update({name: value.encode("utf-8") for name, value in text.items()})
    parts["xl/drawings/vmlDrawing1.vml"] = VML.encode("utf-8")
    parts["xl/media/image1.png"] = png()
    write_parts(path, parts)


def undeclared_ignorable_prefixes(xml: bytes) -> list[str]:
    """Prefixes an mc:Ignorable attribute names that the same start tag does not declare."""
    text = xml.decode("utf-8")
    missing = []
    for tag in re.finditer(r"<[^!?/][^>]*\bmc:Ignorable=\"([^\"]*)\"[^>]*>", text):
        for prefix in tag.group(1).split():
            if f"xmlns:{prefix}=" not in tag.group(0):
                missing.append(prefix)
    return missing


# An Excel 4.0 macro sheet: linked as a worksheet (as some tools write it) or with Excel's own relationship type.
WORKSHEET_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
MACROSHEET_REL = "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet"
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"


def macro_workbook(src: Path, dst: Path, relationship: str = WORKSHEET_REL, *, hostile: bool = False) -> Path:
    """``src`` saved as an .xlsm with an Excel 4.0 macro sheet "Macro1" (xl/macrosheets/sheet1.xml) whose first
    cell runs a program; ``hostile`` adds what an infected unit's file holds besides: the sheet hidden, a name
    Auto_Open that runs it when the file opens, and a VBA project (xl/vbaProject.bin)."""
    parts = read_parts(src)
    text = {name: parts[name].decode("utf-8") for name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                                                            "[Content_Types].xml")}
    hidden = ' state="hidden"' if hostile else ""
    workbook = text["xl/workbook.xml"].replace(
        "</sheets>", f'<sheet name="Macro1" sheetId="9"{hidden} r:id="rId99"/></sheets>')
    if hostile:
        auto_open = '<definedName name="_xlnm.Auto_Open" hidden="1">Macro1!$A$1</definedName>'
        if "</definedNames>" in workbook:
            workbook = workbook.replace("</definedNames>", auto_open + "</definedNames>")
        else:
            workbook = workbook.replace("</sheets>", f"</sheets><definedNames>{auto_open}</definedNames>")
    text["xl/workbook.xml"] = workbook
    vba = f'<Relationship Id="rId98" Type="{VBA_REL}" Target="vbaProject.bin"/>' if hostile else ""
    text["xl/_rels/workbook.xml.rels"] = text["xl/_rels/workbook.xml.rels"].replace(
        "</Relationships>", f'<Relationship Id="rId99" Type="{relationship}" Target="macrosheets/sheet1.xml"/>'
                            f"{vba}</Relationships>")
    vba_type = '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>' if hostile else ""
    text["[Content_Types].xml"] = text["[Content_Types].xml"].replace(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml").replace(
        "</Types>", f'{vba_type}<Override PartName="/xl/macrosheets/sheet1.xml" '
                    'ContentType="application/vnd.ms-excel.macrosheet+xml"/></Types>')
    text["xl/macrosheets/sheet1.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<xm:macrosheet xmlns="{MAIN}" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
        'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData>'
        '<row r="1"><c r="A1"><f>EXEC("calc.exe")</f></c></row><row r="2"><c r="A2"><f>HALT()</f></c></row>'
        "</sheetData></xm:macrosheet>")
    parts.update({name: value.encode("utf-8") for name, value in text.items()})
    if hostile:
        parts["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"Attribute VB_Name = \"Module1\"" * 8
    write_parts(dst, parts)
    return dst
