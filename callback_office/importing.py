"""Excel imports: read → validate every row → plan (reads only) → write once, atomically.

The framework knows nothing of the apps. Each app registers its *kinds* from its AppConfig.ready()
(`register_kind`), and may add columns and a follow-up step to another app's kind
(`register_extension`, e.g. callbacks adds 回访员工号 pre-assignment to `candidates`).

A kind is a list of `Column`s (the exact Chinese headers, a cell parser, whether blank cells are
allowed), the fields that must be unique inside one file, and a `plan(*, season_year, rows)`
function. `plan` looks existing rows up with one query per model, checks the rows against the
database (unknown province, unknown 工号 ...), counts created / updated / unchanged and returns an
`ImportPlan` whose `write()` saves everything with bulk_create / bulk_update. `import_file`
runs it: a dry run stops after planning; a commit plans again and writes inside one
`transaction.atomic()`, so a file with any bad row changes nothing.

Speed: python-calamine reads the sheet at once (~100,000 rows/s); parsing is plain Python per
cell; the writes are batched. Query counts do not depend on the number of rows.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import tablib
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, JSONField, Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from callback_office.excel import SheetWriter, new_workbook, safe_text, save_workbook

PREVIEW_ROWS = 20
# Above this many keys, existing rows are looked up with the keys as one array parameter instead
# of an IN list of parameters (SQLite limits their number; huge IN lists are slow to plan).
IN_LIST_MAX = 900
BATCH_SIZE = 2000
YES = "是"
NO = "否"


# --- errors -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """A bad row (or a bad file when `row_number` is None): where and why, in Chinese and English."""

    row_number: int | None
    column: str
    message: str
    message_en: str

    def __str__(self) -> str:
        where = f"第{self.row_number}行" if self.row_number is not None else "文件"
        if self.column:
            where += f"「{self.column}」"
        return f"{where}：{self.message}"

    def as_english(self) -> str:
        where = f"row {self.row_number}" if self.row_number is not None else "file"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message_en}"


class CellError(ValueError):
    """Raised by a cell parser; the framework adds the row and column."""

    def __init__(self, message: str, message_en: str):
        super().__init__(message)
        self.message = message
        self.message_en = message_en


# --- cell parsers -------------------------------------------------------------------------------
# A parser receives a non-blank cell value as python-calamine returns it (str, float, int, bool,
# date, datetime, time, timedelta) and returns the typed value or raises CellError.

Parser = Callable[[Any], Any]


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number_text(value: Any) -> str | None:
    """Integral numbers as digits (考生号 and phones typed as numbers), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None


def text(max_length: int) -> Parser:
    def parse(value: Any) -> str:
        if isinstance(value, str):
            result = value.strip()
        elif (digits := _number_text(value)) is not None:
            result = digits
        elif isinstance(value, float):
            result = repr(value)
        elif isinstance(value, dt.datetime | dt.date):
            raise CellError("应为文本，不是日期", "expected text, got a date")
        else:
            result = str(value).strip()
        if len(result) > max_length:
            raise CellError(f"超过 {max_length} 个字符", f"longer than {max_length} characters")
        return result

    return parse


ID_NUMBER_RE = re.compile(r"^(\d{17}[\dX]|\d{15})$")


