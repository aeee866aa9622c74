"""Spreadsheet I/O: reading uploads (CSV encodings, XLSX, refused files), header guessing, safe exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from crm.spreadsheets import (
    LEAD_FIELDS,
    SpreadsheetError,
    guess_mapping,
    neutralise,
    read_table,
    write_csv,
    write_xlsx,
)

HEADERS_ZH = ["企业名称", "所属行业", "联系人", "手机号码", "统一社会信用代码"]
ROW_ZH = ["安康富硒茶业有限公司", "富硒食品", "张三", "13812345678", "91610900MA70A1B2C3"]


def make_xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, replace: dict[str, bytes]) -> bytes:
    """The same archive with some members' contents swapped."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info.filename)))
    return out.getvalue()


def refusal(filename: str, data: bytes, **limits: int) -> SpreadsheetError:
    """The error a file raises, whether on opening or while its rows are read."""
    with pytest.raises(SpreadsheetError) as caught:
        list(read_table(filename, data, **limits).rows())
    return caught.value


# --- reading CSV ---------------------------------------------------------------------------------------


def test_gbk_csv_with_chinese_headers_is_decoded_as_gb18030():
    text = ",".join(HEADERS_ZH) + "\r\n" + ",".join(ROW_ZH) + "\r\n"
    data = text.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the test needs bytes that are not UTF-8

    table = read_table("台账.csv", data)

    assert table.format == "csv"
    assert table.headers == HEADERS_ZH
    assert list(table.rows()) == [ROW_ZH]


def test_gb18030_only_characters_survive():
    # 䶮 (U+4DAE) is outside GBK; GB18030 encodes it in four bytes.
    data = "企业名称,备注\r\n刘䶮商贸,四字节\r\n".encode("gb18030")

    assert list(read_table("a.csv", data).rows()) == [["刘䶮商贸", "四字节"]]


def test_utf8_csv_with_bom_has_clean_first_header():
    data = ("\ufeff" + ",".join(HEADERS_ZH) + "\n" + ",".join(ROW_ZH) + "\n").encode("utf-8")

    table = read_table("a.csv", data)

    assert table.headers[0] == "企业名称"
    assert list(table.rows()) == [ROW_ZH]


def test_utf16_tab_text_from_excel_unicode_save_is_read():
    data = ("\t".join(HEADERS_ZH) + "\r\n" + "\t".join(ROW_ZH) + "\r\n").encode("utf-16")

    assert list(read_table("a.txt", data).rows()) == [ROW_ZH]


def test_tab_delimited_csv_with_commas_in_cells_splits_on_tabs():
    data = "企业名称\t备注\r\n安康富硒,茶业\t已拜访,待回访\r\n汉阴公司\t无\r\n".encode()

    table = read_table("export.csv", data)

    assert table.headers == ["企业名称", "备注"]
    assert list(table.rows()) == [["安康富硒,茶业", "已拜访,待回访"], ["汉阴公司", "无"]]


def test_semicolon_delimited_csv_is_split():
    data = b"name;mobile\nAcme;13812345678\n"

    assert list(read_table("a.csv", data).rows()) == [["Acme", "13812345678"]]


def test_quoted_newline_stays_inside_its_cell():
    data = '企业名称,备注\r\n安康富硒,"第一行\r\n第二行"\r\n汉阴公司,无\r\n'.encode()

    assert list(read_table("a.csv", data).rows()) == [["安康富硒", "第一行\r\n第二行"], ["汉阴公司", "无"]]


def test_csv_cells_are_stripped_and_long_digits_kept_exact():
    data = '企业名称,统一社会信用代码,手机\n  安康富硒\u3000, 916109000000000017 ,="013812345678"\n'.encode()

    assert list(read_table("a.csv", data).rows()) == [["安康富硒", "916109000000000017", "013812345678"]]


def test_title_and_blank_rows_above_headers_are_skipped():
    data = (
        "2024年安康市客商台账,,\n,,\n企业名称,行业,联系人\n安康富硒,富硒食品,张三\n,,\n汉阴公司,,\n".encode()
    )

    table = read_table("a.csv", data)

    assert table.headers == ["企业名称", "行业", "联系人"]
    assert list(table.rows()) == [["安康富硒", "富硒食品", "张三"], ["汉阴公司", "", ""]]


