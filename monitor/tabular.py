"""Reading exports as people's systems write them: encodings, delimiters, dates, numbers, XLSX."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

XLSX_MAGIC = b"PK\x03\x04"
EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (it counts the non-existent 29 Feb 1900)


class ImportProblem(Exception):
    """The file as a whole cannot be read; the message names the file and why."""


def read_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """Header and (line number, row) pairs from a CSV or XLSX file."""
    raw = path.read_bytes()
    if not raw.strip():
        raise ImportProblem(f"{path}: the file is empty")
    if raw.startswith(XLSX_MAGIC):
        return _read_xlsx(path)
    if b"\x00" in raw[:4096]:
        raise ImportProblem(f"{path}: this is a binary file, not a CSV or XLSX export")
    text, _encoding = decode(raw)
    return _read_csv(path, text)


def decode(raw: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else Windows-1252, else Latin-1: what Nordic exports use."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _read_csv(path: Path, text: str) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    first_line = text.split("\n", 1)[0]
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=";,\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = max(";,\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    try:
        header = [column.strip() for column in next(reader)]
    except StopIteration:
        raise ImportProblem(f"{path}: the file is empty") from None

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for values in reader:
            if not any(value.strip() for value in values):
                continue
            yield reader.line_num, dict(zip(header, (value.strip() for value in values)))

    return header, rows()


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile/KeyError/ValueError for broken files
        raise ImportProblem(f"{path}: not a readable XLSX workbook ({error})") from None
    sheet = workbook.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    try:
        header = ["" if cell is None else str(cell).strip() for cell in next(values)]
    except StopIteration:
        raise ImportProblem(f"{path}: the workbook's first sheet is empty") from None

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for line, row in enumerate(values, start=2):
            if all(cell is None or str(cell).strip() == "" for cell in row):
                continue
            yield line, {name: cell for name, cell in zip(header, row) if name}

    return header, rows()


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
    if isinstance(value, (int, float)):
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
    raise ValueError(f"{text!r} is not a date (expected dd-mm-yyyy, dd.mm.yyyy, yyyy-mm-dd or an Excel date)")


def _excel_day(serial: float) -> str:
    if not 1 <= serial < 2_958_466:
        raise ValueError(f"{serial!r} is not an Excel date")
    return (EXCEL_EPOCH + timedelta(days=int(serial))).isoformat()


def parse_amount(value: Any) -> float | None:
    """'12.345,50', '12,345.50', '1234,5', 'kr. 1.234,00', 1234.5 -> a float; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = re.sub(r"[^\d,.\-]", "", str(value))
    if not re.search(r"\d", text):
        raise ValueError(f"{value!r} is not an amount")
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
        return float(text)
    except ValueError:
        raise ValueError(f"{value!r} is not an amount") from None