def id_number(value: Any) -> str:
    """身份证号: 18 characters (last may be X) or 15 digits, typed as text."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        raise CellError(
            "身份证号请以文本格式填写（数字格式会丢失末几位）",
            "enter the ID number as text (a number cell loses the last digits)",
        )
    result = str(value).strip().upper()
    if not ID_NUMBER_RE.match(result):
        raise CellError(
            f"身份证号格式不正确：“{result}”（应为18位，末位可为X）",
            f"invalid ID number {result!r} (18 characters, the last may be X)",
        )
    return result


PHONE_SPLIT_RE = re.compile(r"[,，;；/、\s]+")
PHONE_RE = re.compile(r"^\+?\d[\d-]{4,19}$")


def _phone(raw: str) -> str:
    number = raw.strip().replace(" ", "")
    if not PHONE_RE.match(number):
        raise CellError(f"电话号码格式不正确：“{raw}”", f"invalid phone number {raw!r}")
    return number


def phone(value: Any) -> str:
    """One phone number."""
    digits = _number_text(value)
    return _phone(digits if digits is not None else str(value))


def phones(value: Any) -> list[str]:
    """One or more phone numbers in a cell, separated by 、 , ; / or spaces."""
    digits = _number_text(value)
    if digits is not None:
        return [_phone(digits)]
    if isinstance(value, str) and PHONE_RE.match(single := value.strip()):
        return [single]  # the common case: one number
    numbers = []
    for part in PHONE_SPLIT_RE.split(str(value).strip()):
        if part:
            number = _phone(part)
            if number not in numbers:
                numbers.append(number)
    return numbers


def yes_no(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        cleaned = value.strip()
        if cleaned == YES:
            return True
        if cleaned == NO:
            return False
    raise CellError(
        f"应填“是”或“否”，不是“{_shown(value)}”", f"expected 是 (yes) or 否 (no), got {_shown(value)!r}"
    )


DATE_RE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"
)


def date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and (m := DATE_RE.match(value.strip())):
        try:
            result = dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            result = None
        if result is not None and 2000 <= result.year <= 2100:
            return result
    raise CellError(
        f"日期无法识别：“{_shown(value)}”（应为 Excel 日期或 YYYY-MM-DD）",
        f"unrecognised date {_shown(value)!r} (use an Excel date or YYYY-MM-DD)",
    )


MONEY_STRIP_RE = re.compile(r"[,，¥￥元\s]")
CENT = Decimal("0.01")
MONEY_MAX = Decimal("99999999.99")


def money(value: Any) -> Decimal:
    """A non-negative amount in yuan, to the cent."""
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        if isinstance(value, float | int):
            amount = Decimal(repr(value))
        else:
            amount = Decimal(MONEY_STRIP_RE.sub("", str(value)))
        if not amount.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise CellError(
            f"金额无法识别：“{_shown(value)}”", f"unrecognised amount {_shown(value)!r}"
        ) from None
    if amount < 0 or amount > MONEY_MAX:
        raise CellError(
            f"金额应在 0 到 {MONEY_MAX} 元之间：“{_shown(value)}”",
            f"amount must be between 0 and {MONEY_MAX}: {_shown(value)!r}",
        )
    return amount.quantize(CENT)


RATE_PLACES = Decimal("0.00001")


def rate(value: Any) -> Decimal:
    """A rate as a fraction: an Excel percent cell (0.975 shown as 97.5%) or text "97.5%"."""
    bad = CellError(
        f"比率无法识别：“{_shown(value)}”（应为百分比，如 97.5% 或 0.975）",
        f"unrecognised rate {_shown(value)!r} (use a percentage such as 97.5% or 0.975)",
    )
    try:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, float | int):
            result = Decimal(repr(value))
        else:
            raw = str(value).strip().replace("％", "%")
            result = Decimal(raw[:-1].strip()) / 100 if raw.endswith("%") else Decimal(raw)
    except InvalidOperation:
        raise bad from None
    if not result.is_finite() or not (0 <= result <= 1):
        raise CellError(
            f"比率应在 0%–100% 之间：“{_shown(value)}”",
            f"rate must be between 0% and 100%: {_shown(value)!r}",
        )
    return result.quantize(RATE_PLACES)


def positive_int(value: Any) -> int:
    result: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        result = value
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        result = int(value.strip())
    if result is None or not (1 <= result <= 32767):
        raise CellError(
            f"应为正整数：“{_shown(value)}”", f"expected a positive whole number, got {_shown(value)!r}"
        )
    return result


def choice(labels: Mapping[str, str]) -> Parser:
    """Chinese label → stored value (the stored values themselves are accepted as well)."""
    lookup = {**{v: v for v in labels.values()}, **dict(labels)}
    allowed = "/".join(labels)

    def parse(value: Any) -> str:
        key = str(value).strip()
        if key in lookup:
            return lookup[key]
        raise CellError(f"应为 {allowed} 之一，不是“{key}”", f"expected one of {allowed}, got {key!r}")

    parse.display = {v: k for k, v in labels.items()}  # type: ignore[attr-defined]
    return parse


# --- kinds and the registry ---------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: str  # the exact Chinese header
    field: str  # key in the row dict
    parse: Parser
    required: bool = True  # blank cells are errors
    optional_header: bool = False  # the whole column may be left out of the file
    default: Any = None  # value of a blank cell when not required
    example: Any = ""  # the template workbook's example row
    hint: str = ""  # shown in the template's 说明 sheet


@dataclass
class ImportPlan:
    """What a kind would do with the rows: errors, counts, and the write step."""

    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    details: dict[str, int] = field(default_factory=dict)  # other counts, label → number
    warnings: list[str] = field(default_factory=list)
    write: Callable[[], None] | None = None


PlanFn = Callable[..., ImportPlan]  # plan(*, season_year: int, rows: list[dict]) -> ImportPlan


@dataclass(frozen=True)
class KindExtension:
    """Columns and a follow-up step another app adds to a kind (planned and written after it)."""

    columns: tuple[Column, ...]
    plan: PlanFn


@dataclass
class ImportKind:
    name: str
    title: str  # the list's Chinese name, e.g. 投档考生名单
    columns: tuple[Column, ...]
    plan: PlanFn
    key: tuple[str, ...] = ()  # fields unique within one file
    order: int = 100  # position in menus: the order the office imports in
    # season_year -> a tablib Dataset of the season's current data under the same headers (a
    # django-import-export Resource's export), so an export edited in Excel imports back
    exporter: Callable[[int], Any] | None = None
    extensions: list[KindExtension] = field(default_factory=list)

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return self.columns + tuple(c for ext in self.extensions for c in ext.columns)

    def column(self, field_name: str) -> Column:
        return next(c for c in self.all_columns if c.field == field_name)


_KINDS: dict[str, ImportKind] = {}
_discovered = False
_in_progress = False
_discovering = threading.RLock()


def autodiscover() -> None:
    """Import every installed app's `imports` module; each registers its kinds when imported.

    Thread-safe: a second thread waits until the first has registered every kind (it used to see
    the flag already set and an empty registry: "unknown import kind")."""
    global _discovered, _in_progress
    if _discovered:
        return
    with _discovering:
        if _discovered or _in_progress:  # done, or an `imports` module asking while being imported
            return
        _in_progress = True
        try:
            autodiscover_modules("imports")
        finally:
            _in_progress = False
        _discovered = True


def register_kind(kind: ImportKind) -> None:
    existing = _KINDS.get(kind.name)
    if existing is not None:
        kind.extensions = existing.extensions  # extensions registered first survive a reload
    _KINDS[kind.name] = kind


def register_extension(kind_name: str, extension: KindExtension) -> None:
    kind = _KINDS[kind_name]
    if extension not in kind.extensions:
        kind.extensions.append(extension)


def get_kind(name: str) -> ImportKind:
    autodiscover()
    try:
        return _KINDS[name]
    except KeyError:
        raise KeyError(f"unknown import kind {name!r}; known: {', '.join(kind_names())}") from None


def kinds() -> list[ImportKind]:
    autodiscover()
    return sorted(_KINDS.values(), key=lambda k: (k.order, k.name))


def kind_names() -> list[str]:
    return [k.name for k in kinds()]


# --- reading ------------------------------------------------------------------------------------


@dataclass
class ParsedSheet:
    """Typed rows (only rows without errors, each with `row_number`) and every error found."""

    kind: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)  # the file's recognised headers, in file order
    total_rows: int = 0  # non-blank data rows


def _file_error(message: str, message_en: str) -> RowError:
    return RowError(None, "", message, message_en)


def _too_large() -> RowError:
    limit = settings.IMPORT_MAX_BYTES
    return _file_error(
        f"文件过大（上限 {limit // (1024 * 1024)} MB）", f"file too large (limit {limit // (1024 * 1024)} MB)"
    )


def read_bytes(file: bytes | str | os.PathLike | IO[bytes]) -> tuple[bytes | None, RowError | None]:
    """The file's bytes, refusing files above settings.IMPORT_MAX_BYTES before reading them."""
    limit = settings.IMPORT_MAX_BYTES
    if isinstance(file, bytes):
        data = file
    elif isinstance(file, str | os.PathLike):
        if os.path.getsize(file) > limit:
            return None, _too_large()
        data = Path(file).read_bytes()
    else:
        size = getattr(file, "size", None)
        if size is not None and size > limit:
            return None, _too_large()
        if hasattr(file, "seek"):
            file.seek(0)
        data = file.read(limit + 1)
    if len(data) > limit:
        return None, _too_large()
    if not data:
        return None, _file_error("文件为空", "the file is empty")
    return data, None


