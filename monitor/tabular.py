"""Reading exports as people's systems write them: encodings, delimiters, header rows, dates, numbers, XLSX.

A file is decoded with one encoding throughout and every row is either read whole or reported with its
line, so an import never stores mojibake or values shifted into the wrong column without saying so.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

XLSX_MAGIC = b"PK\x03\x04"
EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (it counts the non-existent 29 Feb 1900)
HEADER_SEARCH_ROWS = 20  # title rows above the column names are a handful at most
JSON_SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# Files people pick by mistake, told apart by their first bytes so the refusal can say what they are.
BINARY_KINDS = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls or other Office 97-2003 file; save it as .xlsx or CSV"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1b\x7f]")
_SEP_LINE = re.compile(r'"?sep=(.)"?[;,\t]*\r?')  # Excel's "this file uses ';'" first line
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_NON_ASCII = re.compile("[^\x00-\x7f]")


class ImportProblem(Exception):
    """The file as a whole cannot be read; the message names the file and why."""


@dataclass(frozen=True)
class BadRow:
    """A row that could not be read into the header's columns, and why."""

    reason: str


Row = tuple[int, "dict[str, Any] | BadRow"]
Record = tuple[int, "list[Any] | BadRow"]


def file_kind(path: Path, raw: bytes, accepted: tuple[str, ...] = ("csv", "xlsx", "json", "jsonl")) -> str:
    """'xlsx', 'json', 'jsonl' or 'csv' from the file's first bytes and name; ImportProblem for any other
    kind, or one not `accepted`."""
    kind = _kind(path, raw, " or ".join(", ".join(k.upper() for k in accepted).rsplit(", ", 1)))
    if kind not in accepted:
        raise ImportProblem(f"{path}: a {kind.upper()} file, but this import reads "
                            f"{' or '.join(k.upper() for k in accepted)} exports")
    return kind


def _kind(path: Path, raw: bytes, expected: str) -> str:
    if not raw.strip():
        raise ImportProblem(f"{path}: the file is empty")
    if raw.startswith(XLSX_MAGIC):
        return "xlsx"
    for magic, kind in BINARY_KINDS:
        if raw.startswith(magic):
            raise ImportProblem(f"{path}: this is a binary file, not a {expected} export (it is {kind})")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise ImportProblem(f"{path}: not an XLSX workbook (an XLSX file is a zip archive; this one is not)")
    if not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = raw[:4096]
        if b"\x00" in head or len(_CONTROL_BYTES.findall(head)) * 20 > len(head):
            raise ImportProblem(f"{path}: this is a binary file, not a {expected} export")
    return JSON_SUFFIXES.get(path.suffix.lower(), "csv")


