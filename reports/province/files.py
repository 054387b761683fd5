"""Read and validate a province folder: every file, every row, before anything is saved.

`province_read(directory)` returns a `Province` (plain data, no database) or raises
`ProvinceDataInvalid` listing every problem found, each naming the file, the row (a CSV line
as a spreadsheet shows it, the header being row 1; a key path in a YAML file) and the field.
The layout of the folder is described in supplycoord/data/demo/README.md.

Tables are CSV (UTF-8, a header row): an office fills them in a spreadsheet. Nested records
(the generator's parameters, line templates, the batch plan, donations with their lines) are
YAML: they nest, and they carry comments saying why a figure is what it is, which JSON cannot.
"""

import csv
import dataclasses
import datetime as dt
import functools
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

import yaml
from django.utils.translation import gettext as _

from allocation.models import (
    BatchPriority,
    Channel,
    DestinationKind,
    DonationRestriction,
    DonorKind,
)
from inventory.models import WarehouseKind
from procurement.models import FundingSource, SupplierOrigin
from production.models import (
    LicenceKind,
    LineStatus,
    ProblemCategory,
    ProducerStatus,
    RawMaterialKind,
)
from supplycoord.lib.dates import parse_iso_date
from supplycoord.lib.numbers import grouped
from supplycoord.lib.text import ascii_whole_number, text_error
from supplycoord.models import ItemCategory, Role
from supplycoord.services import REFERENCE_KINDS, SHIPPED_FILES

GANSU = Path(__file__).resolve().parents[2] / "supplycoord" / "data" / "demo" / "gansu"

# Notes of demo norms start with this; the norms page warns when it sees one.
DEMO_NOTE_PREFIX = "演示假设"
DEMO_NOTE = "演示假设，非事实 / Demo assumption, not a fact"

FIELD_NAME_RE = re.compile(r"\{(\w+)")


@dataclasses.dataclass(frozen=True)
class ProvinceFileError:
    file: str
    row: int | str  # a CSV line (header = 1), or a key path in a YAML file; 0 = the whole file
    field: str
    message: str

    def __str__(self):
        if self.row == 0:
            return _("%(file)s: %(message)s") % {"file": self.file, "message": self.message}
        if isinstance(self.row, int):
            return _("%(file)s, row %(row)s, column “%(field)s”: %(message)s") % {
                "file": self.file,
                "row": grouped(self.row),
                "field": self.field,
                "message": self.message,
            }
        return _("%(file)s, %(path)s, field “%(field)s”: %(message)s") % {
            "file": self.file,
            "path": self.row,
            "field": self.field,
            "message": self.message,
        }


class ProvinceDataInvalid(Exception):
    """The folder has problems; nothing was saved. `errors` lists every one found."""

    def __init__(self, errors: list[ProvinceFileError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclasses.dataclass(frozen=True)
class ProvinceUser:
    username: str
    password: str
    role: str
    prefecture_code: str | None
    first_name: str
    superuser: bool
    row: int = dataclasses.field(default=0, compare=False)  # its row in users.csv
    # A county officer's county (issue 15, three-level dispatch); users.csv's optional column.
    county_code: str | None = None


@dataclasses.dataclass(frozen=True)
class ProvinceNorm:
    category: str
    item: str
    per_shift: Decimal | None
    shifts_per_day: Decimal | None
    per_day: Decimal | None
    effective_from: dt.date
    note: str
    row: int = dataclasses.field(default=0, compare=False)  # its row in norms.csv


@dataclasses.dataclass(frozen=True)
class ProvinceWarehouse:
    code: str
    name_zh: str
    name_en: str
    kind: str
    prefecture_code: str | None
    address: str
    manager: str
    row: int = dataclasses.field(default=0, compare=False)  # its row in warehouses.csv


@dataclasses.dataclass(frozen=True)
class ProvinceLine:
    item: str
    capacity: int
    status: str
    on: dt.date | None  # actual commissioning when commissioned or stopped, else planned
    row: int = dataclasses.field(default=0, compare=False)  # its row in production_lines.csv


@dataclasses.dataclass(frozen=True)
class ProvinceProducer:
    key: str
    name: str
    prefecture: str
    county: str | None
    address: str
    contact: str
    status: str
    resumption: dt.date | None
    categories: tuple[str, ...]
    national: dt.date | None
    provincial: dt.date | None
    commissioner: bool
    lines: tuple[ProvinceLine, ...] = ()
    row: int = dataclasses.field(default=0, compare=False)  # its row in producers.csv


@dataclasses.dataclass(frozen=True)
class Province:
    """One province folder, read and checked; the loader and the generator take it."""

    directory: Path
    name: str
    seed: int
    start: dt.date
    days: int
    reference: dict  # {kind: path of the CSV to load}
    figures: dict
    users: tuple[ProvinceUser, ...]
    population: dict  # {prefecture code: residents in ten-thousands}
    medical_concentration: dict  # {prefecture code: factor}, 1.0 when absent
    staff_rates: dict  # {staff category: (per 10,000 residents, scales with medical)}
    consumption: dict  # {item: per 10,000 residents a day}
    norms: tuple[ProvinceNorm, ...]
    warehouses: tuple[ProvinceWarehouse, ...]
    reserve_inflows: dict  # {item: {channel: (low, high)}}
    ledger: dict
    producers: tuple[ProvinceProducer, ...]
    licences: tuple[dict, ...]
    problems: tuple[dict, ...]
    production: dict
    destinations: tuple[dict, ...]
    allocation: dict
    # procurement.yaml with its CSVs (suppliers, reserve-task units, distribution enterprises);
    # {} when the folder has none: purchases then stay plain ledger receipts.
    procurement: dict = dataclasses.field(default_factory=dict)

    # Issue 15 (optional files): protected staff of the claimants other than prefectures
    # (claimant_staff.csv: {"claimant": name, "category", "count"}), and the requests from
    # below (requests.yaml), each a dict as `_requests` reads it.
    claimant_staff: tuple = ()
    requests: tuple = ()
    # Three-level dispatch (optional onward.yaml, `_onward` reads it): the prefecture
    # warehouses' receipts from the province's batches, their onward batches to counties, a
    # draft, and the counties' requests; {} when the folder has none.
    onward: dict = dataclasses.field(default_factory=dict)

    # Days every date of the folder was moved by (`province_shift`); 0 as the files write them.
    shift_days: int = 0

    @property
    def last_day(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days - 1)

    def as_recorded(self, date: dt.date) -> dt.date:
        """The date as the folder's files write it (before any shift)."""
        return date - dt.timedelta(days=self.shift_days)


def _shifted(value, delta: dt.timedelta):
    """`value` with every date and moment in it moved by `delta` (dicts' keys too)."""
    if isinstance(value, (dt.date, dt.datetime)):  # a datetime is a date too
        return value + delta
    if isinstance(value, dict):
        return {_shifted(k, delta): _shifted(v, delta) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(_shifted(v, delta) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value,
            **{
                f.name: _shifted(getattr(value, f.name), delta)
                for f in dataclasses.fields(value)
                if f.init and f.name != "shift_days"
            },
        )
    return value


def province_shift(province: Province, days: int) -> Province:
    """The province with every date of its story moved by `days`: the daily figures, the
    ledger, batches and donations, production reports, lines, licences, problems, norms. The
    story reads the same (the generator draws from the dates as recorded, not the shifted
    ones); batch numbers take the year of their shifted dispatch day."""
    if not days:
        return province
    moved = _shifted(province, dt.timedelta(days=days))
    return dataclasses.replace(moved, shift_days=province.shift_days + days)


# --- values --------------------------------------------------------------------------------


class _Bad(ValueError):
    pass


def _text(value, *, optional=False):
    value = "" if value is None else str(value).strip()
    if not value and not optional:
        raise _Bad(_("This field is required."))
    problem = text_error(value)
    if problem:
        raise _Bad(problem)
    return value


def _whole(value, *, minimum=0):
    text = str(value).strip()
    number = ascii_whole_number(text.removeprefix("-"))
    if number is None or isinstance(value, bool):
        raise _Bad(_("“%(value)s” is not a whole number.") % {"value": text})
    number = -number if text.startswith("-") else number
    if number < minimum:
        raise _Bad(_("Must be at least %(minimum)d.") % {"minimum": minimum})
    return number


def _number(value):
    if isinstance(value, bool):
        raise _Bad(_("“%(value)s” is not a number.") % {"value": value})
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        raise _Bad(_("“%(value)s” is not a number.") % {"value": text})
    return float(text)


def _decimal(value):
    text = str(value).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number < 0:
        raise _Bad(_("“%(value)s” is not a number.") % {"value": text})
    return number


def _date(value):
    date = parse_iso_date(value)
    if date is None:
        raise _Bad(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value})
    return date


def _moment(value):
    """A local date and time, "YYYY-MM-DD HH:MM", as (date, hour, minute)."""
    text = str(value).strip()
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2})", text)
    try:
        if not match or int(match[2]) > 23 or int(match[3]) > 59:
            raise ValueError
        return dt.date.fromisoformat(match[1]), int(match[2]), int(match[3])
    except ValueError:
        raise _Bad(
            _("“%(value)s” is not a date and time (YYYY-MM-DD HH:MM).") % {"value": text}
        ) from None