def test_rows_are_padded_to_header_width_and_can_be_read_twice():
    table = read_table("a.csv", "企业名称,行业,备注\n安康富硒\n".encode())

    assert list(table.rows()) == [["安康富硒", "", ""]]
    assert list(table) == [["安康富硒", "", ""]]


# --- reading XLSX --------------------------------------------------------------------------------------


def test_xlsx_round_trip_keeps_text_numbers_and_dates():
    rows = [
        ["安康富硒茶业有限公司", 12, Decimal("1500.25"), 1.5, dt.date(2024, 3, 1), dt.datetime(2024, 3, 1, 9, 30),
         "13812345678", 916109000000000017, None, True],
    ]  # fmt: skip
    headers = ["企业名称", "人次", "投资额", "比例", "日期", "时间", "手机", "代码", "备注", "重点"]

    table = read_table("export.xlsx", write_xlsx(headers, rows, sheet_title="客商"))

    assert table.format == "xlsx"
    assert table.sheet_title == "客商"
    assert table.headers == headers
    assert list(table.rows()) == [
        ["安康富硒茶业有限公司", "12", "1500.25", "1.5", "2024-03-01", "2024-03-01 09:30", "13812345678",
         "916109000000000017", "", "TRUE"],
    ]  # fmt: skip


def test_xlsx_reads_numbers_typed_as_numbers_without_trailing_zero():
    data = make_xlsx([["企业名称", "手机", "金额"], ["安康富硒", 13812345678.0, 0.1 + 0.2]])

    assert list(read_table("a.xlsx", data).rows()) == [["安康富硒", "13812345678", "0.3"]]


def test_xlsx_stream_longer_than_width_sample_is_written_whole():
    rows = ([f"企业{i}", i] for i in range(1_000))

    table = read_table("a.xlsx", write_xlsx(["企业名称", "序号"], rows))

    read = list(table.rows())
    assert len(read) == 1_000
    assert read[-1] == ["企业999", "999"]


