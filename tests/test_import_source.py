"""Reading real-world exports: encodings, delimiters, and files that are not CSV at all."""

from __future__ import annotations

import pytest

from shopassist.kb.importers.catalog import import_catalog
from shopassist.kb.importers.source import ImportFileError, detect_encoding, open_source

CHINESE_ROWS = "商品名称,价格,库存,描述\n无线蓝牙耳机,199.00,12,降噪，续航三十小时\n保温杯,59.90,0,不锈钢内胆\n"


def titles(db) -> list[str]:
    return [r[0] for r in db.execute("select title from products order by id")]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_encoded_chinese_export(db, tmp_path, encoding):
    path = tmp_path / "zh.csv"
    path.write_text(CHINESE_ROWS, encoding=encoding)
    report = import_catalog(db, path)
    assert report.encoding == "gb18030"
    assert titles(db) == ["无线蓝牙耳机", "保温杯"]
    assert db.execute("select description from products where id = 1").fetchone()[0] == (
        "降噪，续航三十小时"
    )


def test_utf8_with_bom(db, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_text("title,price\nCafé crème mug,9.50\n", encoding="utf-8-sig")
    report = import_catalog(db, path)
    assert report.encoding == "utf-8-sig"
    assert titles(db) == ["Café crème mug"]  # and the header's BOM did not break 'title'


def test_latin1_export(db, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_text("title;price\nCafé crème mug;9,50\nPâte à crêpes;3,20\n", encoding="latin-1")
    report = import_catalog(db, path)
    assert report.encoding in ("cp1252", "latin-1")
    assert titles(db) == ["Café crème mug", "Pâte à crêpes"]


def test_latin1_is_not_mistaken_for_chinese():
    sample = "title,price\nCrème brûlée set,12\nÉtagère,40\nPiñata,9\n".encode("latin-1")
    assert detect_encoding(sample) in ("cp1252", "latin-1")


def test_pipe_delimiter(db, tmp_path):
    path = tmp_path / "pipe.txt"
    path.write_text("name|price|sku\nDesk Fan|29.99|FAN-1\n")
    report = import_catalog(db, path)
    assert report.delimiter == "pipe"
    assert titles(db) == ["Desk Fan"]


def test_quoted_commas_and_newlines_keep_line_numbers(db, tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text('title,price,description\nLamp,5,"two\nlines, with comma"\nBad,abc,x\n')
    report = import_catalog(db, path)
    assert [e.line for e in report.errors] == [4]  # the quoted newline spans lines 2-3


def test_nonexistent_path(db, tmp_path):
    with pytest.raises(ImportFileError, match="does not exist"):
        import_catalog(db, tmp_path / "missing.csv")


def test_directory_instead_of_file(db, tmp_path):
    with pytest.raises(ImportFileError, match="is a directory"):
        import_catalog(db, tmp_path)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_empty_file(db, tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match="is empty"):
        import_catalog(db, path)


def test_header_only_file(db, tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("title,price,sku\n")
    with pytest.raises(ImportFileError, match="header row but no data rows"):
        import_catalog(db, path)
    assert db.execute("select count(*) from products").fetchone()[0] == 0


def test_binary_file(db, tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    with pytest.raises(ImportFileError, match="binary"):
        import_catalog(db, path)


def test_binary_file_without_nul_bytes(db, tmp_path):
    path = tmp_path / "noise.csv"
    path.write_bytes(bytes(b for b in range(1, 256)) * 64)
    with pytest.raises(ImportFileError, match="binary"):
        import_catalog(db, path)


def test_nul_bytes_in_the_middle_of_a_large_file(db, tmp_path):
    # Past the sniffed sample, so it is found while streaming, with its line number.
    rows = "".join(f"Item {i},1.00,SKU-{i}\n" for i in range(60_000))
    path = tmp_path / "nul.csv"
    path.write_bytes(b"title,price,sku\n" + rows.encode() + b"Bad\x00row,1,X\n")
    with pytest.raises(ImportFileError, match="line 60002 contains NUL"):
        import_catalog(db, path)
    assert db.execute("select count(*) from products").fetchone()[0] == 0


def test_utf16_export_is_named(db, tmp_path):
    path = tmp_path / "u16.csv"
    path.write_text("title,price\nLamp,5\n", encoding="utf-16")
    with pytest.raises(ImportFileError, match="UTF-16"):
        import_catalog(db, path)


def test_invalid_utf8_after_the_sample_is_a_clear_error(db, tmp_path):
    rows = "".join(f"Item {i},1.00,SKU-{i}\n" for i in range(60_000))
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"title,price,sku\n" + rows.encode() + "Caf\u00e9,1,Y\n".encode("latin-1"))
    with pytest.raises(ImportFileError, match="not valid utf-8.*--encoding"):
        import_catalog(db, path)


def test_forced_encoding(db, tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes("title,price\nCafé,1\n".encode("latin-1"))
    source = open_source(path, encoding="latin-1")
    assert source.encoding == "latin-1"
    with pytest.raises(ImportFileError, match="unknown encoding"):
        open_source(path, encoding="klingon")


def test_million_character_cell_is_a_row_error_not_a_crash(db, tmp_path):
    path = tmp_path / "huge.csv"
    huge = "x" * 1_000_000
    path.write_text(f"title,price,description\nOk,1,fine\nBig,2,{huge}\n")
    report = import_catalog(db, path)
    assert not report.committed
    assert [(e.line, e.column) for e in report.errors] == [(3, "description")]
    assert "1,000,000 characters" in report.errors[0].reason


def test_million_character_cell_skipped_with_skip_invalid(db, tmp_path):
    from shopassist.kb.importers.options import ImportOptions

    path = tmp_path / "huge.csv"
    path.write_text(f"title,price,description\nOk,1,fine\nBig,2,{'y' * 1_000_000}\n")
    report = import_catalog(db, path, ImportOptions(skip_invalid=True))
    assert report.committed and report.rejected == 1
    assert titles(db) == ["Ok"]
    assert report.rejected_path is not None
    assert len(report.rejected_path.read_text(encoding="utf-8-sig")) > 1_000_000


def test_progress_is_reported_in_bytes_up_to_the_file_size(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("title,price\n" + "".join(f"Item {i},1\n" for i in range(10_000)))
    source = open_source(path)
    seen: list[int] = []
    source.on_progress = seen.append
    rows = sum(1 for _ in source.rows())
    assert rows == 10_000
    assert seen == sorted(seen) and seen[-1] == path.stat().st_size
    assert len(seen) > 1