def is_xlsx(data: bytes) -> bool:
    """True when the bytes are an xlsx workbook: a zip archive holding xl/workbook.xml."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError):
        return False


def _sheet_values(data: bytes) -> tuple[list[list[Any]] | None, RowError | None]:
    if not is_xlsx(data):
        return None, _file_error(
            "不是 Excel 工作簿（.xlsx）文件，请用 Excel 另存为 .xlsx 后再导入",
            "not an Excel workbook (.xlsx); save it as .xlsx and try again",
        )
    error = _too_large_unzipped(data)
    if error is not None:
        return None, error
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        values = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:
        return None, _file_error(f"无法读取工作簿：{exc}", f"cannot read the workbook: {exc}")
    return values, None


def _too_large_unzipped(data: bytes) -> RowError | None:
    """Refuse a zip bomb: a small file whose parts expand beyond IMPORT_MAX_UNZIPPED_BYTES
    (default 10 × IMPORT_MAX_BYTES). The declared sizes are checked first, then every part is
    read once through zipfile, which stops at the declared size and checks the CRC (a part that
    lies about its size fails there)."""
    limit = getattr(settings, "IMPORT_MAX_UNZIPPED_BYTES", 10 * settings.IMPORT_MAX_BYTES)
    error = _file_error(
        f"文件解压后过大（上限 {limit // (1024 * 1024)} MB），可能是损坏或恶意构造的文件",
        f"the file expands beyond {limit // (1024 * 1024)} MB when unzipped (damaged or malicious)",
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > limit:
                return error
            if archive.testzip() is not None:
                return _file_error("工作簿已损坏，无法读取", "the workbook is damaged")
    except (zipfile.BadZipFile, ValueError, EOFError, zlib.error):
        return _file_error("工作簿已损坏，无法读取", "the workbook is damaged")
    return None


HEADER_NOTE_RE = re.compile(r"\s*[（(][^（(]*[)）]\s*$")


def normalise_header(value: Any) -> str:
    """ "身份（教师/学生/职工）" → "身份": a note in brackets after a header is allowed."""
    return HEADER_NOTE_RE.sub("", str(value).strip()) if value is not None else ""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_workbook(kind: str, file: bytes | str | os.PathLike | IO[bytes]) -> ParsedSheet:
    """Read the first sheet of an xlsx file and validate it against the kind's columns.

    Structural and per-cell checks only (headers, types, dates, booleans, rates, blank required
    cells, duplicates inside the file); checks against the database are the kind's `plan`.
    """
    spec = get_kind(kind)
    result = ParsedSheet(kind=kind)
    data, error = read_bytes(file)
    if error is None:
        values, error = _sheet_values(data)
    if error is not None:
        result.errors.append(error)
        return result
    if not values or all(_blank(v) for v in values[0]):
        result.errors.append(
            _file_error("工作表为空：第1行应为表头", "the sheet is empty: row 1 must hold the headers")
        )
        return result

    columns = spec.all_columns
    by_header = {c.header: c for c in columns}
    positions: list[tuple[int, Column]] = []
    seen_headers: set[str] = set()
    for index, raw in enumerate(values[0]):
        header = normalise_header(raw)
        if not header:
            continue
        column = by_header.get(header)
        if column is None:
            result.errors.append(
                RowError(1, header, f"无法识别的列「{header}」", f"unknown column {header!r}")
            )
        elif header in seen_headers:
            result.errors.append(
                RowError(1, header, f"列「{header}」重复", f"column {header!r} appears twice")
            )
        else:
            seen_headers.add(header)
            positions.append((index, column))
            result.headers.append(header)
    for column in columns:
        if column.header not in seen_headers and not column.optional_header:
            result.errors.append(
                RowError(1, column.header, f"缺少列「{column.header}」", f"missing column {column.header!r}")
            )
    if result.errors:
        return result
    missing = [c for c in columns if c.header not in seen_headers]

    for offset, cells in enumerate(values[1:]):
        width = len(cells)
        row: dict[str, Any] = {"row_number": offset + 2}
        row_errors: list[tuple[Column, str, str]] = []
        filled = False
        for index, column in positions:
            value = cells[index] if index < width else None
            if value is None or value == "" or (value.__class__ is str and not value.strip()):
                if column.required:
                    row_errors.append((column, "不能为空", "must not be blank"))
                row[column.field] = column.default
                continue
            filled = True
            try:
                row[column.field] = column.parse(value)
            except CellError as exc:
                row_errors.append((column, exc.message, exc.message_en))
        if not filled:
            continue  # blank rows are skipped; row numbers stay Excel's
        result.total_rows += 1
        if row_errors:
            result.errors.extend(RowError(row["row_number"], c.header, zh, en) for c, zh, en in row_errors)
            continue
        for column in missing:
            row[column.field] = column.default
        result.rows.append(row)

    if result.total_rows == 0:
        result.errors.append(_file_error("没有数据行：表头下面是空的", "no data rows below the headers"))
    if spec.key:
        _check_duplicates(spec, result)
    return result


def _check_duplicates(spec: ImportKind, result: ParsedSheet) -> None:
    key_columns = [spec.column(f) for f in spec.key]
    label = "+".join(c.header for c in key_columns)
    first_seen: dict[tuple, int] = {}
    kept = []
    for row in result.rows:
        key = tuple(row[f] for f in spec.key)
        first = first_seen.setdefault(key, row["row_number"])
        if first != row["row_number"]:
            shown = " ".join(_display(c, v) for c, v in zip(key_columns, key, strict=True))
            result.errors.append(
                RowError(
                    row["row_number"],
                    key_columns[0].header,
                    f"{label}“{shown}”与第{first}行重复",
                    f"{label} {shown!r} duplicates row {first}",
                )
            )
        else:
            kept.append(row)
    result.rows = kept
    result.errors.sort(key=lambda e: e.row_number or 0)


# --- running an import --------------------------------------------------------------------------


@dataclass
class ImportResult:
    kind: str
    season_year: int
    dry_run: bool
    committed: bool = False
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    details: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    preview: list[list[str]] = field(default_factory=list)  # first rows, display text per header
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def title(self) -> str:
        return get_kind(self.kind).title

    def summary(self) -> str:
        verb = "将" if self.dry_run else "已"
        text = (
            f"{self.title}（{self.season_year}年度）共 {self.total_rows} 行：{verb}新增 {self.created}，"
            f"{verb}更新 {self.updated}，未变 {self.unchanged}"
        )
        for label, number in self.details.items():
            text += f"；{label} {number}"
        return text


def _display(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if column.parse is rate and isinstance(value, Decimal):
        return f"{(value * 100).normalize():f}%"
    display = getattr(column.parse, "display", None)
    if display is not None:
        return display.get(value, str(value))
    return str(value)


def _plans(spec: ImportKind, season_year: int, rows: list[dict]) -> list[ImportPlan]:
    plans = [spec.plan(season_year=season_year, rows=rows)]
    plans.extend(ext.plan(season_year=season_year, rows=rows) for ext in spec.extensions)
    return plans


def _merge(result: ImportResult, plans: Sequence[ImportPlan]) -> None:
    main = plans[0]
    result.created, result.updated, result.unchanged = main.created, main.updated, main.unchanged
    result.details = {}
    result.warnings = []
    errors = []
    for plan in plans:
        result.details.update(plan.details)
        result.warnings.extend(plan.warnings)
        errors.extend(plan.errors)
    result.errors = sorted(errors, key=lambda e: e.row_number or 0)


def import_file(
    kind: str, file: bytes | str | os.PathLike | IO[bytes], *, season_year: int, dry_run: bool
) -> ImportResult:
    """Validate the file completely; unless `dry_run`, write it in one transaction.

    Nothing is written when any row is bad. Importing into a season that does not exist yet
    creates it (the kinds' write steps call admissions.services.season_get_or_create).
    """
    started = time.monotonic()
    spec = get_kind(kind)
    result = ImportResult(kind=kind, season_year=season_year, dry_run=dry_run)
    parsed = parse_workbook(kind, file)
    result.total_rows = parsed.total_rows
    result.headers = [c.header for c in spec.all_columns if c.header in parsed.headers]
    columns = [spec.column(c.field) for c in spec.all_columns if c.header in parsed.headers]
    result.preview = [[_display(c, row.get(c.field)) for c in columns] for row in parsed.rows[:PREVIEW_ROWS]]
    if parsed.errors:
        result.errors = parsed.errors
        if all(e.row_number is not None and e.row_number > 1 for e in parsed.errors) and parsed.rows:
            # Bad cells only: check the good rows against the database too, so that one
            # report lists every bad row (planning reads, it never writes).
            checked = ImportResult(kind=kind, season_year=season_year, dry_run=True)
            _merge(checked, _plans(spec, season_year, parsed.rows))
            result.errors = sorted([*parsed.errors, *checked.errors], key=lambda e: e.row_number or 0)
    elif dry_run:
        _merge(result, _plans(spec, season_year, parsed.rows))
    else:
        try:
            with transaction.atomic():
                plans = _plans(spec, season_year, parsed.rows)
                _merge(result, plans)
                if result.errors:
                    transaction.set_rollback(True)
                else:
                    for plan in plans:
                        if plan.write is not None:
                            plan.write()
                    result.committed = True
        except IntegrityError as exc:
            result.committed = False
            result.errors = [
                _file_error(
                    f"写入时数据冲突（可能有人同时在导入），没有任何改动，请重试：{exc}",
                    f"conflicting write (a concurrent import?); nothing was changed, please retry: {exc}",
                )
            ]
    result.seconds = round(time.monotonic() - started, 3)
    return result


# --- helpers for the kinds' plan functions ------------------------------------------------------


def existing_by_key(queryset: QuerySet, field_name: str, keys: Iterable[Any]) -> QuerySet:
    """The queryset narrowed to `keys`, in one query whatever their number.

    A few keys: a plain IN list. More: the keys travel as ONE parameter, a PostgreSQL array
    (`= ANY(%s)`) or a JSON array on SQLite (`IN (SELECT value FROM json_each(%s))`), so the
    query returns only the rows named in the file instead of the whole season (1,000,000
    candidates at platform scale; loading them made a 100,000-row import 5.4× the import
    limit), and never meets SQLite's parameter limit. Keys are str or int (other keys: chunked
    IN lists). Callers index the result by the key in Python.
    """
    keys = set(keys)
    if not keys:
        return queryset.none()
    if len(keys) <= IN_LIST_MAX:
        return queryset.filter(**{f"{field_name}__in": keys})
    values = sorted(keys)
    array_type = (
        "text[]"
        if all(isinstance(k, str) for k in values)
        else "bigint[]"
        if all(isinstance(k, int) and not isinstance(k, bool) for k in values)
        else None
    )
    if connection.vendor == "postgresql" and array_type:
        # `= ANY(array)`: an index scan over the sorted keys, or a seq scan probing a hash of them
        qn = connection.ops.quote_name
        model = queryset.model
        column = f"{qn(model._meta.db_table)}.{qn(model._meta.get_field(field_name).column)}"
        return queryset.filter(
            RawSQL(f"{column} = ANY(%s::{array_type})", [values], output_field=BooleanField())
        )
    if connection.vendor == "sqlite" and array_type:
        subquery = RawSQL("SELECT value FROM json_each(%s)", [json.dumps(values)])
    else:  # other backends or keys: chunked IN lists, OR-ed (still one query)
        condition = Q()
        for start in range(0, len(values), IN_LIST_MAX):
            condition |= Q(**{f"{field_name}__in": values[start : start + IN_LIST_MAX]})
        return queryset.filter(condition)
    return queryset.filter(**{f"{field_name}__in": subquery})


def fast_insert(model: type[Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many new rows without building model instances: COPY on PostgreSQL, executemany
    elsewhere. ~5× faster than bulk_create for 100,000s of rows.

    `rows` give plain Python values (str, int, bool, Decimal, date, aware datetime, None; for a
    JSONField what it would store) by attribute name (`province_id`); every other column gets its
    field default, auto_now / auto_now_add fields the current time. No signals, no primary keys
    returned: read them back.
    """
    if not rows:
        return
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = set(rows[0])
    defaults = {}  # the other columns, prepared once
    for f in fields:
        if f.attname in given:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            default = now
        else:
            default = f.get_default() if f.has_default() or not f.null else None
        defaults[f.attname] = f.get_db_prep_save(default, connection)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor == "postgresql":
        # psycopg adapts the plain values itself; COPY is the fastest way in. JSON columns take
        # the JSON text (COPY's text format parses it), encoded as the field would.
        names = [f.attname for f in fields]
        encode = {
            f.attname: (lambda v, cls=f.encoder: None if v is None else json.dumps(v, cls=cls))
            for f in fields
            if isinstance(f, JSONField) and f.attname in given
        }
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(
                    [
                        (encode[n](row[n]) if n in encode else row[n]) if n in given else defaults[n]
                        for n in names
                    ]
                )
        return
    # other backends: values prepared by their fields, as bulk_create would
    prepared = [
        tuple(
            f.get_db_prep_save(row[f.attname], connection) if f.attname in given else defaults[f.attname]
            for f in fields
        )
        for row in rows
    ]
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
    with connection.cursor() as cursor:
        for start in range(0, len(prepared), BATCH_SIZE):
            cursor.executemany(sql, prepared[start : start + BATCH_SIZE])