def test_xlsx_first_sheet_empty_reads_the_next_one():
    workbook = Workbook()
    workbook.active.title = "说明"
    workbook.create_sheet("台账").append(["企业名称", "行业"])
    workbook["台账"].append(["安康富硒", "富硒食品"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    table = read_table("a.xlsx", buffer.getvalue())

    assert table.sheet_title == "台账"
    assert list(table.rows()) == [["安康富硒", "富硒食品"]]


def test_row_count_is_the_declared_size_for_xlsx_and_unknown_for_csv():
    data = make_xlsx([["2024年客商台账"], ["企业名称", "行业"], ["安康富硒", "富硒食品"], ["汉阴公司", ""]])

    assert read_table("a.xlsx", data).row_count == 2
    assert read_table("a.csv", "企业名称,行业\n安康富硒,富硒\n".encode()).row_count is None


def test_row_count_of_an_xlsx_without_a_declared_size_is_counted():
    # openpyxl's write-only mode (and so our own exports) writes no <dimension>: the progress bar needs a total.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("台账")
    sheet.append(["企业名称", "行业"])
    for i in range(3000):  # past one 64 KB read, so row tags are cut between reads
        sheet.append([f"安康富硒{i}", "富硒食品"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert b"<dimension" not in zipfile.ZipFile(buffer).read("xl/worksheets/sheet1.xml")

    table = read_table("a.xlsx", buffer.getvalue())

    assert table.row_count == 3000
    assert len(list(table.rows())) == 3000


def test_row_count_counts_row_elements_with_content_only():
    data = make_xlsx([["企业名称", "行业"], ["安康富硒", "富硒食品"]])
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    body = ('<x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>企业名称</x:t></x:is></x:c>'
            '<x:c r="B1" t="inlineStr"><x:is><x:t>行业</x:t></x:is></x:c></x:row>'
            '<x:row r="2" spans="1:2"><x:c r="A2" t="inlineStr"><x:is><x:t>甲</x:t></x:is></x:c></x:row>'
            '<x:row r="3" s="1" customFormat="1"/>'
            '<x:row r="4"><x:c r="A4" t="inlineStr"><x:is><x:t>乙</x:t></x:is></x:c></x:row></x:sheetData>'
            '<x:rowBreaks count="0"></x:rowBreaks>')
    forged = ('<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              + body + "</x:worksheet>")
    assert "<dimension" in sheet  # the original declares its size; the forged one does not

    table = read_table("a.xlsx", rezip(data, {"xl/worksheets/sheet1.xml": forged.encode()}))

    assert table.row_count == 2
    assert [row[0] for row in table.rows()] == ["甲", "乙"]


# --- header mapping ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            ["序号", "企业名称*", "统一社会信用代码", "所属行业", "联系人", "职务", " 手机号码 ", "Email"],
            {"name": 1, "uscc": 2, "industry": 3, "contact_name": 4, "contact_title": 5, "mobile": 6, "email": 7},
        ),
        (
            ["客商名称：", "客商类型", "来源地", "籍贯", "归属县区", "线索来源", "是否重点", "备注", "微信号"],
            {"name": 0, "kind": 1, "origin_region": 2, "home_county": 3, "owner_county": 4,
             "source_channel": 5, "is_key": 6, "notes": 7, "wechat": 8},
        ),
        (
            ["企业（单位）名称", "所属县（区）", "产业链", "姓名", "手机", "固定电话", "电子邮箱", "标签", "状态"],
            {"name": 0, "owner_county": 1, "industry": 2, "contact_name": 3, "mobile": 4, "phone": 5,
             "email": 6, "tags": 7, "status": 8},
        ),
        (
            ["Company Name", "Industry", "Contact", "Mobile", "Phone", "E-mail", "WeChat", "Notes"],
            {"name": 0, "industry": 1, "contact_name": 2, "mobile": 3, "phone": 4, "email": 5, "wechat": 6,
             "notes": 7},
        ),
        (
            ["企业名称", "企业类型", "客商来源地", "联系人手机", "联系人职务", "手机号码(必填)", "行业名称"],
            {"name": 0, "kind": 1, "origin_region": 2, "contact_title": 4, "mobile": 5, "industry": 6},
        ),
    ],
)  # fmt: skip
def test_guess_mapping_of_realistic_header_sets(headers, expected):
    assert guess_mapping(headers) == expected


def test_guess_mapping_exact_header_beats_partial_match_further_left():
    assert guess_mapping(["企业联系人", "联系人"]) == {"contact_name": 1}


def test_guess_mapping_gives_each_column_one_field():
    mapping = guess_mapping(["企业名称", "名称", "企业名称"])

    assert mapping == {"name": 0}


def test_contact_phone_is_mobile_unless_sample_holds_landlines():
    assert guess_mapping(["联系电话"]) == {"mobile": 0}
    assert guess_mapping(["联系电话"], [["0915-3212345"], ["029 88886666"]]) == {"phone": 0}
    assert guess_mapping(["联系电话"], [["138 1234 5678"], ["+86 13912345678"]]) == {"mobile": 0}
    assert guess_mapping(["手机", "联系电话"]) == {"mobile": 0, "phone": 1}


def test_guess_mapping_only_names_lead_fields():
    every_synonym = ["企业名称", "类型", "信用代码", "行业", "标签", "地区", "籍贯", "县区", "来源", "状态", "重点客商",
                     "说明", "联系人姓名", "职位", "手机号", "座机", "邮箱", "微信"]  # fmt: skip

    mapping = guess_mapping(every_synonym)

    assert list(mapping) == list(LEAD_FIELDS)
    assert sorted(mapping.values()) == list(range(len(LEAD_FIELDS)))


# --- writing -------------------------------------------------------------------------------------------

DANGEROUS = ['=HYPERLINK("http://x","点击")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("value", DANGEROUS)
def test_neutralise_prefixes_formula_like_text(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", [-5, -5.5, Decimal("-5"), "安康 -5", "a=b", "", None])
def test_neutralise_leaves_numbers_and_safe_text_alone(value):
    assert neutralise(value) == value


def test_write_xlsx_neutralises_text_cells_but_keeps_negative_numbers():
    data = write_xlsx(["企业名称", "=危险表头"], [[value, -5] for value in DANGEROUS])

    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet["B1"].value == "'=危险表头"
    for row, value in enumerate(DANGEROUS, 2):
        # XML parsers turn a stored CR into LF; the apostrophe in front is what matters.
        assert sheet.cell(row, 1).value == "'" + value.replace("\r", "\n")
        assert sheet.cell(row, 1).data_type == "s"
        assert sheet.cell(row, 2).value == -5
        assert sheet.cell(row, 2).data_type == "n"


def test_write_csv_neutralises_text_cells_but_keeps_negative_numbers():
    data = write_csv(["企业名称", "数量"], [[value, -5] for value in DANGEROUS])

    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[1:] == [["'" + value, "-5"] for value in DANGEROUS]


def test_neutralised_text_reads_back_as_typed():
    table = read_table("a.csv", write_csv(["备注"], [["=1+1"], ["-不是数字"]]))

    assert list(table.rows()) == [["=1+1"], ["-不是数字"]]


def test_write_csv_is_utf8_with_bom_and_crlf():
    data = write_csv(["企业名称", "日期", "金额"], [["安康富硒", dt.date(2024, 3, 1), Decimal("1E+2")]])

    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig") == "企业名称,日期,金额\r\n安康富硒,2024-03-01,100\r\n"


def test_aware_datetimes_are_written_as_beijing_time():
    moment = dt.datetime(2024, 3, 1, 1, 30, tzinfo=dt.UTC)

    assert write_csv(["时间"], [[moment]]).decode("utf-8-sig").splitlines()[1] == "2024-03-01 09:30"
    sheet = load_workbook(io.BytesIO(write_xlsx(["时间"], [[moment]]))).active
    assert sheet["A2"].value == dt.datetime(2024, 3, 1, 9, 30)


def test_write_xlsx_has_bold_frozen_header_real_dates_and_sized_columns():
    data = write_xlsx(
        ["企业名称", "日期", "投资额"],
        [["安康市汉滨区富硒茶业有限公司", dt.date(2024, 3, 1), Decimal("1500.25")]],
        sheet_title="客商/名单:2024",
    )

    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "客商_名单_2024"
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    assert sheet["B2"].is_date and sheet["B2"].value == dt.datetime(2024, 3, 1)
    assert sheet["C2"].data_type == "n" and sheet["C2"].value == 1500.25
    assert sheet.column_dimensions["A"].width > sheet.column_dimensions["B"].width >= 8


def test_write_xlsx_drops_control_characters_openpyxl_refuses():
    data = write_xlsx(["备注"], [["微信\x08复制的文字"]])

    assert load_workbook(io.BytesIO(data)).active["A2"].value == "微信复制的文字"


# --- refused inputs ------------------------------------------------------------------------------------


def test_zip_bomb_is_refused_before_parsing_by_compression_ratio():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("[Content_Types].xml", "<Types/>")
        bomb.writestr("xl/worksheets/sheet1.xml", b"<" + b"0" * 5_000_000)
    assert len(archive.getvalue()) < 50_000

    error = refusal("bomb.xlsx", archive.getvalue())

    assert error.code == "unpacked_too_large"
    assert error.params["ratio"] > 100


def hostile_blank_sheets(sheets: int, blank_rows: int) -> bytes:
    """Issue 13, item 10: sheets of nothing but <row/>, each part under the 1 MB the ratio check started at."""
    return hand_xlsx("", sheets=[(f"S{n}", "<row/>" * blank_rows) for n in range(sheets)])


def test_many_sheets_of_blank_rows_are_refused_by_the_ratio_of_every_part():
    data = hostile_blank_sheets(40, 160_000)  # 40 × 0.96 MB of <row/>
    assert len(data) < 100_000
    error = refusal("hostile.xlsx", data)
    assert error.code == "unpacked_too_large" and error.params["ratio"] > 100


def test_workbook_with_more_sheets_than_a_ledger_has_is_refused():
    assert refusal("a.xlsx", hostile_blank_sheets(101, 1)).code == "too_many_sheets"
    assert read_table("a.xlsx", hand_xlsx("", sheets=[(f"S{n}", HEAD) for n in range(100)])).headers[0] == "企业名称"


def test_header_is_looked_for_in_the_first_rows_and_sheets_only():
    late = f'<row r="{1001}"><c r="A1001" t="inlineStr"><is><t>企业名称</t></is></c>' \
           '<c r="B1001" t="inlineStr"><is><t>备注</t></is></c></row>'
    assert refusal("a.xlsx", hand_xlsx(late)).code == "empty"  # 1,000 blank rows above it
    assert read_table("a.xlsx", hand_xlsx(late.replace("1001", "1000"))).headers == ["企业名称", "备注"]
    blank = [(f"S{n}", "") for n in range(10)]
    assert refusal("a.xlsx", hand_xlsx("", sheets=[*blank, ("台账", HEAD)])).code == "empty"
    assert read_table("a.xlsx", hand_xlsx("", sheets=[*blank[:9], ("台账", HEAD)])).sheet_title == "台账"


@pytest.mark.parametrize("where", ["inline", "shared", "csv"])
def test_a_cell_longer_than_excel_allows_is_refused_and_the_longest_allowed_is_read(where):
    def file(text: str) -> tuple[str, bytes]:
        if where == "csv":
            return "a.csv", f"企业名称,备注\n安康茶业,{text}\n".encode()
        if where == "shared":
            return "a.xlsx", hand_xlsx(HEAD + '<row r="2"><c r="A2" t="s"><v>0</v></c></row>',
                                       shared=f"<si><t>{text}</t></si>")
        return "a.xlsx", hand_xlsx(HEAD + f'<row r="2"><c r="C2" t="inlineStr"><is><t>{text}</t></is></c></row>')

    longest = _noise(32_767).decode()
    rows = list(read_table(*file(longest)).rows())
    assert longest in rows[0]
    for size in (32_768, 10_000_000):
        error = refusal(*file(_noise(size).decode()))
        assert (error.code, error.params) == ("cell_too_large", {"limit": 32_767})


def test_xlsx_unpacking_past_the_limit_is_refused():
    data = make_xlsx([["企业名称"], ["安康富硒"]])

    error = refusal("a.xlsx", data, max_unpacked_bytes=2_000)

    assert error.code == "unpacked_too_large"
    assert error.params["limit"] == 2_000
    assert error.params["size"] > 2_000


@pytest.mark.parametrize("filename", ["random.xlsx", "random.csv", "random"])
def test_random_bytes_are_not_a_spreadsheet(filename):
    data = random.Random(7).randbytes(4_096)

    assert refusal(filename, data).code == "not_a_spreadsheet"


def test_truncated_xlsx_is_not_a_spreadsheet():
    data = make_xlsx([["企业名称"], *[[f"企业{i}"] for i in range(200)]])

    assert refusal("a.xlsx", data[: len(data) // 2]).code == "not_a_spreadsheet"


def test_xlsx_with_broken_sheet_xml_is_not_a_spreadsheet():
    data = rezip(
        make_xlsx([["企业名称"], ["安康富硒"]]), {"xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row"}
    )

    assert refusal("a.xlsx", data).code == "not_a_spreadsheet"


def test_xlsx_with_forged_row_number_is_refused():
    sheet = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c><c r="B1" t="inlineStr"><is><t>x</t></is></c></row>'
        b'<row r="2000000"><c r="A2000000" t="inlineStr"><is><t>a</t></is></c></row>'
        b"</sheetData></worksheet>"
    )
    data = rezip(make_xlsx([["企业名称"]]), {"xl/worksheets/sheet1.xml": sheet})

    assert refusal("a.xlsx", data).code == "not_a_spreadsheet"


def test_docx_is_not_a_spreadsheet():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as docx:
        docx.writestr("[Content_Types].xml", "<Types/>")
        docx.writestr("word/document.xml", "<document/>")

    assert refusal("a.xlsx", archive.getvalue()).code == "not_a_spreadsheet"


def test_ods_is_an_unsupported_format():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as ods:
        ods.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        ods.writestr("content.xml", "<office:document-content/>")

    error = refusal("a.ods", archive.getvalue())

    assert (error.code, error.params) == ("unsupported_format", {"format": "ods"})


def test_old_xls_is_an_unsupported_format_and_protected_xlsx_is_encrypted():
    ole = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504)

    assert refusal("a.xls", ole).code == "unsupported_format"
    assert refusal("a.xlsx", ole + "EncryptionInfo".encode("utf-16-le")).code == "encrypted"


def test_zip_with_encrypted_members_is_encrypted():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as encrypted:
        encrypted.writestr("[Content_Types].xml", "<Types/>")
        encrypted.writestr("xl/workbook.xml", "secret")
    data = bytearray(archive.getvalue())
    # zipfile cannot write encrypted members: set the "encrypted" flag bit in each central directory entry.
    central = data.find(b"PK\x01\x02")
    while central != -1:
        data[central + 8] |= 0x1
        central = data.find(b"PK\x01\x02", central + 1)

    assert refusal("a.xlsx", bytes(data)).code == "encrypted"


@pytest.mark.parametrize(
    ("filename", "data"),
    [("a.csv", b""), ("a.xlsx", b""), ("a.csv", b"\xef\xbb\xbf \r\n , ,\r\n"), ("a.xlsx", make_xlsx([]))],
)
def test_files_without_any_text_are_empty(filename, data):
    assert refusal(filename, data).code == "empty"


def test_csv_with_nul_bytes_is_not_a_spreadsheet():
    data = "企业名称,行业\n安康富硒,富硒\x00食品\n".encode()

    assert refusal("a.csv", data).code == "not_a_spreadsheet"


def test_undecodable_text_is_an_encoding_error():
    data = b"name,industry\nAcme,\x80\xff\x80\n"

    assert refusal("a.csv", data).code == "encoding"


@pytest.mark.parametrize("filename", ["a.csv", "a.xlsx"])
def test_rows_past_max_rows_are_refused_and_max_rows_itself_is_fine(filename):
    rows = [["企业名称", "序号"], *[[f"企业{i}", i] for i in range(5)]]
    data = make_xlsx(rows) if filename.endswith("xlsx") else write_csv(rows[0], rows[1:])

    assert len(list(read_table(filename, data, max_rows=5).rows())) == 5
    error = refusal(filename, data, max_rows=4)
    assert (error.code, error.params) == ("too_many_rows", {"limit": 4})


def test_file_over_max_bytes_is_too_large():
    data = write_csv(["企业名称"], [["安康富硒"]] * 100)

    error = refusal("a.csv", data, max_bytes=len(data) - 1)

    assert (error.code, error.params) == ("too_large", {"size": len(data), "limit": len(data) - 1})


def test_unknown_error_code_is_a_programming_error():
    with pytest.raises(ValueError):
        SpreadsheetError("oops")


# --- the streaming XLSX reader (crm.spreadsheets.xlsx_stream) -----------------------------------------

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{MAIN_NS}"><numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/>
<numFmt numFmtId="165" formatCode="&quot;¥&quot;#,##0.00"/></numFmts>
<cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>
<cellXfs count="6"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/><xf numFmtId="31"/>
<xf numFmtId="20"/></cellXfs></styleSheet>"""


def hand_xlsx(sheet_data: str, *, shared: str | None = None, sheets: list[tuple[str, str]] | None = None,
              workbook_pr: str = "", active: int = 0, extra: dict[str, bytes] | None = None) -> bytes:
    """A workbook written by hand, part by part, as Excel or WPS would: sheets are (name, sheetData xml)."""
    sheets = [("Sheet1", sheet_data)] if sheets is None else sheets
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                               'content-types"/>',
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
                       f'Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/styles.xml": STYLES,
    }
    rels = [f'<Relationship Id="rS" Type="{REL_NS}/styles" Target="styles.xml"/>']
    entries = []
    for n, (name, data) in enumerate(sheets, 1):
        parts[f"xl/worksheets/sheet{n}.xml"] = (f'<?xml version="1.0"?><worksheet xmlns="{MAIN_NS}">'
                                                f'<dimension ref="A1:C{n}"/><sheetData>{data}</sheetData></worksheet>')
        rels.append(f'<Relationship Id="rId{n}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{n}.xml"/>')
        entries.append(f'<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>')
    if shared is not None:
        parts["xl/sharedStrings.xml"] = f'<?xml version="1.0"?><sst xmlns="{MAIN_NS}">{shared}</sst>'
        rels.append(f'<Relationship Id="rSS" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>')
    parts["xl/_rels/workbook.xml.rels"] = f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL}">{"".join(rels)}' \
                                          '</Relationships>'
    parts["xl/workbook.xml"] = (f'<?xml version="1.0"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">{workbook_pr}'
                                f'<bookViews><workbookView activeTab="{active}"/></bookViews>'
                                f'<sheets>{"".join(entries)}</sheets></workbook>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text.encode("utf-8") if isinstance(text, str) else text)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


HEAD = '<row r="1"><c r="A1" t="inlineStr"><is><t>企业名称</t></is></c><c r="B1" t="inlineStr"><is><t>日期</t></is></c>' \
       '<c r="C1" t="inlineStr"><is><t>备注</t></is></c></row>'


def test_stream_reads_shared_strings_rich_text_and_leaves_out_phonetic_guides():
    shared = ('<si><t>企业名称</t></si><si><t>联系人</t></si>'
              '<si><r><rPr><b/></rPr><t>安康</t></r><r><t xml:space="preserve">富硒 茶业</t></r>'
              '<rPh sb="0" eb="2"><t>アンカン</t></rPh></si><si><t/></si>')
    data = hand_xlsx('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
                     '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>', shared=shared)
    table = read_table("a.xlsx", data)
    assert table.headers == ["企业名称", "联系人"]
    assert list(table.rows()) == [["安康富硒 茶业", ""]]


def test_stream_reads_inline_strings_numbers_booleans_errors_and_formula_text():
    data = hand_xlsx(HEAD + '<row r="2"><c r="A2" t="inlineStr"><is><r><t>汉江</t></r><r><t>药业</t></r></is></c>'
                     '<c r="B2"><v>13812345678</v></c><c r="C2" t="b"><v>1</v></c></row>'
                     '<row r="3"><c r="A3" t="str"><f>A2&amp;"X"</f><v>汉江药业X</v></c><c r="B3" t="e"><v>#N/A</v>'
                     '</c><c r="C3"><v>0.1</v></c></row>'
                     '<row r="4"><c r="A4" t="n"><v>1.5E3</v></c><c r="B4"><v>-7</v></c></row>')
    assert list(read_table("a.xlsx", data).rows()) == [
        ["汉江药业", "13812345678", "TRUE"], ["汉江药业X", "#N/A", "0.1"], ["1500", "-7", ""]]


def test_stream_reads_dates_by_style_builtin_custom_chinese_and_times():
    data = hand_xlsx(HEAD + '<row r="2"><c r="A2" t="inlineStr"><is><t>甲</t></is></c><c r="B2" s="1"><v>45292</v></c>'
                     '<c r="C2" s="3"><v>45292</v></c></row>'  # ¥ currency format: a number, not a date
                     '<row r="3"><c r="A3" t="inlineStr"><is><t>乙</t></is></c><c r="B3" s="2"><v>45292.5</v></c>'
                     '<c r="C3" s="5"><v>0.4375</v></c></row>'
                     '<row r="4"><c r="A4" t="inlineStr"><is><t>丙</t></is></c><c r="B4" s="4"><v>1</v></c>'
                     '<c r="C4" t="d"><v>2024-03-05T08:30:00</v></c></row>')
    assert list(read_table("a.xlsx", data).rows()) == [
        ["甲", "2024-01-01", "45292"], ["乙", "2024-01-01 12:00", "10:30"], ["丙", "1900-01-01", "2024-03-05 08:30"]]


def test_stream_reads_1904_dates():
    data = hand_xlsx(HEAD + '<row r="2"><c r="A2" t="inlineStr"><is><t>甲</t></is></c><c r="B2" s="1"><v>0.0</v>'
                     '</c></row><row r="3"><c r="A3" t="inlineStr"><is><t>乙</t></is></c><c r="B3" s="1"><v>43830'
                     '</v></c></row>', workbook_pr='<workbookPr date1904="1"/>')
    rows = list(read_table("a.xlsx", data).rows())
    assert rows[1] == ["乙", "2024-01-01", ""]


def test_stream_fills_empty_cells_column_gaps_and_skips_blank_rows():
    data = hand_xlsx(HEAD + '<row r="2"><c r="C2" t="inlineStr"><is><t>只有备注</t></is></c></row>'
                     '<row r="3"><c r="A3"/><c r="B3" t="inlineStr"><is><t></t></is></c></row>'
                     '<row r="7" spans="1:3"><c t="inlineStr"><is><t>无坐标</t></is></c>'
                     '<c t="inlineStr"><is><t>第二列</t></is></c></row>'
                     '<row r="8"><c r="A8" t="inlineStr"><is><t>宽</t></is></c>'
                     '<c r="AB8" t="inlineStr"><is><t>表外</t></is></c></row>')
    assert list(read_table("a.xlsx", data).rows()) == [["", "", "只有备注"], ["无坐标", "第二列", ""],
                                                       ["宽", "", ""]]


def test_stream_starts_with_the_active_sheet_and_ignores_chartsheets():
    data = hand_xlsx("", sheets=[("说明", HEAD.replace("企业名称", "说明")), ("台账", HEAD + '<row r="2"><c r="A2" '
                                                                                     't="inlineStr"><is><t>甲</t></is></c></row>')],
                     active=1)
    table = read_table("a.xlsx", data)
    assert table.sheet_title == "台账" and list(table.rows()) == [["甲", "", ""]]
    assert table.row_count == 1  # declared A1:C2, less the header


@pytest.mark.parametrize("sheet_data", [
    '<row r="1"><c r="A1" t="s"><v>9</v></c><c r="B1" t="s"><v>0</v></c></row>',  # no such shared string
    '<row r="1"><c r="A1"><v>abc</v></c><c r="B1"><v>1</v></c></row>',  # a number that is not one
    '<row r="1"><c r="1A"><v>1</v></c><c r="B1"><v>1</v></c></row>',  # a forged cell reference
    '<row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>2</v></c>',  # cut off: the XML is broken
])
def test_stream_refuses_damaged_sheets_cleanly(sheet_data):
    assert refusal("a.xlsx", hand_xlsx(sheet_data, shared="<si><t>a</t></si>")).code == "not_a_spreadsheet"


def test_stream_refuses_entity_expansion_and_doctypes():
    laughs = ('<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "hahahahahahahahahaha">'
              + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefgh", "bcdefghi", strict=True))
              + f']><sst xmlns="{MAIN_NS}"><si><t>&i;</t></si></sst>').encode()
    data = hand_xlsx('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>x</t></is></c></row>',
                     shared="<si><t>a</t></si>")
    assert refusal("a.xlsx", rezip(data, {"xl/sharedStrings.xml": laughs})).code == "not_a_spreadsheet"
    comment = b"<!--" + _noise(70_000) + b"-->"  # a DTD pushed past the first block is still refused
    assert refusal("a.xlsx", rezip(data, {"xl/sharedStrings.xml": laughs.replace(
        b'<?xml version="1.0"?>', b'<?xml version="1.0"?>' + comment)})).code == "not_a_spreadsheet"


def _noise(n: int) -> bytes:
    """Filler that deflates as little as real text (spaces would trip the compression-ratio check first)."""
    return random.Random(n).randbytes((n + 1) // 2).hex().encode()[:n]


@pytest.mark.parametrize("cut", [1, 2, 5, 8])
def test_stream_refuses_a_doctype_split_across_the_read_boundary(cut):
    """Issue 13, item 11: `<!DOCTYPE` cut by the first 64 KiB read and `<!ENTITY` by the second, so that no
    read holds either word; the internal entity was expanded into the notes cell."""
    data = hand_xlsx('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>备注</t></is></c></row>'
                     '<row r="2"><c r="A2" t="inlineStr"><is><t>安康茶业</t></is></c><c r="B2" t="s"><v>1</v></c>'
                     '</row>', shared="<si><t>企业名称</t></si><si><t>x</t></si>")
    block = 65_536  # the 64 KiB of the issue; a multiple of the reader's own read size as well
    head = b'<?xml version="1.0"?><!--'
    first = head + _noise(block - len(head) - 3 - cut) + b"-->"
    subset = b"<!DOCTYPE sst [<!--"
    second = subset + _noise(block - (len(subset) - cut) - 3 - cut) + b"-->"
    shared = (first + second + b'<!ENTITY e "INJECTED">]>'
              + f'<sst xmlns="{MAIN_NS}"><si><t>企业名称</t></si><si><t>&e;</t></si></sst>'.encode())
    assert shared.index(b"<!DOCTYPE") == block - cut and shared.index(b"<!ENTITY") == 2 * block - cut
    assert refusal("a.xlsx", rezip(data, {"xl/sharedStrings.xml": shared})).code == "not_a_spreadsheet"


def test_stream_workbook_without_worksheets_is_not_a_spreadsheet():
    data = hand_xlsx("", sheets=[])
    assert refusal("a.xlsx", data).code == "not_a_spreadsheet"


def test_stream_reads_what_openpyxl_reads():
    rng = random.Random(3)
    rows = [["名称", "数量", "日期", "金额", "备注"]]
    for i in range(300):
        rows.append([f"企业{i}" if rng.random() > 0.1 else None, rng.choice([i, -i, i * 1.25, None]),
                     dt.datetime(2020, 1, 1) + dt.timedelta(days=i, minutes=rng.randrange(0, 1440)) if i % 3 else None,
                     rng.choice([True, False, 0.1 + 0.2, 10 ** 15, "=\"0123\""]), "多行\n文本" if i % 7 == 0 else ""])
    data = make_xlsx(rows)
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    from crm.spreadsheets.reading import clean_cell

    expected = [[clean_cell(v) for v in row] for row in workbook.active.iter_rows(min_row=2, values_only=True)]
    expected = [row for row in expected if any(row)]
    assert list(read_table("a.xlsx", data).rows()) == expected