def _yes_no(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("yes", "no"):
        raise _Bad(_("Write yes or no, not “%(value)s”.") % {"value": value})
    return text == "yes"


def _one_of(choices, *, optional=False):
    def parse(value):
        text = "" if value is None else str(value).strip()
        if not text and optional:
            return None
        if text not in choices:
            raise _Bad(
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": text, "choices": ", ".join(sorted(choices))}
            )
        return text

    return parse


def _optional(parse):
    def inner(value):
        if value is None or str(value).strip() == "":
            return None
        return parse(value)

    return inner


def _template(*names):
    """A str.format pattern using only the given names, e.g. "CG-2020-{day:03d}"."""

    def parse(value):
        text = _text(value)
        unknown = set(FIELD_NAME_RE.findall(text)) - set(names)
        if unknown:
            raise _Bad(
                _("Unknown placeholder(s) %(unknown)s; use %(names)s.")
                % {"unknown": ", ".join(sorted(unknown)), "names": ", ".join(names) or "-"}
            )
        try:
            text.format(**dict.fromkeys(names, 1))
        except (ValueError, IndexError, KeyError) as exc:
            raise _Bad(str(exc)) from None
        return text

    return parse


# --- files ---------------------------------------------------------------------------------


class _Reader:
    """Collects every problem of every file instead of stopping at the first."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.errors: list[ProvinceFileError] = []
        # Every row of every CSV read, with the cells that parsed (a row with a problem too).
        self.seen: dict[str, list[dict]] = {}

    def error(self, file, row, field, message):
        self.errors.append(ProvinceFileError(file, row, field, str(message)))

    def csv(self, name: str, columns: dict, *, key=(), required=True, optional=()) -> list[dict]:
        """Rows of a CSV file as {column: parsed value}; a row with a problem is left out.

        `optional`: columns a file may lack (added later; an older folder still reads): each
        row then has its parse of an empty cell.

        `key`: the column(s) identifying a row. A second row with the same key is a problem
        (one check for every table). Every row's parsed cells stay in `self.seen`, so a row
        with a wrong cell elsewhere still answers `keys()` (no false errors in other files).
        """
        path = self.directory / name
        if not path.exists():
            if required:
                self.error(name, 0, "", _("The file is missing."))
            return []
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            self.error(name, 0, "", _("Cannot read the file: %(error)s") % {"error": exc})
            return []
        reader = csv.DictReader(text.splitlines())
        missing = [c for c in columns if c not in (reader.fieldnames or []) and c not in optional]
        if missing:
            self.error(
                name,
                1,
                missing[0],
                _("The header lacks the column(s) %(columns)s.") % {"columns": ", ".join(missing)},
            )
            return []
        rows, seen, first_row = [], self.seen.setdefault(name, []), {}
        for number, raw in enumerate(reader, start=2):
            row, good = {}, True
            for column, parse in columns.items():
                try:
                    row[column] = parse(raw.get(column))
                except _Bad as exc:
                    self.error(name, number, column, exc)
                    good = False
            row["_row"] = number
            seen.append(row)
            if key and all(column in row for column in key):
                value = tuple(row[column] for column in key)
                if value in first_row:
                    self.error(
                        name,
                        number,
                        key[-1],
                        _("“%(value)s” is already in row %(row)s: %(columns)s must be unique.")
                        % {
                            "value": ", ".join(str(v) for v in value),
                            "row": grouped(first_row[value]),
                            "columns": ", ".join(key),
                        },
                    )
                    good = False
                else:
                    first_row[value] = number
            if good:
                rows.append(row)
        return rows

    def keys(self, name: str, column: str) -> set:
        """The values of `column` in every row of `name` where that cell itself is valid."""
        return {row[column] for row in self.seen.get(name, ()) if column in row}

    def yaml(self, name: str) -> dict | None:
        """The file's mapping, or None (and one problem) when it cannot be used."""
        path = self.directory / name
        if not path.exists():
            self.error(name, 0, "", _("The file is missing."))
            return None
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            self.error(name, 0, "", _("Cannot read the file: %(error)s") % {"error": exc})
            return None
        except yaml.YAMLError as exc:
            self.error(name, 0, "", _("Not valid YAML: %(error)s") % {"error": exc})
            return None
        if not isinstance(data, dict):
            self.error(name, 0, "", _("The file must hold a mapping of names to values."))
            return None
        return data

    def field(self, file, node, path, key, parse, *, default=dataclasses.MISSING):
        """node[key] parsed, or `default` when absent (an error when there is no default)."""
        if not isinstance(node, dict):
            self.error(file, path or "/", key, _("Expected a mapping of names to values."))
            return None
        if key not in node or node[key] is None:
            if default is dataclasses.MISSING:
                self.error(file, path or "/", key, _("This field is required."))
            return None if default is dataclasses.MISSING else default
        try:
            return parse(node[key])
        except _Bad as exc:
            self.error(file, path or "/", key, exc)
            return None

    def items(self, file, node, path, key, parse_each):
        """node[key] as a list, each element parsed by parse_each(reader, element, path)."""
        value = node.get(key) if isinstance(node, dict) else None
        if not isinstance(value, list):
            self.error(file, path or "/", key, _("Expected a list."))
            return []
        return [
            parse_each(element, f"{path + '.' if path else ''}{key}[{n}]")
            for n, element in enumerate(value)
        ]


def _codes(path: Path, *, skip_level=None) -> set[str]:
    """The codes of a reference CSV (rows of `skip_level` left out)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {
            (row.get("code") or "").strip()
            for row in csv.DictReader(handle)
            if skip_level is None or (row.get("level") or "").strip() != skip_level
        }


def _sum_of_counties(r, figures_node, prefecture, county_rows) -> dict | None:
    """province.yaml's figures.sum_of_counties: the prefecture that reports as the sum of its
    counties and each county's share of its figures, or None. The shares name every active
    county of the prefecture (else no prefecture row could be derived) and add up to 1."""
    node = figures_node.get("sum_of_counties") if isinstance(figures_node, dict) else None
    if node is None:
        return None
    f, path = "province.yaml", "figures.sum_of_counties"
    code = r.field(f, node, path, "prefecture", prefecture)

    def share(value):
        number = _number(value)
        if not 0 < number <= 1:
            raise _Bad(_("Must lie above 0 and at most 1."))
        return number

    shares = _mapping(r, f, node, path, "shares", _one_of(set(county_rows)), share)
    if code is None or not shares:
        return None
    active = {c for c, (p, is_active) in county_rows.items() if p == code and is_active}
    if set(shares) != active:
        r.error(
            f,
            path,
            "shares",
            _("Give a share to each active county of %(prefecture)s: %(counties)s.")
            % {"prefecture": code, "counties": ", ".join(sorted(active)) or "-"},
        )
    elif sum(Fraction(str(share)) for share in shares.values()) != 1:
        r.error(f, path, "shares", _("The shares must add up to 1."))
    return {"prefecture": code, "shares": shares}


def _county_rows(path: Path) -> dict[str, tuple[str, bool]]:
    """{county code: (its prefecture's code, active)} of a counties CSV (reference_load_csv's
    layout; an empty `active` is active)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {
            (row.get("code") or "").strip(): (
                (row.get("prefecture_code") or "").strip(),
                (row.get("active") or "true").strip().lower() not in ("false", "no", "0"),
            )
            for row in csv.DictReader(handle)
        }


def _section(r, name, parse, **references) -> dict:
    """A YAML file parsed by `parse`, or {} when the file itself could not be read."""
    node = r.yaml(name)
    return {} if node is None else parse(r, node, **references)


def province_read(directory) -> Province:
    """Read every file of a province folder, or raise ProvinceDataInvalid naming each problem."""
    directory = Path(directory)
    r = _Reader(directory)
    if not directory.is_dir():
        r.error(str(directory), 0, "", _("No such folder."))
        raise ProvinceDataInvalid(r.errors)

    # Reference data: the folder's own CSV where it has one, else the shipped one.
    reference = {
        kind: directory / f"{kind}.csv"
        if (directory / f"{kind}.csv").exists()
        else SHIPPED_FILES[kind]
        for kind in REFERENCE_KINDS
    }
    # The province's own row is not a prefecture.
    prefectures = _codes(reference["prefectures"], skip_level="province")
    counties = _codes(reference["counties"])
    county_rows = _county_rows(reference["counties"])
    county_prefecture = {code: row[0] for code, row in county_rows.items()}
    items = _codes(reference["items"])
    categories = _codes(reference["staff_categories"])
    prefecture = _one_of(prefectures)
    item = _one_of(items)

    main = r.yaml("province.yaml") or {}
    f = "province.yaml"
    name = r.field(f, main, "", "name", _text)
    seed = r.field(f, main, "", "seed", _whole)
    start = r.field(f, main, "", "start", _date)
    days = r.field(f, main, "", "days", lambda v: _whole(v, minimum=1))
    figures_node = main.get("figures", {})
    figures = {
        "lookahead_days": r.field(f, figures_node, "figures", "lookahead_days", _whole),
        "missing_prefecture_days": r.field(
            f, figures_node, "figures", "missing_prefecture_days", _whole
        ),
        "late_prefecture_days": r.field(f, figures_node, "figures", "late_prefecture_days", _whole),
        "inconsistent_reports": r.field(f, figures_node, "figures", "inconsistent_reports", _whole),
        "default_population_10k": r.field(
            f, figures_node, "figures", "default_population_10k", _whole
        ),
        "category_per_10k": _mapping(
            r, f, figures_node, "figures", "category_per_10k", _one_of(ItemCategory.values), _number
        ),
        "min_stock": _mapping(
            r,
            f,
            figures_node,
            "figures",
            "min_stock",
            _one_of(ItemCategory.values),
            _whole,
            default={},
        ),
    }
    outlier = figures_node.get("spot_check_outlier") if isinstance(figures_node, dict) else None
    figures["spot_check_outlier"] = (
        (
            r.field(f, outlier, "figures.spot_check_outlier", "prefecture", prefecture),
            r.field(f, outlier, "figures.spot_check_outlier", "item", item),
            r.field(f, outlier, "figures.spot_check_outlier", "factor", _number),
        )
        if outlier is not None
        else None
    )
    figures["sum_of_counties"] = _sum_of_counties(r, figures_node, prefecture, county_rows)

    users = tuple(
        ProvinceUser(
            row["username"],
            row["password"],
            row["role"],
            row["prefecture"],
            row["first_name"],
            row["superuser"],
            row=row["_row"],
            county_code=row["county"],
        )
        for row in r.csv(
            "users.csv",
            key=("username",),
            columns={
                "username": _text,
                "password": _text,
                "role": _one_of(Role.values),
                "prefecture": _optional(prefecture),
                # A county officer's county (issue 15): an optional column, an older folder reads.
                "county": _optional(_one_of(counties)),
                "first_name": lambda v: _text(v, optional=True),
                "superuser": _yes_no,
            },
            optional=("county",),
        )
    )
    population_rows = r.csv(
        "population.csv",
        key=("prefecture",),
        columns={
            "prefecture": prefecture,
            "population_10k": _whole,
            "medical_concentration": _optional(_number),
        },
    )
    staff_rows = r.csv(
        "staff_rates.csv",
        key=("staff_category",),
        columns={"staff_category": _one_of(categories), "per_10k": _number, "medical": _yes_no},
    )
    consumption_rows = r.csv(
        "consumption_rates.csv", key=("item",), columns={"item": item, "per_10k": _number}
    )
    norm_rows = r.csv(
        "norms.csv",
        key=("staff_category", "item", "effective_from"),
        columns={
            "staff_category": _one_of(categories),
            "item": item,
            "per_shift": _optional(_decimal),
            "shifts_per_day": _optional(_decimal),
            "per_day": _optional(_decimal),
            "effective_from": _date,
            "note": lambda v: _text(v, optional=True),
        },
    )
    for row in norm_rows:
        if (row["per_day"] is None) == (row["per_shift"] is None or row["shifts_per_day"] is None):
            r.error(
                "norms.csv",
                row["_row"],
                "per_day",
                _("Give either per_day, or per_shift and shifts_per_day."),
            )
    warehouse_rows = r.csv(
        "warehouses.csv",
        key=("code",),
        columns={
            "code": _text,
            "name_zh": _text,
            "name_en": lambda v: _text(v, optional=True),
            "kind": _one_of(WarehouseKind.values),
            "prefecture": _optional(prefecture),
            "address": lambda v: _text(v, optional=True),
            "manager": lambda v: _text(v, optional=True),
        },
    )
    # Every valid code counts, even of a row wrong elsewhere: one wrong cell, one problem.
    warehouse = _one_of(r.keys("warehouses.csv", "code"))
    inflow_rows = r.csv(
        "reserve_inflows.csv",
        key=("item", "channel"),
        columns={
            "item": item,
            "channel": _one_of(("national", "purchase", "donation")),
            "low": _whole,
            "high": _whole,
        },
    )
    inflows: dict[str, dict] = {}
    for row in inflow_rows:
        if row["low"] > row["high"]:
            r.error("reserve_inflows.csv", row["_row"], "high", _("Must be at least low."))
        inflows.setdefault(row["item"], {})[row["channel"]] = (row["low"], row["high"])

    ledger = _section(r, "ledger.yaml", _ledger, item=item, warehouse=warehouse)

    producer_rows = r.csv(
        "producers.csv",
        key=("key",),
        columns={
            "key": _text,
            "name": _text,
            "prefecture": prefecture,
            "county": _optional(_one_of(counties)),
            "address": lambda v: _text(v, optional=True),
            "contact": lambda v: _text(v, optional=True),
            "status": _one_of(ProducerStatus.values),
            "resumption_date": _optional(_date),
            "product_categories": lambda v: tuple(
                _one_of(ItemCategory.values)(c) for c in _text(v).split(";")
            ),
            "national_whitelist_since": _optional(_date),
            "provincial_whitelist_since": _optional(_date),
            "commissioner": _yes_no,
        },
    )
    producer = _one_of(r.keys("producers.csv", "key"))
    line_rows = r.csv(
        "production_lines.csv",
        {
            "producer": producer,
            "item": item,
            "daily_capacity": lambda v: _whole(v, minimum=1),
            "status": _one_of(LineStatus.values),
            "commissioning": _date,
        },
    )
    lines: dict[str, list] = {}
    for row in line_rows:
        lines.setdefault(row["producer"], []).append(
            ProvinceLine(
                row["item"],
                row["daily_capacity"],
                row["status"],
                row["commissioning"],
                row=row["_row"],
            )
        )
    producers = tuple(
        ProvinceProducer(
            key=row["key"],
            name=row["name"],
            prefecture=row["prefecture"],
            county=row["county"],
            address=row["address"],
            contact=row["contact"],
            status=row["status"],
            resumption=row["resumption_date"],
            categories=row["product_categories"],
            national=row["national_whitelist_since"],
            provincial=row["provincial_whitelist_since"],
            commissioner=row["commissioner"],
            lines=tuple(lines.get(row["key"], ())),
            row=row["_row"],
        )
        for row in producer_rows
    )
    licences = r.csv(
        "licences.csv",
        key=("producer", "kind", "number"),
        columns={
            "producer": producer,
            "kind": _one_of(LicenceKind.values),
            "number": _text,
            "issuer": _text,
            "issued": _date,
            "expires": _optional(_date),
        },
    )
    # The loader finds a problem again by its producer and description.
    problems = r.csv(
        "problems.csv",
        key=("producer", "description"),
        columns={
            "producer": producer,
            "category": _one_of(ProblemCategory.values),
            "description": _text,
            "reported_at": _moment,
            "taken_by": _one_of(("office", "reporter"), optional=True),
            "resolution": lambda v: _text(v, optional=True),
            "resolved_at": _optional(_moment),
        },
    )
    for row in problems:
        if bool(row["resolution"]) != bool(row["resolved_at"]):
            r.error(
                "problems.csv",
                row["_row"],
                "resolved_at",
                _("A resolution needs its resolved_at, and resolved_at its resolution."),
            )
    production = _section(
        r,
        "production.yaml",
        _production,
        item=item,
        producer=producer,
        warehouse=warehouse,
        prefecture=prefecture,
    )
    # allocation.yaml names a destination by its Chinese name alone.
    # `code` (issue 15: the claimant's code in imports and the API) and `requesters` (users of
    # role unit_requester who request for it) are optional columns: an older folder reads.
    destinations = r.csv(
        "destinations.csv",
        key=("name_zh",),
        columns={
            "kind": _one_of([k for k in DestinationKind.values if k != DestinationKind.PREFECTURE]),
            "code": lambda v: _text(v, optional=True),
            "name_zh": _text,
            "name_en": lambda v: _text(v, optional=True),
            "contact": lambda v: _text(v, optional=True),
            "requesters": _names,
        },
        optional=("code", "requesters"),
    )
    _check_destinations(r, destinations, users, counties)
    claimant_staff = r.csv(
        "claimant_staff.csv",
        key=("claimant", "staff_category"),
        columns={
            "claimant": _one_of(r.keys("destinations.csv", "name_zh")),
            "staff_category": _one_of(categories),
            "count": _whole,
        },
        required=False,
    )
    allocation = _section(
        r,
        "allocation.yaml",
        _allocation,
        item=item,
        warehouse=warehouse,
        prefecture=prefecture,
        destination_names=r.keys("destinations.csv", "name_zh"),
    )
    procurement = (
        _procurement_files(r, item=item, warehouse=warehouse, prefecture=prefecture)
        if (directory / "procurement.yaml").exists()
        else {}
    )
    requests = (
        _section(
            r,
            "requests.yaml",
            _requests,
            item=item,
            claimants=r.keys("destinations.csv", "name_zh") | prefectures,
            users={u.username: u.role for u in users},
        ).get("requests", [])
        if (directory / "requests.yaml").exists()
        else []
    )
    onward = (
        _section(
            r,
            "onward.yaml",
            _onward,
            item=item,
            prefecture=prefecture,
            county_prefecture=county_prefecture,
            claimants=r.keys("destinations.csv", "name_zh"),
            users={u.username: u.role for u in users},
            requests=requests,
        )
        if (directory / "onward.yaml").exists()
        else {}
    )
    _check_roles(r, allocation, county_prefecture)
    if r.errors:
        raise ProvinceDataInvalid(r.errors)
    return Province(
        directory=directory,
        name=name,
        seed=seed,
        start=start,
        days=days,
        reference=reference,
        figures=figures,
        users=users,
        population={row["prefecture"]: row["population_10k"] for row in population_rows},
        medical_concentration={
            row["prefecture"]: row["medical_concentration"]
            for row in population_rows
            if row["medical_concentration"] is not None
        },
        staff_rates={row["staff_category"]: (row["per_10k"], row["medical"]) for row in staff_rows},
        consumption={row["item"]: row["per_10k"] for row in consumption_rows},
        norms=tuple(
            ProvinceNorm(
                row["staff_category"],
                row["item"],
                row["per_shift"],
                row["shifts_per_day"],
                row["per_day"],
                row["effective_from"],
                row["note"],
                row=row["_row"],
            )
            for row in norm_rows
        ),
        warehouses=tuple(
            ProvinceWarehouse(
                row["code"],
                row["name_zh"],
                row["name_en"],
                row["kind"],
                row["prefecture"],
                row["address"],
                row["manager"],
                row=row["_row"],
            )
            for row in warehouse_rows
        ),
        reserve_inflows=inflows,
        ledger=ledger,
        producers=producers,
        licences=tuple(licences),
        problems=tuple(problems),
        production=production,
        destinations=tuple(destinations),
        allocation=allocation,
        procurement=procurement,
        claimant_staff=tuple(
            {"claimant": row["claimant"], "category": row["staff_category"], "count": row["count"]}
            for row in claimant_staff
        ),
        requests=tuple(requests),
        onward=onward,
    )


def _names(value):
    """A `;`-separated list of names (usernames), possibly empty."""
    text = "" if value is None else str(value).strip()
    return tuple(part.strip() for part in text.split(";") if part.strip())


def _check_destinations(r, destinations: list[dict], users, counties) -> None:
    """Codes once each; a county's code is its county's (the loader takes the county and its
    prefecture from it); requesters are users of users.csv with the role unit_requester."""
    roles = {u.username: u.role for u in users}
    codes = {}
    for row in destinations:
        if row["kind"] == DestinationKind.COUNTY and row["code"] not in counties:
            r.error(
                "destinations.csv",
                row["_row"],
                "code",
                _("A county's code is the county's code in counties.csv; “%(value)s” is not one.")
                % {"value": row["code"]},
            )
        if row["code"]:
            if row["code"] in codes:
                r.error(
                    "destinations.csv",
                    row["_row"],
                    "code",
                    _("“%(value)s” is already in row %(row)s: code must be unique.")
                    % {"value": row["code"], "row": grouped(codes[row["code"]])},
                )
            codes.setdefault(row["code"], row["_row"])
        for username in row["requesters"]:
            if roles.get(username) != Role.UNIT_REQUESTER:
                r.error(
                    "destinations.csv",
                    row["_row"],
                    "requesters",
                    _("“%(value)s” is not a user of users.csv with the role %(role)s.")
                    % {"value": username, "role": Role.UNIT_REQUESTER},
                )


_DECISIONS = ("accepted", "accepted_part", "refused")


def _request_spec(r, f, element, path, *, item, claimants, users) -> dict:
    """One request of requests.yaml (or of onward.yaml's `requests`), checked for what the
    file can tell (the services check the rest as the loader submits it)."""
    field = functools.partial(r.field, f, element, path)
    spec = {
        "key": field("key", _text),
        "claimant": field("claimant", _one_of(claimants)),
        "by": field("by", _one_of(set(users))),
        "submitted": field("submitted", _moment),
        "urgency": field("urgency", _one_of(("routine", "urgent", "emergency"))),
        "needed_by": field("needed_by", _date),
        "justification": field("justification", _text),
        "triaged": field("triaged", _optional(_moment), default=None),
        "batch_day": field("batch_day", _optional(_date), default=None),
        "lines": [],
    }
    lines = element.get("lines") if isinstance(element, dict) else None
    if not isinstance(lines, list) or not lines:
        r.error(f, path, "lines", _("Expected a list."))
        return spec
    for n, line in enumerate(lines):
        where = f"{path}.lines[{n}]"
        if not isinstance(line, list) or len(line) not in (2, 3, 4, 5):
            r.error(f, where, "lines", _("Expected [item, quantity, decision, accepted, reason]."))
            continue
        try:
            code, asked = item(line[0]), _whole(line[1], minimum=1)
            decision = _one_of(_DECISIONS)(line[2]) if len(line) > 2 else None
            accepted = _whole(line[3]) if len(line) > 3 else None
            reason = _text(line[4], optional=True) if len(line) > 4 else ""
        except _Bad as exc:
            r.error(f, where, "lines", exc)
            continue
        if (decision is None) != (spec["triaged"] is None):
            r.error(
                f,
                where,
                "lines",
                _(
                    "Give a decision on each line of a triaged request, and none on a "
                    "request awaiting triage."
                ),
            )
        if decision == "accepted":
            accepted = asked
        spec["lines"].append(
            {
                "item": code,
                "quantity": asked,
                "decision": decision,
                "accepted": accepted,
                "reason": reason,
            }
        )
    return spec


def _unique_keys(r, f, specs, path="requests") -> None:
    seen = set()
    for n, spec in enumerate(specs):
        if spec["key"] in seen:
            r.error(f, f"{path}[{n}]", "key", _("Each request's key must be unique."))
        seen.add(spec["key"])


def _requests(r, node, *, item, claimants, users) -> dict:
    """requests.yaml: the requests from below, each checked for what the file can tell (the
    services check the rest as the loader submits them)."""
    f = "requests.yaml"
    specs = r.items(
        f,
        node,
        "",
        "requests",
        lambda element, path: _request_spec(
            r, f, element, path, item=item, claimants=claimants, users=users
        ),
    )
    _unique_keys(r, f, specs)
    return {"requests": specs}


def _check_county(r, row: dict, county_prefecture: dict) -> None:
    """A county officer's county (issue 15): given, and a county of the row's prefecture;
    no other role has one. A county cell that is not a county is reported already."""
    role, county = row.get("role"), row.get("county", "")
    if role == Role.COUNTY_OFFICER and county is None:
        r.error("users.csv", row["_row"], "county", _("A county officer needs a county."))
    elif county and role is not None and role != Role.COUNTY_OFFICER:
        r.error(
            "users.csv",
            row["_row"],
            "county",
            _("Only a county officer has a county; leave it empty for the role %(role)s.")
            % {"role": role},
        )
    elif county and row.get("prefecture") and county_prefecture.get(county) != row["prefecture"]:
        r.error(
            "users.csv",
            row["_row"],
            "county",
            _("“%(county)s” is not a county of the prefecture %(prefecture)s.")
            % {"county": county, "prefecture": row["prefecture"]},
        )


def _check_roles(r, allocation: dict, county_prefecture: dict) -> None:
    """The users the load acts as must be in users.csv: the first of each role it needs.

    Always the office staff (it enters the figures, the ledger and the register of
    producers); the administrator when staff_rates.csv has a rate (it records the protected
    staff); a leader when allocation.yaml plans batches (the leader approves them); a
    producer reporter when producers.csv marks a producer `commissioner`. A row wrong in
    another cell still counts: its own problem is reported once.
    """
    users = r.seen.get("users.csv")
    if users is None:
        return  # the file is missing or unreadable: that problem is reported already
    for row in users:
        if row.get("role") == Role.PREFECTURE_OFFICER and row.get("prefecture", "") is None:
            r.error(
                "users.csv",
                row["_row"],
                "prefecture",
                _("A prefecture officer needs a prefecture."),
            )
        if row.get("role") == Role.PREFECTURE_LEAD and row.get("prefecture", "") is None:
            r.error(
                "users.csv",
                row["_row"],
                "prefecture",
                _("A prefecture lead needs a prefecture."),
            )
        _check_county(r, row, county_prefecture)
    if any("role" not in row for row in users):
        return  # a wrong role cell is reported already; it may be the role that is missing
    roles = {row["role"] for row in users}
    needed = {
        Role.OFFICE_STAFF: _(
            "No user with role %(role)s: the load acts as the office (it enters the figures, "
            "the reserve ledger, the batches and the register of producers)."
        ),
    }
    if r.seen.get("staff_rates.csv"):
        needed[Role.ADMIN] = _(
            "No user with role %(role)s: the administrator records the protected staff of "
            "staff_rates.csv."
        )
    if allocation.get("batches"):
        needed[Role.LEADERSHIP] = _(
            "No user with role %(role)s: a leader approves the batches of allocation.yaml."
        )
    if any(row.get("commissioner") for row in r.seen.get("producers.csv", ())):
        needed[Role.PRODUCER_REPORTER] = _(
            "No user with role %(role)s: producers.csv stations a producer reporter at the "
            "producers marked commissioner."
        )
    for role, message in needed.items():
        if role not in roles:
            r.error("users.csv", 0, "role", message % {"role": role})


def _mapping(r, file, node, path, key, parse_key, parse_value, *, default=dataclasses.MISSING):
    value = node.get(key) if isinstance(node, dict) else None
    if value is None and default is not dataclasses.MISSING:
        return default
    if not isinstance(value, dict):
        r.error(file, path or "/", key, _("Expected a mapping of names to values."))
        return {}
    out = {}
    for k, v in value.items():
        where = f"{path + '.' if path else ''}{key}"
        try:
            out[parse_key(k)] = parse_value(v)
        except _Bad as exc:
            r.error(file, where, str(k), exc)
    return out


def _list_of(parse):
    def inner(value):
        if not isinstance(value, list) or not value:
            raise _Bad(_("Expected a list."))
        return [parse(v) for v in value]

    return inner


def _range(value):
    if not isinstance(value, list) or len(value) != 2:
        raise _Bad(_("Write [low, high]."))
    low, high = _number(value[0]), _number(value[1])
    if low > high:
        raise _Bad(_("Low is above high."))
    return low, high


def _ledger(r, node, *, item, warehouse) -> dict:
    f = "ledger.yaml"
    field = r.field

    def own(element, path):
        return {
            "item": field(f, element, path, "item", item),
            "from_day": field(f, element, path, "from_day", _whole),
            "range": (
                field(f, element, path, "low", _whole),
                field(f, element, path, "high", _whole),
            ),
        }

    own_node = node.get("own_production", {})
    national = node.get("national", {})
    always = national.get("always", {}) if isinstance(national, dict) else {}
    purchase = node.get("purchase", {})
    donation = node.get("donation", {})
    dispatch = node.get("dispatch", {})
    hospitals = node.get("hospitals", {})
    mistake = node.get("mistake", {})
    damage = node.get("damage", {})
    count = node.get("count", {})
    return {
        "own_production": {
            "counterparty": field(f, own_node, "own_production", "counterparty", _text),
            "document": field(f, own_node, "own_production", "document", _template("item", "day")),
            "items": r.items(f, own_node, "own_production", "items", own),
        },
        "national": {
            "days": field(f, national, "national", "days", _list_of(_whole)),
            "sender": field(f, national, "national", "sender", _text),
            "document": field(f, national, "national", "document", _template("n")),
            "share_of_items": field(f, national, "national", "share_of_items", _number),
            "always": (
                field(f, always, "national.always", "item", item),
                (
                    field(f, always, "national.always", "low", _whole),
                    field(f, always, "national.always", "high", _whole),
                ),
            ),
        },
        "purchase": {
            "every_days": field(
                f, purchase, "purchase", "every_days", lambda v: _whole(v, minimum=1)
            ),
            "document": field(f, purchase, "purchase", "document", _template("day")),
            "share_of_items": field(f, purchase, "purchase", "share_of_items", _number),
            "suppliers": field(f, purchase, "purchase", "suppliers", _list_of(_text)),
        },
        "donation": {
            "warehouse": field(f, donation, "donation", "warehouse", warehouse),
            "document": field(f, donation, "donation", "document", _template("day")),
            "donors": field(f, donation, "donation", "donors", _list_of(_text)),
        },
        "dispatch": {
            "document": field(f, dispatch, "dispatch", "document", _template("mmdd", "n", "k")),
            "build_up_from_day": field(f, dispatch, "dispatch", "build_up_from_day", _whole),
            "held_reserve_from_day": field(
                f, dispatch, "dispatch", "held_reserve_from_day", _whole
            ),
            "provincial_recipients": field(
                f, dispatch, "dispatch", "provincial_recipients", _list_of(_text)
            ),
            "receiving_weights": _mapping(
                r, f, dispatch, "dispatch", "receiving_weights", warehouse, _range
            ),
            "other_weight": field(f, dispatch, "dispatch", "other_weight", _range),
        },
        "hospitals": {
            "document": field(f, hospitals, "hospitals", "document", _template("warehouse", "day")),
            "by_warehouse": _mapping(
                r, f, hospitals, "hospitals", "by_warehouse", warehouse, _list_of(_text)
            ),
        },
        "mistake": {
            "day": field(f, mistake, "mistake", "day", _whole),
            "wrong_warehouse": field(f, mistake, "mistake", "wrong_warehouse", warehouse),
            "right_warehouse": field(f, mistake, "mistake", "right_warehouse", warehouse),
            "item": field(f, mistake, "mistake", "item", item),
            "quantity": field(f, mistake, "mistake", "quantity", lambda v: _whole(v, minimum=1)),
            "document": field(f, mistake, "mistake", "document", _text),
            "reversal_note": field(f, mistake, "mistake", "reversal_note", _text),
            "rebooked_note": field(f, mistake, "mistake", "rebooked_note", _text),
        },
        "damage": {
            "day": field(f, damage, "damage", "day", _whole),
            "warehouse": field(f, damage, "damage", "warehouse", warehouse),
            "items": field(f, damage, "damage", "items", _list_of(item)),
            "at_least": field(f, damage, "damage", "at_least", _whole),
            "share": field(f, damage, "damage", "share", _number),
            "note": field(f, damage, "damage", "note", _text),
        },
        "count": {
            "day": field(f, count, "count", "day", _whole),
            "warehouse": field(f, count, "count", "warehouse", warehouse),
            "differences": _mapping(
                r, f, count, "count", "differences", item, lambda v: _whole(v, minimum=-(10**9))
            ),
            "note": field(f, count, "count", "note", _text),
        },
    }


def _production(r, node, *, item, producer, warehouse, prefecture) -> dict:
    f = "production.yaml"
    field = r.field
    held = node.get("held_reserve", {})
    low = node.get("low_utilisation", {})

    def template(element, path):
        return {
            "per": field(f, element, path, "per", lambda v: _whole(v, minimum=1)),
            "materials": r.items(
                f,
                element,
                path,
                "materials",
                lambda m, p: (
                    field(f, m, p, "material", _one_of(RawMaterialKind.values)),
                    field(f, m, p, "name", _text),
                    field(f, m, p, "unit", _text),
                    field(f, m, p, "daily_use", _decimal),
                ),
            ),
        }

    raw = node.get("raw_materials", {})
    return {
        "report_days": field(f, node, "", "report_days", lambda v: _whole(v, minimum=1)),
        "mask_items": field(f, node, "", "mask_items", _list_of(item)),
        "n95": field(f, node, "", "n95", item),
        "suit": field(f, node, "", "suit", item),
        "counted_in_hundreds": field(f, node, "", "counted_in_hundreds", _list_of(item)),
        "held_reserve": (
            field(f, held, "held_reserve", "producer", producer),
            field(f, held, "held_reserve", "warehouse", warehouse),
        ),
        "low_utilisation": (
            field(f, low, "low_utilisation", "producer", producer),
            field(f, low, "low_utilisation", "item", item),
            field(f, low, "low_utilisation", "from", _date),
        ),
        "area_codes": _mapping(r, f, node, "", "area_codes", prefecture, _text, default={}),
        "default_area_code": field(f, node, "", "default_area_code", _text),
        "raw_materials": {
            kind: template(
                raw.get(kind, {}) if isinstance(raw, dict) else {}, f"raw_materials.{kind}"
            )
            for kind in ("masks", "suits", "other")
        },
        "short_materials": {
            (entry[0], entry[1]): entry[2]
            for entry in r.items(
                f,
                node,
                "",
                "short_materials",
                lambda m, p: (
                    field(f, m, p, "producer", producer),
                    field(f, m, p, "material", _one_of(RawMaterialKind.values)),
                    field(f, m, p, "days", _whole),
                ),
            )
        },
    }


def _batch_number(value):
    """Batch numbers are a year and a sequence (allocation's rule): "2020-{n:03d}"."""
    pattern = _template("n")(value)
    if not re.fullmatch(r"\d{4}-\d{3,}", pattern.format(n=1)):
        raise _Bad(_("Batch numbers are a year and a number, as “2020-{n:03d}” writes them."))
    return pattern


def _batches_and_weight(value):
    if not isinstance(value, list) or len(value) != 2:
        raise _Bad(_("Write [batches, weight]."))
    return _whole(value[0], minimum=1), _number(value[1])


def _allocation(r, node, *, item, warehouse, prefecture, destination_names) -> dict:
    f = "allocation.yaml"
    field = r.field
    channel = _one_of(Channel.values)
    # Template lines are drawn from stock the reserve receives for them: not donations.
    supply = _one_of((Channel.OWN_PRODUCTION, Channel.PURCHASE, Channel.NATIONAL_ALLOCATION))
    kinds = [k for k in DestinationKind.values if k != DestinationKind.COUNTY]
    templates_node = node.get("templates", {})
    templates = {}
    if not isinstance(templates_node, dict):
        r.error(f, "/", "templates", _("Expected a mapping of names to values."))
        templates_node = {}
    for name, lines in templates_node.items():
        if not isinstance(lines, list):
            r.error(f, "templates", str(name), _("Expected a list."))
            continue
        parsed = []
        for n, line in enumerate(lines):
            try:
                if not isinstance(line, list) or len(line) != 3:
                    raise _Bad(_("Write each line as [item, channel, weight]."))
                parsed.append((item(line[0]), supply(line[1]), _number(line[2])))
            except _Bad as exc:
                r.error(f, f"templates.{name}[{n}]", str(name), exc)
        templates[name] = tuple(parsed)
    template = _one_of(templates)
    donations_node = node.get("donations", {})
    donation_keys = set(donations_node) if isinstance(donations_node, dict) else set()
    donation = _one_of(donation_keys)

    def fixed_lines(value):
        if value is None:
            return ()
        if not isinstance(value, list):
            raise _Bad(_("Expected a list."))
        out = []
        for line in value:
            if not isinstance(line, list) or len(line) not in (3, 4):
                raise _Bad(_("Write each line as [item, channel, quantity, donation or nothing]."))
            key = donation(line[3]) if len(line) == 4 else None
            out.append((item(line[0]), channel(line[1]), _whole(line[2], minimum=1), key))
        return tuple(out)

    def quantities(value):
        if not isinstance(value, list):
            raise _Bad(_("Expected a list."))
        out = []
        for line in value:
            if not isinstance(line, list) or len(line) != 2:
                raise _Bad(_("Write each line as [item, quantity]."))
            out.append((item(line[0]), _whole(line[1], minimum=1)))
        return tuple(out)

    prefectures = node.get("prefectures", {})
    rotation = r.items(
        f,
        prefectures,
        "prefectures",
        "rotation",
        lambda e, p: {
            "warehouse": field(f, e, p, "warehouse", warehouse),
            "template": field(f, e, p, "template", template),
            "from": field(f, e, p, "from", _date, default=None),
            "then": field(f, e, p, "then", template, default=None),
        },
    )
    counts = _mapping(
        r,
        f,
        prefectures,
        "prefectures",
        "counts",
        prefecture,
        _batches_and_weight,
    )
    placements = r.items(
        f,
        prefectures,
        "prefectures",
        "donations",
        lambda e, p: {
            "donation": field(f, e, p, "donation", donation),
            "destination": field(f, e, p, "destination", prefecture, default=None),
            "warehouse": field(f, e, p, "warehouse", warehouse),
            "on_or_after": field(f, e, p, "on_or_after", _date),
            "nth": field(f, e, p, "nth", lambda v: _whole(v, minimum=1)),
            "lines": field(f, e, p, "lines", quantities),
        },
    )
    others = r.items(
        f,
        node,
        "",
        "other_batches",
        lambda e, p: {
            "destination": field(f, e, p, "destination", _one_of(destination_names)),
            "kind": field(f, e, p, "kind", _one_of(kinds)),
            "day": field(f, e, p, "day", _date),
            "warehouse": field(f, e, p, "warehouse", warehouse),
            "template": field(f, e, p, "template", template, default=None),
            "weight": field(f, e, p, "weight", _number, default=1.0),
            "priority": field(f, e, p, "priority", _one_of(BatchPriority.values)),
            "reason": field(f, e, p, "reason", lambda v: _text(v, optional=True), default=""),
            "fixed": field(f, e, p, "fixed", fixed_lines, default=()),
        },
    )
    donations = {}
    for key, spec in donations_node.items() if isinstance(donations_node, dict) else ():
        p = f"donations.{key}"
        row = {
            "donor_name": field(f, spec, p, "donor_name", _text),
            "donor_kind": field(f, spec, p, "donor_kind", _one_of(DonorKind.values)),
            "warehouse": field(f, spec, p, "warehouse", warehouse),
            "received_at": field(f, spec, p, "received_at", _moment),
            "lines": _mapping(r, f, spec, p, "lines", item, lambda v: _whole(v, minimum=1)),
            "declared_value": field(f, spec, p, "declared_value", _decimal),
            "public": field(f, spec, p, "public", _yes_no),
            "note": field(f, spec, p, "note", lambda v: _text(v, optional=True), default=""),
            "source_document": field(f, spec, p, "document", _text),
        }
        for optional, parse in (
            ("foreign", _yes_no),
            ("restriction", _one_of(DonationRestriction.values)),
            ("restricted_prefecture", prefecture),
        ):
            if isinstance(spec, dict) and optional in spec:
                row[optional] = field(f, spec, p, optional, parse)
        # Kept as the file writes it: the service stores the string as a Decimal.
        if row["declared_value"] is not None:
            row["declared_value"] = str(spec["declared_value"])
        donations[key] = row
    receipts = node.get("receipts", {})
    dispatch = node.get("dispatch", {})
    transit = node.get("in_transit", {})
    damaged = node.get("damaged", {})
    totals = _mapping(r, f, node, "", "totals", _one_of(kinds), _whole)
    return {
        "number": field(f, node, "", "number", _batch_number),
        "batches": field(f, node, "", "batches", _whole),
        "total": field(f, node, "", "total", _whole),
        "unit": field(f, node, "", "unit", lambda v: _whole(v, minimum=1)),
        "totals": totals,
        "templates": templates,
        "prefectures": {
            "first_day": field(f, prefectures, "prefectures", "first_day", _date),
            "last_day": field(f, prefectures, "prefectures", "last_day", _date),
            "contact": field(f, prefectures, "prefectures", "contact", _text),
            "rotation_from": field(f, prefectures, "prefectures", "rotation_from", _date),
            "rotation": rotation,
            "hard_hit": field(f, prefectures, "prefectures", "hard_hit", _list_of(prefecture)),
            "hard_hit_priority": field(
                f, prefectures, "prefectures", "hard_hit_priority", _one_of(BatchPriority.values)
            ),
            "hard_hit_reason": field(f, prefectures, "prefectures", "hard_hit_reason", _text),
            "priority": field(
                f, prefectures, "prefectures", "priority", _one_of(BatchPriority.values)
            ),
            "reason": field(f, prefectures, "prefectures", "reason", _text),
            "counts": counts,
            "donations": placements,
        },
        "other_batches": others,
        "donations": donations,
        "receipts": {
            "note": field(f, receipts, "receipts", "note", _text),
            "national_document": field(
                f, receipts, "receipts", "national_document", _template("week", "n")
            ),
            "purchase_document": field(
                f, receipts, "receipts", "purchase_document", _template("n")
            ),
            "own_production_document": field(
                f, receipts, "receipts", "own_production_document", _template("n")
            ),
            "producers": _mapping(r, f, receipts, "receipts", "producers", warehouse, _text),
        },
        "dispatch": {
            "carriers": field(f, dispatch, "dispatch", "carriers", _list_of(_text)),
            "vehicle": field(f, dispatch, "dispatch", "vehicle", _template("number")),
            "first_departure_hour": field(f, dispatch, "dispatch", "first_departure_hour", _whole),
            "minutes_apart": field(f, dispatch, "dispatch", "minutes_apart", _whole),
            "drafted_hours_before": field(f, dispatch, "dispatch", "drafted_hours_before", _whole),
            "approved_hours_before": field(
                f, dispatch, "dispatch", "approved_hours_before", _whole
            ),
            "arrives_hours_after": field(f, dispatch, "dispatch", "arrives_hours_after", _whole),
            "travel_days": _mapping(
                r, f, dispatch, "dispatch", "travel_days", _one_of(kinds), _whole
            ),
        },
        "in_transit": (
            field(f, transit, "in_transit", "batch", _text),
            field(f, transit, "in_transit", "note", _text),
        ),
        "damaged": (
            field(f, damaged, "damaged", "destination", prefecture),
            field(f, damaged, "damaged", "after", _date),
            field(f, damaged, "damaged", "note", _text),
        ),
    }


# --- three-level dispatch (issue 15): onward.yaml ---------------------------------------------


def onward_numbers(prefecture: str, days: list[dt.date]) -> list[str]:
    """The numbers of a prefecture's batches leaving on `days` (in that order), in its own
    series: `<prefecture>-<year>-NNN`, counted from 1 in each year (620100-2020-001)."""
    counts: dict[int, int] = {}
    numbers = []
    for day in days:
        counts[day.year] = counts.get(day.year, 0) + 1
        numbers.append(f"{prefecture}-{day.year}-{counts[day.year]:03d}")
    return numbers


def _quantities(item):
    """{item: quantity ≥ 1}, at least one."""

    def parse(value):
        if not isinstance(value, dict) or not value:
            raise _Bad(_("Expected a mapping of items to quantities."))
        out = {}
        for code, quantity in value.items():
            out[item(code)] = _whole(quantity, minimum=1)
        return out

    return parse


def _onward(r, node, *, item, prefecture, county_prefecture, claimants, users, requests) -> dict:
    """onward.yaml: each prefecture's warehouse, people, receipts from the province's batches,
    onward batches to its counties and draft; the counties' requests. Checked here: the codes,
    that the warehouse, the officer, the lead and the counties are that prefecture's, that a
    batch's moments follow each other and its batches leave in order, that a part received
    names shipped items and no more than was shipped, that a request's batch goes to it. The
    loader checks the receipts against the province's batch plan; the services the rest."""
    f = "onward.yaml"
    field = r.field
    warehouses = {
        row["code"]: row
        for row in r.seen.get("warehouses.csv", ())
        if {"code", "kind", "prefecture"} <= set(row)
    }
    people = {row["username"]: row for row in r.seen.get("users.csv", ()) if "username" in row}
    counties = {
        row["name_zh"]: county_prefecture.get(row["code"])
        for row in r.seen.get("destinations.csv", ())
        if row.get("kind") == DestinationKind.COUNTY and "name_zh" in row and "code" in row
    }
    # A county whose code is wrong is reported once, in destinations.csv, not again here.
    unknown = {name for name, code in counties.items() if code is None}
    quantities = _quantities(item)

    def person(role, code):
        def parse(value):
            name = _text(value)
            row = people.get(name)
            if row is None or row.get("role") != role or row.get("prefecture") != code:
                raise _Bad(
                    _("“%(value)s” is not a user of users.csv with the role %(role)s of %(code)s.")
                    % {"value": name, "role": role, "code": code}
                )
            return name

        return parse

    def county_of(code):
        def parse(value):
            name = _text(value)
            if counties.get(name) != code and name not in unknown:
                raise _Bad(
                    _("“%(value)s” is not a county of %(code)s in destinations.csv.")
                    % {"value": name, "code": code}
                )
            return name

        return parse

    def own_warehouse(code):
        def parse(value):
            text = _text(value)
            row = warehouses.get(text)
            if row is None or row["kind"] != WarehouseKind.PREFECTURE or row["prefecture"] != code:
                raise _Bad(
                    _("“%(value)s” is not a prefecture warehouse of %(code)s in warehouses.csv.")
                    % {"value": text, "code": code}
                )
            return text

        return parse

    def batch(code):
        def parse(element, path):
            spec = {
                "destination": field(f, element, path, "destination", county_of(code)),
                "drafted": field(f, element, path, "drafted", _moment),
                "approved": field(f, element, path, "approved", _moment),
                "dispatched": field(f, element, path, "dispatched", _moment),
                "expected_arrival": field(f, element, path, "expected_arrival", _date),
                "priority": field(f, element, path, "priority", _one_of(BatchPriority.values)),
                "reason": field(f, element, path, "reason", lambda v: _text(v, optional=True)),
                "lines": field(f, element, path, "lines", quantities),
            }
            received = element.get("received") if isinstance(element, dict) else None
            where = f"{path}.received"
            spec["received"] = {
                "at": field(f, received, where, "at", _moment),
                "by": field(f, received, where, "by", _one_of(set(users))),
                "quantities": field(f, received, where, "quantities", quantities, default=None),
                "note": field(
                    f, received, where, "note", lambda v: _text(v, optional=True), default=""
                ),
            }
            moments = [
                spec["drafted"],
                spec["approved"],
                spec["dispatched"],
                spec["received"]["at"],
            ]
            if None not in moments and moments != sorted(moments):
                r.error(
                    f,
                    path,
                    "dispatched",
                    _("A batch is drafted, approved, dispatched and received in that order."),
                )
            part, lines = spec["received"]["quantities"], spec["lines"]
            if part is not None and lines is not None:
                if any(key not in lines or q > lines[key] for key, q in part.items()):
                    r.error(
                        f,
                        where,
                        "quantities",
                        _("Receive only items the batch carries, and no more than it carries."),
                    )
                elif not spec["received"]["note"]:
                    r.error(f, where, "note", _("Say in a note why less than shipped arrived."))
            return spec

        return parse

    out = []
    numbers = {}  # recorded batch number: (prefecture, destination)
    elements = node.get("prefectures")
    if not isinstance(elements, list):
        r.error(f, "/", "prefectures", _("Expected a list."))
        elements = []
    for n, element in enumerate(elements):
        path = f"prefectures[{n}]"
        code = field(f, element, path, "prefecture", prefecture)
        if code is None:
            continue
        entry = {
            "prefecture": code,
            "warehouse": field(f, element, path, "warehouse", own_warehouse(code)),
            "officer": field(f, element, path, "officer", person(Role.PREFECTURE_OFFICER, code)),
            "lead": field(f, element, path, "lead", person(Role.PREFECTURE_LEAD, code)),
            "carrier": field(
                f, element, path, "carrier", lambda v: _text(v, optional=True), default=""
            ),
            "receipts": r.items(
                f,
                element,
                path,
                "receipts",
                lambda e, p: {
                    "batch": field(f, e, p, "batch", _batch_number_text),
                    "at": field(f, e, p, "at", _moment),
                    "lines": field(f, e, p, "lines", quantities),
                },
            ),
            "batches": r.items(f, element, path, "batches", batch(code)),
        }
        draft = element.get("draft") if isinstance(element, dict) else None
        entry["draft"] = (
            None
            if draft is None
            else {
                "destination": field(f, draft, f"{path}.draft", "destination", county_of(code)),
                "priority": field(
                    f, draft, f"{path}.draft", "priority", _one_of(BatchPriority.values)
                ),
                "reason": field(f, draft, f"{path}.draft", "reason", _text),
                "lines": field(f, draft, f"{path}.draft", "lines", quantities),
                "note": field(
                    f, draft, f"{path}.draft", "note", lambda v: _text(v, optional=True), default=""
                ),
            }
        )
        days = [b["dispatched"][0] if b["dispatched"] else None for b in entry["batches"]]
        moments = [b["dispatched"] for b in entry["batches"]]
        if None not in moments:
            if moments != sorted(moments):
                r.error(
                    f, path, "batches", _("List a prefecture's batches in the order they left.")
                )
            for spec, number in zip(entry["batches"], onward_numbers(code, days), strict=True):
                spec["recorded"] = number
                numbers[number] = (code, spec["destination"])
        out.append(entry)
    taken = {spec["key"] for spec in requests}
    county_requests = (
        r.items(
            f,
            node,
            "",
            "requests",
            lambda element, path: {
                **_request_spec(r, f, element, path, item=item, claimants=claimants, users=users),
                "triaged_by": field(
                    f, element, path, "triaged_by", _one_of(set(users)), default=None
                ),
                "batch": field(f, element, path, "batch", _batch_number_text, default=None),
            },
        )
        if isinstance(node, dict) and "requests" in node
        else []
    )
    _unique_keys(r, f, county_requests)
    for n, spec in enumerate(county_requests):
        path = f"requests[{n}]"
        if spec["key"] in taken:
            r.error(f, path, "key", _("This key is taken by a request of requests.yaml."))
        if spec["claimant"] is not None and spec["claimant"] not in counties:
            r.error(f, path, "claimant", _("Name a county of destinations.csv."))
        if spec["batch"] is not None:
            if spec["triaged"] is None:
                r.error(f, path, "batch", _("Only a triaged request is answered by a batch."))
            elif numbers.get(spec["batch"], (None, None))[1] != spec["claimant"]:
                r.error(
                    f,
                    path,
                    "batch",
                    _("“%(value)s” is not a batch of this file to the request's county.")
                    % {"value": spec["batch"]},
                )
    return {
        "channel": field(f, node, "", "channel", _one_of(Channel.values), default="reserve"),
        "receipt_note": field(f, node, "", "receipt_note", _text),
        "prefectures": out,
        "requests": county_requests,
    }


def _batch_number_text(value):
    text = _text(value)
    if not re.fullmatch(r"(\d{6}-)?\d{4}-\d{3,}", text):
        raise _Bad(
            _("“%(value)s” is not a batch number (2020-047, 620100-2020-002).") % {"value": text}
        )
    return text


# --- procurement (issue 14): suppliers, reserve-task units, orders, national, distribution --


def _region(value):
    """A six-digit administrative region code (the credit code's 3rd–8th characters)."""
    text = _text(value)
    if not re.fullmatch(r"\d{6}", text):
        raise _Bad(_("“%(value)s” is not a six-digit region code.") % {"value": text})
    return text


def _yuan(value):
    """An amount in yuan with at most two decimals, kept as text (the services take text)."""
    text = _text(value)
    if not re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?", text):
        raise _Bad(_("“%(value)s” is not an amount in yuan.") % {"value": text})
    return text


def _share(value):
    number = _number(value)
    if not 0 <= number <= 1:
        raise _Bad(_("Must lie between 0 and 1."))
    return number


def _procurement_files(r, *, item, warehouse, prefecture) -> dict:
    """procurement.yaml and the CSVs it names rows of; read only when the folder has it."""
    suppliers = r.csv(
        "suppliers.csv",
        key=("key",),
        columns={
            "key": _text,
            "name": _text,
            "origin": _one_of(SupplierOrigin.values),
            "region": _optional(_region),
            "contact": lambda v: _text(v, optional=True),
            "phone": lambda v: _text(v, optional=True),
            "note": lambda v: _text(v, optional=True),
        },
    )
    for row in suppliers:
        if row["origin"] != SupplierOrigin.ABROAD and row["region"] is None:
            r.error(
                "suppliers.csv",
                row["_row"],
                "region",
                _("An enterprise in China needs its region (its credit code is made from it)."),
            )
    supplier = _one_of(r.keys("suppliers.csv", "key"))
    capabilities = r.csv(
        "supplier_items.csv",
        key=("supplier", "item"),
        columns={
            "supplier": supplier,
            "item": item,
            "daily_capacity": lambda v: _whole(v, minimum=1),
            "lead_time_days": _whole,
            "minimum_order": _whole,
            "unit_price": _yuan,
        },
    )
    units = r.csv(
        "reserve_units.csv",
        key=("key",),
        columns={
            "key": _text,
            "name": _text,
            "warehouses": lambda v: tuple(warehouse(w.strip()) for w in _text(v).split(";")),
            "capital_granted": _yuan,
            "contact": lambda v: _text(v, optional=True),
            "phone": lambda v: _text(v, optional=True),
            "note": lambda v: _text(v, optional=True),
        },
    )
    unit = _one_of(r.keys("reserve_units.csv", "key"))
    reporters = {
        row["username"]
        for row in r.seen.get("users.csv", ())
        if row.get("role") == Role.DISTRIBUTION_REPORTER and "username" in row
    }
    enterprises = r.csv(
        "distribution_enterprises.csv",
        key=("key",),
        columns={
            "key": _text,
            "name": _text,
            "prefecture": prefecture,
            "contact": lambda v: _text(v, optional=True),
            "phone": lambda v: _text(v, optional=True),
            "items": lambda v: tuple(item(i.strip()) for i in _text(v).split(";")),
            "daily_volume": lambda v: _whole(v, minimum=1),
            "reporter": _optional(_one_of(reporters)),
        },
    )
    enterprise = _one_of(r.keys("distribution_enterprises.csv", "key"))
    node = r.yaml("procurement.yaml")
    if node is None:
        return {}
    f = "procurement.yaml"
    field = r.field
    orders = node.get("orders", {})
    national = node.get("national", {})
    request = national.get("request", {}) if isinstance(national, dict) else {}
    distribution = node.get("distribution", {})

    def lines(value):
        if not isinstance(value, list) or not value:
            raise _Bad(_("Expected a list."))
        out = []
        for line in value:
            if not isinstance(line, list) or len(line) != 3:
                raise _Bad(_("Write each line as [item, quantity, expected day]."))
            out.append((item(line[0]), _whole(line[1], minimum=1), _whole(line[2])))
        return tuple(out)

    def key_day(value):
        if not isinstance(value, list) or len(value) != 2:
            raise _Bad(_("Write [enterprise, day]."))
        return enterprise(value[0]), _whole(value[1])

    def placed(element, path):
        return {
            "key": field(f, element, path, "key", _text),
            "buyer": field(f, element, path, "buyer", unit, default=None),
            "supplier": field(f, element, path, "supplier", supplier),
            "funding": field(
                f, element, path, "funding", _one_of(FundingSource.values), default=None
            ),
            "ordered": field(f, element, path, "ordered", _whole),
            "cancelled": field(f, element, path, "cancelled", _whole, default=None),
            "prepaid": field(f, element, path, "prepaid", _share, default=0.0),
            "lines": field(f, element, path, "lines", lines),
            "note": field(f, element, path, "note", lambda v: _text(v, optional=True), default=""),
        }

    return {
        "suppliers": tuple(suppliers),
        "capabilities": tuple(capabilities),
        "units": tuple(units),
        "enterprises": tuple(enterprises),
        "scarce_items": field(f, node, "", "scarce_items", _list_of(item), default=[]),
        "orders": {
            "number": field(f, orders, "orders", "number", _template("year", "n")),
            "late_share": field(f, orders, "orders", "late_share", _share),
            "prices": _mapping(r, f, orders, "orders", "prices", item, _yuan),
            "pay_after_days": field(f, orders, "orders", "pay_after_days", _range),
            "partly_arrived": r.items(
                f,
                orders,
                "orders",
                "partly_arrived",
                lambda e, p: {
                    "receipt_day": field(f, e, p, "receipt_day", _whole),
                    "lines": field(f, e, p, "lines", lines),
                    "note": field(f, e, p, "note", lambda v: _text(v, optional=True), default=""),
                },
            ),
            "placed": r.items(f, orders, "orders", "placed", placed),
            "cancelled": r.items(f, orders, "orders", "cancelled", placed),
        },
        "national": {
            "request": {
                "item": field(f, request, "national.request", "item", item),
                "sent": field(f, request, "national.request", "sent", _whole),
                "horizon_days": field(
                    f, request, "national.request", "horizon_days", lambda v: _whole(v, minimum=1)
                ),
                "round_to": field(
                    f, request, "national.request", "round_to", lambda v: _whole(v, minimum=1)
                ),
                "justification": field(f, request, "national.request", "justification", _text),
            },
            "allocations": r.items(
                f,
                national,
                "national",
                "allocations",
                lambda e, p: {
                    "receipt_day": field(f, e, p, "receipt_day", _whole, default=None),
                    "quantity": field(
                        f, e, p, "quantity", lambda v: _whole(v, minimum=1), default=None
                    ),
                    "announced": field(f, e, p, "announced", _whole),
                    "expected": field(f, e, p, "expected", _whole, default=None),
                    "warehouse": field(f, e, p, "warehouse", warehouse, default=None),
                    "reference": field(f, e, p, "reference", _text, default=""),
                },
            ),
        },
        "distribution": {
            "days": field(f, distribution, "distribution", "days", lambda v: _whole(v, minimum=1)),
            "item_weights": _mapping(
                r, f, distribution, "distribution", "item_weights", item, _number
            ),
            "late": field(f, distribution, "distribution", "late", _list_of(key_day), default=[]),
            "missing": field(
                f, distribution, "distribution", "missing", _list_of(key_day), default=[]
            ),
        },
    }