def changed_fields(obj: Any, values: Mapping[str, Any]) -> list[str]:
    """Set `values` on `obj`; the names of the fields that changed."""
    changed = []
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


# --- template workbooks -------------------------------------------------------------------------


def template_filename(kind: str) -> str:
    return f"{kind}-template.xlsx"


def write_template(kind: str, target: str | os.PathLike | IO[bytes]) -> None:
    """A workbook with the kind's headers and one example row, and a 说明 sheet of the formats."""
    spec = get_kind(kind)
    columns = spec.all_columns
    wb = new_workbook()
    percent = [i for i, c in enumerate(columns) if c.parse is rate]
    sheet = SheetWriter(wb, spec.title, [c.header for c in columns], percent_columns=percent)
    sheet.append([c.example for c in columns])
    notes = SheetWriter(wb, "说明", ["列", "必填", "格式"])
    for c in columns:
        required = "可省略此列" if c.optional_header else (YES if c.required else NO)
        notes.append([c.header, required, c.hint])
    save_workbook(wb, target)


def template_bytes(kind: str) -> bytes:
    buffer = io.BytesIO()
    write_template(kind, buffer)
    return buffer.getvalue()


def export_bytes(kind: str, *, season_year: int) -> bytes:
    """The season's current data of a kind as xlsx, in the import's own format."""
    spec = get_kind(kind)
    if spec.exporter is None:
        raise KeyError(f"import kind {kind!r} has no exporter")
    dataset = spec.exporter(season_year)
    # tablib writes a text starting with "=" as a formula: escape like every other export
    escaped = tablib.Dataset(
        *[tuple(safe_text(v) for v in row) for row in dataset], headers=dataset.headers, title=dataset.title
    )
    return escaped.export("xlsx")
