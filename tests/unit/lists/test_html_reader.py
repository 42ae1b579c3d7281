"""HTML tables (web CRM exports named .xls) read as the sheet Excel shows."""

from __future__ import annotations

import codecs
import io

import pytest

from dialer.lists.errors import EmptyFileError, UnreadableEncodingError
from dialer.lists.html_reader import HtmlTableRows, looks_like_html
from dialer.lists.sources import FileFormat, _names_a_phone_column, sniff_format


def rows(page: str | bytes, holds_list: bool = True) -> tuple[HtmlTableRows, list[tuple[int, list[str]]]]:
    data = page.encode() if isinstance(page, str) else page
    reader = HtmlTableRows(io.BytesIO(data), "export.xls", len(data),
                           holds_list=_names_a_phone_column if holds_list else None)
    return reader, list(reader)


def test_cells_as_a_person_sees_them() -> None:
    _, table = rows("""<html><head><title>Лиды</title><style>td {color: red}</style></head><body>
        <table><thead><tr><th>Имя</th><th>Телефон</th><th>Заметка</th></tr></thead>
        <tbody><tr><td>  Иван&nbsp;Петров </td><td>8 913 123-45-67<br/>8 914 123-45-67</td>
        <td><b>важно</b>: &laquo;перезвонить&raquo; &amp; <script>x()</script>написать</td></tr>
        <tr><td colspan="2">Мария</td><td>без номера</td></tr>
        <tr><td>Без закрытых тегов<td>89151234567
        </table></body></html>""")
    assert table == [
        (1, ["Имя", "Телефон", "Заметка"]),
        (2, ["Иван Петров", "8 913 123-45-67\n8 914 123-45-67", "важно: «перезвонить» & написать"]),
        (3, ["Мария", "", "без номера"]),
        (4, ["Без закрытых тегов", "89151234567"]),
    ]


def test_the_first_table_that_holds_the_list() -> None:
    title = "<table><tr><td>Отчёт</td></tr><tr><td>декабрь</td></tr></table>"
    listing = "<table><tr><td>Телефон</td></tr><tr><td>89131234567</td></tr></table>"
    reader, table = rows(title + listing)
    assert (reader.table, table) == (1, [(1, ["Телефон"]), (2, ["89131234567"])])
    assert reader.description == "HTML table 2, UTF-8"
    # No table names a phone column: the first one with rows, for the importer to report.
    reader, table = rows(title + title.replace("Отчёт", "Другое"))
    assert (reader.table, table[0]) == (0, (1, ["Отчёт"]))
    reader, _ = rows(listing + title, holds_list=False)
    assert reader.table == 0
    # An empty table before them takes no place in the search.
    reader, _ = rows("<table></table>" + title + listing)
    assert reader.table == 2


def test_a_long_table_is_chosen_without_reading_it_all() -> None:
    body = "".join(f"<tr><td>8913{n:07d}</td></tr>" for n in range(20_000))
    reader, table = rows(f"<table><tr><td>Телефон</td></tr>{body}</table>")
    assert (reader.table, len(table), table[-1]) == (0, 20_001, (20_001, ["89130019999"]))


@pytest.mark.parametrize(("declared", "codec"), [("windows-1251", "cp1251"), ("koi8-r", "koi8_r"), ("", "cp1251")])
def test_single_byte_pages_by_their_declared_charset(declared: str, codec: str) -> None:
    meta = f'<meta charset="{declared}">' if declared else ""
    page = f"{meta}<table><tr><td>Телефон</td><td>ФИО</td></tr><tr><td>89131234567</td><td>Щукин Пётр</td></tr></table>"
    _, table = rows(page.encode(codec))
    assert table[1] == (2, ["89131234567", "Щукин Пётр"])


def test_utf8_bytes_win_over_a_wrong_declaration_and_utf16() -> None:
    page = '<meta charset="windows-1251"><table><tr><td>Телефон</td></tr><tr><td>Ёлкин</td></tr></table>'
    assert rows(page.encode())[1][1] == (2, ["Ёлкин"])
    utf16 = codecs.BOM_UTF16_LE + page.encode("utf-16-le")
    assert sniff_format(utf16[:4096], "export.xls") is FileFormat.HTML
    assert rows(utf16)[1][1] == (2, ["Ёлкин"])


def test_pages_without_rows_and_unknown_charsets() -> None:
    with pytest.raises(EmptyFileError, match=r"export\.xls: the HTML page has no table rows"):
        rows("<html><body><p>Нет данных</p><table></table></body></html>")
    with pytest.raises(UnreadableEncodingError, match="unknown charset 'x-klingon'"):
        rows('<meta charset="x-klingon"><table><tr><td>Ё</td></tr></table>'.encode("cp1251"))


def test_sniffing() -> None:
    assert looks_like_html(b"\xef\xbb\xbf\r\n<!DOCTYPE html><html>")
    assert looks_like_html(b'<meta http-equiv="Content-type" content="text/html;charset=utf-8" />\n<table border="1">')
    assert not looks_like_html(b"phone;name\n<b>;x\n")
    assert not looks_like_html(b"<phone>\n89131234567\n")
    assert sniff_format(b"phone\n89131234567\n", "list.csv") is FileFormat.CSV


SPREADSHEET_ML = """<?xml version="1.0" encoding="UTF-8"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
 <Styles><Style ss:ID="Default"><Alignment ss:Vertical="Bottom"/></Style></Styles>
 <Worksheet ss:Name="Титул"><Table><Row><Cell><Data ss:Type="String">Реестр должников</Data></Cell></Row></Table>
 </Worksheet>
 <Worksheet ss:Name="Реестр"><Table>
  <Row><Cell><Data ss:Type="String">ФИО</Data></Cell><Cell><Data ss:Type="String">Телефон</Data></Cell>
   <Cell><Data ss:Type="String">Сумма</Data></Cell></Row>
  <Row><Cell ss:MergeAcross="1"><Data ss:Type="String">Иванов</Data></Cell>
   <Cell><Data ss:Type="Number">100</Data><Comment><Data>проверить</Data></Comment></Cell></Row>
  <Row><Cell><Data ss:Type="String">Петров</Data></Cell>
   <Cell ss:Index="3"><Data ss:Type="Number">200</Data></Cell></Row>
  <Row><Cell ss:Index="2"><Data ss:Type="Number">79131234567</Data></Cell></Row>
 </Table></Worksheet>
</Workbook>"""


def test_excel_2003_xml() -> None:
    data = SPREADSHEET_ML.encode()
    assert sniff_format(data[:4096], "export.xml") is FileFormat.HTML
    reader, table = rows(data)
    assert (reader.table, table) == (1, [
        (1, ["ФИО", "Телефон", "Сумма"]),
        (2, ["Иванов", "", "100"]),
        (3, ["Петров", "", "200"]),
        (4, ["", "79131234567"]),
    ])
    # Its XML declaration names the encoding, as a page's meta tag does (too few letters to tell).
    short = ('<?xml version="1.0" encoding="KOI8-R"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">'
             "<Worksheet><Table><Row><Cell><Data>Телефон</Data></Cell><Cell><Data>ФИО</Data></Cell></Row>"
             "<Row><Cell><Data>89131234567</Data></Cell><Cell><Data>Щукин</Data></Cell></Row></Table></Worksheet>"
             "</Workbook>")
    assert rows(short.encode("koi8_r"))[1][1] == (2, ["89131234567", "Щукин"])
