"""Opening a shop's export: encoding, delimiter, and streaming rows with line numbers.

Shops export from Excel, Shopify, WooCommerce and Chinese back offices, so a file may be
UTF-8 (with or without a BOM), GB18030/GBK or Latin-1, separated by commas, tabs,
semicolons or pipes. The file is read as a stream so a million-row export keeps memory flat.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Bytes inspected to guess the encoding and delimiter.
SAMPLE_BYTES = 1 << 20
# csv's default 128 KiB cell limit is far too small for HTML bodies; we accept large cells
# here and let row validation decide what is too long, so the user gets a row error.
FIELD_SIZE_LIMIT = 256 * 1024 * 1024
DELIMITERS = (",", "\t", ";", "|")
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}

csv.field_size_limit(FIELD_SIZE_LIMIT)


class ImportFileError(Exception):
    """The file cannot be read as a table at all (missing, binary, empty, wrong encoding)."""


@dataclass(frozen=True)
class Row:
    """One CSV record and the physical line it starts on (1-based, header is line 1)."""

    line: int
    cells: list[str]


@dataclass
class CsvSource:
    path: Path
    encoding: str
    delimiter: str
    header: list[str]
    size: int
    # Called now and then with the bytes read so far (the CLI's progress bar).
    on_progress: Callable[[int], None] | None = field(default=None, repr=False)
    _raw: io.BufferedReader | None = field(default=None, repr=False)

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))

    def bytes_read(self) -> int:
        """Progress in bytes; approximate (the text layer reads ahead in chunks)."""
        if self._raw is None or self._raw.closed:
            return self.size
        return self._raw.tell()

    def rows(self) -> Iterator[Row]:
        """Stream the data rows (after the header), padded or trimmed to the header width.

        A NUL byte or an undecodable byte part-way through is reported as a file error with
        its line number: it means the file is not the text table it claimed to be.
        """
        width = len(self.header)
        on_progress = self.on_progress
        with self.path.open("rb") as raw:
            self._raw = raw
            text = io.TextIOWrapper(raw, encoding=self.encoding, newline="")
            lines = _guard_lines(text)
            reader = csv.reader(lines, delimiter=self.delimiter, strict=False)
            try:
                next(reader)  # header, already parsed by open_source
                previous_end = reader.line_num
                count = 0
                for cells in reader:
                    start = previous_end + 1
                    previous_end = reader.line_num
                    if not cells or (len(cells) == 1 and not cells[0].strip()):
                        continue  # blank line
                    if len(cells) < width:
                        cells.extend([""] * (width - len(cells)))
                    yield Row(start, cells)
                    count += 1
                    if on_progress is not None and count % 4096 == 0:
                        on_progress(raw.tell())
            except UnicodeDecodeError as exc:
                raise ImportFileError(
                    f"{self.path}: bytes after line {reader.line_num} are not valid "
                    f"{self.encoding} ({exc.reason}); pass --encoding to say which encoding "
                    "the file uses"
                ) from None
            except csv.Error as exc:
                raise ImportFileError(f"{self.path}: line {reader.line_num}: {exc}") from None
            finally:
                self._raw = None
            if on_progress is not None:
                on_progress(self.size)


def _guard_lines(text: io.TextIOWrapper) -> Iterator[str]:
    for number, line in enumerate(text, start=1):
        if "\x00" in line:
            raise ImportFileError(
                f"line {number} contains NUL bytes; this looks like a binary file or a "
                "UTF-16 export, not a CSV (save it as UTF-8 CSV)"
            )
        yield line


def open_source(
    path: Path, *, encoding: str | None = None, delimiter: str | None = None
) -> CsvSource:
    """Check the file, detect encoding and delimiter, and read the header."""
    if not path.exists():
        raise ImportFileError(f"{path} does not exist")
    if path.is_dir():
        raise ImportFileError(f"{path} is a directory, not a CSV file")
    try:
        with path.open("rb") as f:
            sample = f.read(SAMPLE_BYTES)
        size = path.stat().st_size
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not sample.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ImportFileError(f"{path} is empty")
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(f"{path} is UTF-16 encoded; save it as UTF-8 CSV and try again")
    if b"\x00" in sample:
        raise ImportFileError(f"{path} contains NUL bytes; it looks like a binary file, not a CSV")
    if encoding is None:
        encoding = detect_encoding(sample)
    else:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ImportFileError(f"unknown encoding {encoding!r}") from None
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        text = decoder.decode(sample, final=len(sample) == size)
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path} is not valid {encoding}: {exc.reason}") from None
    if encoding == "utf-8-sig" or text.startswith("\ufeff"):
        text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    if delimiter is None:
        delimiter = detect_delimiter(first_line)
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter))
    except (csv.Error, StopIteration) as exc:
        raise ImportFileError(f"{path}: cannot read a header row: {exc}") from None
    header = [unicodedata.normalize("NFC", h.strip().lstrip("\ufeff")) for h in header]
    if not any(header):
        raise ImportFileError(f"{path}: the first line is blank; it must name the columns")
    _refuse_duplicate_columns(path, header)
    if not _looks_like_text(text):
        raise ImportFileError(f"{path} looks like a binary file, not a CSV")
    return CsvSource(path=path, encoding=encoding, delimiter=delimiter, header=header, size=size)


def _refuse_duplicate_columns(path: Path, header: list[str]) -> None:
    """Two columns with one name: which one holds the value is a guess (the second
    ``price`` became a product detail the assistant read out), so the file is refused."""
    first_seen: dict[str, int] = {}
    for number, name in enumerate(header, start=1):
        key = name.casefold()
        if not key:
            continue  # unnamed columns (trailing delimiters) are ignored, not duplicates
        if key in first_seen:
            raise ImportFileError(
                f"{path}: the header names column {name!r} twice (columns "
                f"{first_seen[key]} and {number}); rename or remove one"
            )
        first_seen[key] = number


def detect_encoding(sample: bytes) -> str:
    """UTF-8 first (strict), then GB18030 if the text is plausibly Chinese, else Latin-1.

    Latin-1 bytes often also decode as GB18030, so a GB18030 reading is only trusted when
    nearly every non-ASCII character is a common (GB2312) Chinese character or punctuation.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
    except UnicodeDecodeError:
        text = None
    if text is not None:
        wide = [ch for ch in text if ord(ch) > 0x7F]
        if wide and sum(_is_common_chinese(ch) for ch in wide) / len(wide) >= 0.9:
            return "gb18030"
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _is_common_chinese(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def detect_delimiter(header_line: str) -> str:
    """The candidate that splits the header into the most columns (comma wins ties)."""
    counts = {d: _count_outside_quotes(header_line, d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            count += 1
    return count


def _looks_like_text(text: str) -> bool:
    """Reject files whose sample is mostly control characters (e.g. a renamed image)."""
    sample = text[:65536]
    if not sample:
        return True
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    # Stray escape codes in a few cells are cleaned later; a binary file is full of them.
    return controls < 32 or controls / len(sample) < 0.05