def decode(raw: bytes, path: Path | str = "the file") -> tuple[str, str]:
    """The text of a whole file and its one encoding: UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252.

    A file that is UTF-8 except for some bytes is refused with the first bad byte's line and column,
    rather than read as Windows-1252, which would turn every other accented letter into mojibake.
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as error:
            raise ImportProblem(f"{path}: not valid UTF-16 (at byte {error.start} of the file)") from None
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as error:
        utf8_error = error
    if raw.startswith(codecs.BOM_UTF8) or _mostly_utf8(raw):
        where, byte = _position(raw, utf8_error.start), raw[utf8_error.start]
        raise ImportProblem(f"{path}: line {where[0]}: not valid UTF-8 (byte 0x{byte:02X} at column {where[1]}), "
                            "though the rest of the file is UTF-8") from None
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as error:
        where, byte = _position(raw, error.start), raw[error.start]
        raise ImportProblem(f"{path}: line {where[0]}: byte 0x{byte:02X} at column {where[1]} is a character "
                            "in neither UTF-8 nor Windows-1252") from None


def _mostly_utf8(raw: bytes) -> bool:
    """True when valid multi-byte UTF-8 characters are at least as many as the bytes that are not UTF-8."""
    text = raw.decode("utf-8", errors="surrogateescape")
    bad = len(_ESCAPED_BYTE.findall(text))
    return len(_NON_ASCII.findall(text)) - bad >= bad


def _position(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
    return raw.count(b"\n", 0, offset) + 1, column


def read_rows(path: Path, known_columns: Collection[str] = (), header_row: int | None = None,
              ) -> tuple[list[str], Iterator[Row]]:
    """Header and (line number, row) pairs from a CSV or XLSX file; a row that cannot be read is a BadRow.

    The header is row `header_row` (1-based) when given; else the row, or two rows read together,
    among the first rows that name the most `known_columns`; else the first row that is not empty.
    """
    raw = path.read_bytes()
    kind = file_kind(path, raw, ("csv", "xlsx"))
    return read_table(path, raw, kind, known_columns, header_row)


def read_table(path: Path, raw: bytes, kind: str, known_columns: Collection[str] = (),
               header_row: int | None = None) -> tuple[list[str], Iterator[Row]]:
    """read_rows for bytes already read and a kind already known ('csv' or 'xlsx')."""
    if kind == "xlsx":
        records: Iterator[Record] = iter(_xlsx_records(path))
        check_widths = False
    else:
        records, check_widths = _csv_records(decode(raw, path)[0]), True
    header_line, header, rest = _split_header(path, records, {column_key(c) for c in known_columns}, header_row)
    if not any(header):
        raise ImportProblem(f"{path}: the file is empty")
    return header, _rows(header_line, header, rest, check_widths)


def column_key(name: Any) -> str:
    """How column names are compared: spaces and line breaks collapsed, case ignored."""
    return cell_name(name).casefold()


def cell_name(cell: Any) -> str:
    """A header cell as a column name, with runs of spaces and line breaks as one space."""
    return "" if cell is None else " ".join(str(cell).split())


def _csv_records(text: str) -> Iterator[Record]:
    """(first line, values) for each CSV record; a record the csv module cannot split is a BadRow."""
    first, _, rest = text.partition("\n")
    offset = 0
    if sep := _SEP_LINE.fullmatch(first):
        delimiter, text, offset = sep.group(1), rest, 1
    else:
        delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=True)
    while True:
        line = reader.line_num + 1 + offset
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield line, BadRow(_csv_reason(str(error), delimiter))
            continue
        yield line, values


def _delimiter(text: str) -> str:
    sample = text[:8192]
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t").delimiter
    except csv.Error:
        lines = [line for line in sample.splitlines() if line.strip()][:HEADER_SEARCH_ROWS]
        return max(";,\t", key=lambda d: sum(line.count(d) for line in lines))


def _csv_reason(message: str, delimiter: str) -> str:
    if message.startswith("field larger than field limit"):
        return (f"a field is longer than {csv.field_size_limit()} characters, the limit for one CSV field "
                "(is a quote left open?)")
    if message == "unexpected end of data":
        return "a quote opened in this row is never closed, so the rest of the file was one field"
    if "expected after" in message:
        return f"a quoted field goes on after its closing quote (expected {delimiter!r} after '\"')"
    return f"not readable as CSV ({message})"


def _xlsx_records(path: Path) -> list[Record]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # the declared <dimension> can be wrong; read every stored cell instead
            return [(number, list(row)) for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
        finally:
            workbook.close()
    except Exception as error:  # openpyxl raises zipfile, KeyError, ValueError, XML and zlib errors for broken files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ImportProblem(f"{path}: not a readable XLSX workbook ({reason})") from None


def _split_header(path: Path, records: Iterator[Record], known: set[str], header_row: int | None,
                  ) -> tuple[int, list[str], Iterator[Record]]:
    """(line of the header, column names, the records after it)."""
    seen: list[Record] = []
    filled: list[int] = []  # indexes in `seen` of rows with values: the header candidates
    for line, values in records:
        seen.append((line, values))
        if not isinstance(values, BadRow) and any(cell_name(v) for v in values):
            filled.append(len(seen) - 1)
        if (header_row is not None and line > header_row + 1) or (header_row is None and len(filled) > HEADER_SEARCH_ROWS):
            break
    if not filled:
        bad = next(((line, v) for line, v in seen if isinstance(v, BadRow)), None)
        raise ImportProblem(f"{path}: line {bad[0]}: {bad[1].reason}" if bad else f"{path}: the file is empty")
    if header_row is not None:
        filled = [index for index in filled if seen[index][0] == header_row] + [
            index for index in filled if seen[index][0] == header_row + 1]
        if not filled or seen[filled[0]][0] != header_row:
            raise ImportProblem(f"{path}: row {header_row} (--header-row) is empty or past the end of the file")
    first, width = _best_header(seen, filled, known, fixed=header_row is not None)
    header_rows = [filled[first + offset] for offset in range(width)]
    names = _names([seen[index][1] for index in header_rows])  # type: ignore[misc]
    after = header_rows[-1] + 1
    return seen[header_rows[-1]][0], names, _chain(seen[after:], records)


def _best_header(seen: list[Record], filled: list[int], known: set[str], fixed: bool) -> tuple[int, int]:
    """(position in `filled`, 1 or 2 rows) of the header naming the most known columns; ties go to the first, single row."""
    best, best_score = (0, 1), 0
    for position in [0] if fixed else range(len(filled)):
        for width in (1, 2):
            rows = filled[position:position + width]
            if len(rows) < width or seen[rows[-1]][0] != seen[rows[0]][0] + width - 1:
                continue  # a two-row header is two adjacent rows
            names = _names([seen[index][1] for index in rows])  # type: ignore[misc]
            score = len({column_key(name) for name in names} & known)
            if score > best_score:
                best, best_score = (position, width), score
    return best


def _names(header_rows: list[list[Any]]) -> list[str]:
    """Column names from one header row, or from a group row above a name row (merged cells spread right)."""
    if len(header_rows) == 1:
        return [cell_name(cell) for cell in header_rows[0]]
    upper, lower = ([cell_name(cell) for cell in row] for row in header_rows)
    width = max(len(upper), len(lower))
    upper, lower = upper + [""] * (width - len(upper)), lower + [""] * (width - len(lower))
    names, group = [], ""
    for top, name in zip(upper, lower):
        group = top or (group if name else "")
        names.append(f"{group} {name}".strip() if top or name else "")
    return names


def _chain(*parts: Iterable[Record]) -> Iterator[Record]:
    for part in parts:
        yield from part


def _rows(header_line: int, header: list[str], records: Iterator[Record], check_widths: bool) -> Iterator[Row]:
    """Rows as {column name: value}; in CSV a row with more or fewer values than the header is a BadRow."""
    width = len(header)
    while width and not header[width - 1]:
        width -= 1
    for line, values in records:
        if isinstance(values, BadRow):
            yield line, values
            continue
        if not any(cell_name(v) for v in values):
            continue
        count = len(values)
        while count > width and not cell_name(values[count - 1]):
            count -= 1  # a trailing delimiter adds an empty value, not a column
        if check_widths and count != width:
            yield line, BadRow(f"{count} values, but the header (line {header_line}) has {width} columns; "
                               "a delimiter or quote is missing or extra")
            continue
        row: dict[str, Any] = {}
        for name, value in zip(header, values):
            if name and name not in row:
                row[name] = value.strip() if isinstance(value, str) else value
        yield line, row


_DMY = re.compile(r"^(\d{1,2})[-./](\d{1,2})[-./](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def parse_day(value: Any) -> str | None:
    """'24-10-2026', '24.10.2026', '2026-10-24', Excel serial 46319, or a datetime -> '2026-10-24'.

    None for an empty value; ValueError for one that is not a date.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _excel_day(float(value))
    text = str(value).strip()
    if match := _YMD.match(text):
        year, month, day = (int(part) for part in match.group(1, 2, 3))
        return date(year, month, day).isoformat()
    if match := _DMY.match(text):
        day, month, year = (int(part) for part in match.groups())
        return date(year, month, day).isoformat()
    if re.fullmatch(r"\d{5}(?:[.,]\d+)?", text):
        return _excel_day(float(text.replace(",", ".")))
    raise ValueError(f"{text[:40]!r} is not a date (expected dd-mm-yyyy, dd.mm.yyyy, yyyy-mm-dd or an Excel date)")


def _excel_day(serial: float) -> str:
    if not 1 <= serial < 2_958_466:
        raise ValueError(f"{serial!r} is not an Excel date")
    return (EXCEL_EPOCH + timedelta(days=int(serial))).isoformat()


def parse_amount(value: Any) -> float | None:
    """'12.345,50', '12,345.50', '1234,5', 'kr. 1.234,00', 1234.5 -> a float; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not an amount")
        return float(value)
    text = re.sub(r"[^\d,.\-]", "", str(value))
    if not re.search(r"\d", text):
        raise ValueError(f"{str(value)[:40]!r} is not an amount")
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if decimal == "," else ",", "").replace(",", ".")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        # One comma followed by three digits is a thousands separator only when the head has digits too
        # and there is more than one comma; a single comma is the decimal comma of Nordic exports.
        text = text.replace(",", "") if text.count(",") > 1 else f"{head}.{tail}"
    elif text.count(".") > 1:
        text = text.replace(".", "")
    try:
        amount = float(text)
    except ValueError:
        raise ValueError(f"{str(value)[:40]!r} is not an amount") from None
    if not math.isfinite(amount):
        raise ValueError(f"{str(value)[:40]!r} is not an amount")
    return amount
