"""State changes of the shared core. The admin, commands and imports all call these.

`reference_load_csv` loads the reference data (province and prefectures, counties, the item
catalogue, staff categories) from CSV files shaped like the ones shipped in
`supplycoord/data/`. It validates every row first and reports each problem with its row
(the line of the file, the header being row 1) and column; only a clean file is written,
in one transaction, upserting by code. Codes missing from a file are left alone: the
loader never deletes or deactivates (deactivation is a decision, made in the admin).
"""

import csv
import dataclasses
import io
import os
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from .lib.numbers import grouped
from .lib.text import text_error
from .models import County, Item, ItemCategory, Prefecture, Province, StaffCategory, Unit, User

DATA_DIR = Path(__file__).resolve().parent / "data"

REFERENCE_KINDS = ("prefectures", "counties", "items", "staff_categories")
SHIPPED_FILES = {
    "prefectures": DATA_DIR / "prefectures.csv",
    "counties": DATA_DIR / "counties.csv",
    "items": DATA_DIR / "items.csv",
    "staff_categories": DATA_DIR / "staff_categories.csv",
}

# Letters, digits and a few separators: codes end up in URLs, API payloads and filenames.
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
GB_CODE_RE = re.compile(r"^\d{6}$")
HISTORY_REASON = "reference CSV load"


@dataclasses.dataclass(frozen=True)
class CsvRowError:
    row: int  # line of the file as a spreadsheet shows it: the header is row 1; 0 = whole file
    field: str  # the column name as written in the header
    message: str

    def as_dict(self):
        return {"row": self.row, "field": self.field, "message": str(self.message)}

    def __str__(self):
        if self.row == 0:
            return str(self.message)
        return _("Row %(row)s, column “%(field)s”: %(message)s") % {
            "row": grouped(self.row),
            "field": self.field,
            "message": self.message,
        }


class ReferenceDataInvalid(Exception):
    """The file has problems; nothing was saved. `errors` lists every one found."""

    def __init__(self, errors: list[CsvRowError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


# --- cell parsers: each returns (value, None) or (None, translated message) -----------------


def _text(max_length: int, *, required: bool = True, code: bool = False) -> Callable:
    def parse(raw: str):
        value = raw.strip()
        if not value:
            return ("", None) if not required else (None, _("This field is required."))
        if len(value) > max_length:
            return None, _("At most %(max)s characters (this one has %(length)s).") % {
                "max": grouped(max_length),
                "length": grouped(len(value)),
            }
        # Codes, names and specifications are one line without control characters, as at
        # every other door (a cell of a CSV may hold a line break between quotes).
        message = text_error(value)
        if message:
            return None, message
        if code and not CODE_RE.match(value):
            return None, _(
                "Codes may only contain letters, digits, “-”, “_” and “.”, "
                "and must start with a letter or digit."
            )
        return value, None

    return parse


TRUE_WORDS = {"true", "1", "yes", "y", "是", "t"}
FALSE_WORDS = {"false", "0", "no", "n", "否", "f"}


def _bool(default: bool) -> Callable:
    def parse(raw: str):
        value = raw.strip().lower()
        if not value:
            return default, None
        if value in TRUE_WORDS:
            return True, None
        if value in FALSE_WORDS:
            return False, None
        return None, _("Enter true or false.")

    return parse


def _int(*, minimum: int, default: int) -> Callable:
    def parse(raw: str):
        value = raw.strip()
        if not value:
            return default, None
        if not re.fullmatch(r"[+-]?\d+", value):
            return None, _("Enter a whole number.")
        # int() refuses more than 4,300 digits, leading zeros too (a 500); eleven are already
        # too large.
        sign, digits = (value[0], value[1:]) if value[0] in "+-" else ("", value)
        digits = digits.lstrip("0") or "0"
        if len(digits) > 10:
            return None, _("This number is too large.")
        number = int(sign + digits)
        if number < minimum:
            return None, _("Must be %(minimum)d or more.") % {"minimum": minimum}
        if number > 2_147_483_647:
            return None, _("This number is too large.")
        return number, None

    return parse


def _decimal(*, minimum: Decimal, exclusive: bool = False, default=None) -> Callable:
    def parse(raw: str):
        value = raw.strip()
        if not value:
            return default, None
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None, _("Enter a number.")
        if not number.is_finite():
            return None, _("Enter a number.")
        if number != number.quantize(Decimal("0.01")):
            return None, _("At most 2 decimal places.")
        if number >= Decimal("10000"):
            return None, _("This number is too large.")
        if number < minimum or (exclusive and number == minimum):
            if exclusive:
                return None, _("Must be more than %(minimum)s.") % {"minimum": minimum}
            return None, _("Must be %(minimum)s or more.") % {"minimum": minimum}
        return number.quantize(Decimal("0.01")), None

    return parse


def _choice(values) -> Callable:
    values = list(values)

    def parse(raw: str):
        value = raw.strip()
        if value in values:
            return value, None
        if not value:
            return None, _("This field is required.")
        return None, _("“%(value)s” is not one of: %(choices)s.") % {
            "value": value,
            "choices": ", ".join(values),
        }

    return parse


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    parse: Callable
    # A required column must be in the header. An optional one may be left out, and then the
    # stored value is kept (or the model default used for a new row).
    required: bool = True


@dataclasses.dataclass(frozen=True)
class FileSpec:
    columns: tuple[Column, ...]

    @property
    def by_name(self):
        return {c.name: c for c in self.columns}


PREFECTURE_SPEC = FileSpec(
    (
        Column("level", _choice(["province", "prefecture"])),
        Column("code", _text(12, code=True)),
        Column("name_zh", _text(64)),
        Column("name_en", _text(64, required=False), required=False),
        Column("parent_code", _text(12, required=False)),
        Column("is_gb_code", _bool(True)),
        Column("active", _bool(True), required=False),
        Column("priority_weight", _decimal(minimum=Decimal("1")), required=False),
    )
)
COUNTY_SPEC = FileSpec(
    (
        Column("code", _text(12, code=True)),
        Column("prefecture_code", _text(12)),
        Column("name_zh", _text(64)),
        Column("name_en", _text(64, required=False), required=False),
        Column("active", _bool(True), required=False),
    )
)
ITEM_SPEC = FileSpec(
    (
        Column("code", _text(32, code=True)),
        Column("name_zh", _text(128)),
        Column("name_en", _text(128, required=False), required=False),
        Column("category", _choice(ItemCategory.values)),
        Column("unit", _choice(Unit.values)),
        Column("specification", _text(200, required=False), required=False),
        Column("pack_size", _int(minimum=1, default=1)),
        Column("is_key", _bool(False)),
        Column("sort_order", _int(minimum=0, default=0)),
        Column("active", _bool(True), required=False),
        Column("red_days", _decimal(minimum=Decimal("0"), exclusive=True), required=False),
        Column("amber_days", _decimal(minimum=Decimal("0"), exclusive=True), required=False),
        Column("short_name_zh", _text(24, required=False), required=False),
        Column("short_name_en", _text(24, required=False), required=False),
    )
)
STAFF_CATEGORY_SPEC = FileSpec(
    (
        Column("code", _text(32, code=True)),
        Column("name_zh", _text(64)),
        Column("name_en", _text(64, required=False), required=False),
        Column("sort_order", _int(minimum=0, default=0)),
    )
)


# --- reading and row validation -------------------------------------------------------------


def _read_text(path_or_file) -> str:
    if isinstance(path_or_file, str | os.PathLike):
        with open(path_or_file, "rb") as handle:
            data = handle.read()
    else:
        data = path_or_file.read()
    if isinstance(data, bytes):
        # utf-8-sig: Excel's "CSV UTF-8" starts the file with a byte-order mark.
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ReferenceDataInvalid(
                [
                    CsvRowError(
                        0,
                        "file",
                        _("The file is not UTF-8 text (byte %(position)s). Save it as “CSV UTF-8”.")
                        % {"position": grouped(exc.start)},
                    )
                ]
            ) from exc
    return data.removeprefix("\ufeff")


def _parse_file(path_or_file, spec: FileSpec):
    """Return the header, [(row number, cleaned values)] and the errors found in the cells.

    A bad header raises at once (the rows cannot be read without it). A row's cleaned values
    lack the cells that failed, so the checks across rows can still run on the rest and the
    caller reports every problem of the file in one go.
    """
    reader = csv.reader(io.StringIO(_read_text(path_or_file)))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ReferenceDataInvalid([CsvRowError(0, "file", _("The file is empty."))]) from None
    except csv.Error as exc:
        raise ReferenceDataInvalid([CsvRowError(1, "file", str(exc))]) from exc

    errors = []
    known = spec.by_name
    for name in header:
        if name not in known:
            errors.append(
                CsvRowError(
                    1,
                    name,
                    _("Unknown column; the columns are: %(columns)s.")
                    % {"columns": ", ".join(known)},
                )
            )
    seen = set()
    for name in header:
        if name in seen:
            errors.append(CsvRowError(1, name, _("This column appears twice.")))
        seen.add(name)
    for column in spec.columns:
        if column.required and column.name not in header:
            errors.append(CsvRowError(1, column.name, _("This column is missing.")))
    if errors:
        raise ReferenceDataInvalid(errors)

    rows = []
    try:
        for cells in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, often at the end of a file saved by a spreadsheet
            if len(cells) != len(header):
                errors.append(
                    CsvRowError(
                        number,
                        "row",
                        _("Expected %(expected)d cells, found %(found)d.")
                        % {"expected": len(header), "found": len(cells)},
                    )
                )
                continue
            cleaned = {}
            for name, raw in zip(header, cells, strict=True):
                value, message = known[name].parse(raw)
                if message:
                    errors.append(CsvRowError(number, name, message))
                else:
                    cleaned[name] = value
            rows.append((number, cleaned))
    except csv.Error as exc:
        errors.append(CsvRowError(reader.line_num, "file", str(exc)))

    errors.extend(_duplicate_codes(rows))
    if not rows and not errors:
        raise ReferenceDataInvalid(
            [CsvRowError(0, "file", _("The file has a header but no rows."))]
        )
    return header, rows, errors


def _duplicate_codes(rows):
    first_row = {}
    for number, values in rows:
        code = values.get("code")
        if not code:
            continue
        if code in first_row:
            yield CsvRowError(
                number,
                "code",
                _("Duplicate code “%(code)s”: already used in row %(row)s.")
                % {"code": code, "row": grouped(first_row[code])},
            )
        else:
            first_row[code] = number


def _sorted(errors):
    return sorted(errors, key=lambda e: (e.row, e.field))


# --- upserts ---------------------------------------------------------------------------------


def _has_history(model) -> bool:
    return hasattr(model._meta, "simple_history_manager_attribute")


def _upsert(model, records: list[dict], *, user, now) -> dict:
    """Create or update rows by code. Each record holds only the fields the file carried."""
    existing = {
        obj.code: obj for obj in model.objects.filter(code__in=[r["code"] for r in records])
    }
    to_create, to_update, changed_fields = [], [], set()
    unchanged = 0
    for record in records:
        current = existing.get(record["code"])
        if current is None:
            to_create.append(model(**record))
            continue
        changes = {f: v for f, v in record.items() if getattr(current, f) != v}
        if not changes:
            unchanged += 1
            continue
        for field, value in changes.items():
            setattr(current, field, value)
        changed_fields.update(changes)
        to_update.append(current)

    if _has_history(model):
        if to_create:
            bulk_create_with_history(
                to_create,
                model,
                batch_size=500,
                default_user=user,
                default_change_reason=HISTORY_REASON,
                default_date=now,
            )
        if to_update:
            bulk_update_with_history(
                to_update,
                model,
                sorted(changed_fields),
                batch_size=500,
                default_user=user,
                default_change_reason=HISTORY_REASON,
                default_date=now,
            )
    else:
        if to_create:
            model.objects.bulk_create(to_create, batch_size=500)
        if to_update:
            model.objects.bulk_update(to_update, sorted(changed_fields), batch_size=500)
    return {"created": len(to_create), "updated": len(to_update), "unchanged": unchanged}


def _add_counts(total: dict, part: dict) -> dict:
    for key in ("created", "updated", "unchanged"):
        total[key] = total.get(key, 0) + part[key]
    return total


def _fields(values: dict, mapping: dict) -> dict:
    """Model field values from cleaned CSV values, for the columns the file carried."""
    return {field: values[column] for column, field in mapping.items() if column in values}


# --- per kind --------------------------------------------------------------------------------


def _load_prefectures(path_or_file, *, user, now) -> dict:
    _header, rows, errors = _parse_file(path_or_file, PREFECTURE_SPEC)
    province_rows = [(n, v) for n, v in rows if v.get("level") == "province"]
    prefecture_rows = [(n, v) for n, v in rows if v.get("level") == "prefecture"]

    for number, values in province_rows:
        code = values.get("code")
        if code and not (GB_CODE_RE.match(code) and code.endswith("0000")):
            errors.append(
                CsvRowError(
                    number, "code", _("A province code is six digits ending in 0000 (620000).")
                )
            )
        if values.get("is_gb_code") is False:
            errors.append(
                CsvRowError(number, "is_gb_code", _("A province always has a GB/T 2260 code."))
            )
        if values.get("parent_code"):
            errors.append(CsvRowError(number, "parent_code", _("A province has no parent.")))
        if values.get("priority_weight") is not None:
            errors.append(
                CsvRowError(number, "priority_weight", _("Priority weights belong to prefectures."))
            )

    province_codes = {v["code"] for _n, v in province_rows if v.get("code")}
    parent_codes = {v.get("parent_code") for _n, v in prefecture_rows} - {None, ""}
    province_codes |= set(
        Province.objects.filter(code__in=parent_codes).values_list("code", flat=True)
    )
    for number, values in prefecture_rows:
        code, parent = values.get("code"), values.get("parent_code")
        if parent == "":
            errors.append(
                CsvRowError(number, "parent_code", _("A prefecture needs its province's code."))
            )
        elif parent is not None and parent not in province_codes:
            errors.append(
                CsvRowError(
                    number,
                    "parent_code",
                    _("Unknown province “%(code)s”: add it to this file or load it first.")
                    % {"code": parent},
                )
            )
        if not code or values.get("is_gb_code") is None:
            continue
        if values["is_gb_code"]:
            if not (GB_CODE_RE.match(code) and code.endswith("00") and not code.endswith("0000")):
                errors.append(
                    CsvRowError(
                        number,
                        "code",
                        _("A GB/T 2260 prefecture code is six digits ending in 00 (620100)."),
                    )
                )
            elif parent and GB_CODE_RE.match(parent) and code[:2] != parent[:2]:
                errors.append(
                    CsvRowError(
                        number,
                        "code",
                        _("Code %(code)s does not belong to province %(province)s.")
                        % {"code": code, "province": parent},
                    )
                )
        elif GB_CODE_RE.match(code):
            errors.append(
                CsvRowError(
                    number,
                    "code",
                    _(
                        "A non-GB code must not look like a GB/T 2260 code; "
                        "use letters (e.g. LZXQ)."
                    ),
                )
            )
    if errors:
        raise ReferenceDataInvalid(_sorted(errors))

    totals = {"rows": len(rows)}
    province_records = [
        _fields(v, {"code": "code", "name_zh": "name_zh", "name_en": "name_en"})
        for _n, v in province_rows
    ]
    if province_records:
        _add_counts(totals, _upsert(Province, province_records, user=user, now=now))
    provinces = {
        p.code: p
        for p in Province.objects.filter(code__in={v["parent_code"] for _n, v in prefecture_rows})
    }
    prefecture_records = []
    for _n, values in prefecture_rows:
        record = _fields(
            values,
            {
                "code": "code",
                "name_zh": "name_zh",
                "name_en": "name_en",
                "is_gb_code": "is_gb_code",
                "active": "active",
            },
        )
        if values.get("priority_weight") is not None:
            record["priority_weight"] = values["priority_weight"]
        record["province_id"] = provinces[values["parent_code"]].pk
        prefecture_records.append(record)
    if prefecture_records:
        _add_counts(totals, _upsert(Prefecture, prefecture_records, user=user, now=now))
    return totals


def _load_counties(path_or_file, *, user, now) -> dict:
    _header, rows, errors = _parse_file(path_or_file, COUNTY_SPEC)
    prefectures = {
        p.code: p
        for p in Prefecture.objects.filter(code__in={v.get("prefecture_code") for _n, v in rows})
    }
    for number, values in rows:
        code, parent_code = values.get("code"), values.get("prefecture_code")
        prefecture = prefectures.get(parent_code)
        if parent_code and prefecture is None:
            errors.append(
                CsvRowError(
                    number,
                    "prefecture_code",
                    _("Unknown prefecture “%(code)s”: load the prefectures first.")
                    % {"code": parent_code},
                )
            )
        if not code:
            continue
        if not GB_CODE_RE.match(code) or code.endswith("00"):
            errors.append(
                CsvRowError(
                    number,
                    "code",
                    _("A GB/T 2260 county code is six digits not ending in 00 (620102)."),
                )
            )
        elif prefecture is not None and prefecture.is_gb_code and code[:4] != prefecture.code[:4]:
            errors.append(
                CsvRowError(
                    number,
                    "code",
                    _("Code %(code)s does not belong to prefecture %(prefecture)s.")
                    % {"code": code, "prefecture": prefecture.code},
                )
            )
    if errors:
        raise ReferenceDataInvalid(_sorted(errors))

    records = []
    for _n, values in rows:
        record = _fields(
            values, {"code": "code", "name_zh": "name_zh", "name_en": "name_en", "active": "active"}
        )
        record["prefecture_id"] = prefectures[values["prefecture_code"]].pk
        records.append(record)
    return {"rows": len(rows), **_upsert(County, records, user=user, now=now)}


def _load_items(path_or_file, *, user, now) -> dict:
    header, rows, errors = _parse_file(path_or_file, ITEM_SPEC)
    default_red = Decimal(settings.SUPPLYCOORD["RED_DAYS"])
    default_amber = Decimal(settings.SUPPLYCOORD["AMBER_DAYS"])
    for number, values in rows:
        if "red_days" not in values and "amber_days" not in values:
            continue
        red = values.get("red_days") or default_red
        amber = values.get("amber_days") or default_amber
        if red >= amber:
            errors.append(
                CsvRowError(
                    number,
                    "red_days" if "red_days" in header else "amber_days",
                    _(
                        "The red threshold (%(red)s days) must be below the amber "
                        "threshold (%(amber)s days)."
                    )
                    % {"red": red, "amber": amber},
                )
            )
    if errors:
        raise ReferenceDataInvalid(_sorted(errors))
    records = [_fields(values, {c.name: c.name for c in ITEM_SPEC.columns}) for _n, values in rows]
    return {"rows": len(rows), **_upsert(Item, records, user=user, now=now)}


def _load_staff_categories(path_or_file, *, user, now) -> dict:
    _header, rows, errors = _parse_file(path_or_file, STAFF_CATEGORY_SPEC)
    if errors:
        raise ReferenceDataInvalid(_sorted(errors))
    records = [
        _fields(values, {c.name: c.name for c in STAFF_CATEGORY_SPEC.columns})
        for _n, values in rows
    ]
    return {"rows": len(rows), **_upsert(StaffCategory, records, user=user, now=now)}


LOADERS = {
    "prefectures": _load_prefectures,
    "counties": _load_counties,
    "items": _load_items,
    "staff_categories": _load_staff_categories,
}


@transaction.atomic
def reference_load_csv(*, kind: str, path_or_file, user=None) -> dict:
    """Validate a reference CSV and upsert its rows by code, all or nothing.

    kind: "prefectures" (the province and its prefectures, one file), "counties", "items" or
    "staff_categories". path_or_file: a path, or an open file (text or bytes, UTF-8).
    Returns {"kind", "rows", "created", "updated", "unchanged"}. Raises ReferenceDataInvalid
    listing every problem (row and column) when any row is wrong; then nothing is saved.
    History rows (where the model keeps history) name `user` when given.
    """
    if kind not in LOADERS:
        raise ValueError(f"unknown reference kind {kind!r}; one of {', '.join(REFERENCE_KINDS)}")
    result = LOADERS[kind](path_or_file, user=user, now=timezone.now())
    return {"kind": kind, **result}


def reference_load_shipped(*, user=None, kinds=REFERENCE_KINDS) -> list[dict]:
    """Load the CSV files shipped in supplycoord/data/, in dependency order, all or nothing."""
    with transaction.atomic():
        return [
            reference_load_csv(kind=kind, path_or_file=SHIPPED_FILES[kind], user=user)
            for kind in REFERENCE_KINDS
            if kind in kinds
        ]


# --- accounts -------------------------------------------------------------------------------
# The user's history (django-simple-history, password excluded) is the audit trail: each change
# below adds a row naming who did it and why, in the same transaction as the change.

PASSWORD_CHANGED_REASON = "password changed; API token revoked"
PASSWORD_DISABLED_REASON = "password login disabled; API token revoked"
TOKEN_REVOKED_REASON = "API token revoked"


def user_password_change(*, user, new_password: str | None, actor) -> None:
    """Set `user`'s password (None: no password login at all) and revoke their API token.

    A password is changed when someone else may know it, and whoever knew it could have
    fetched the token with it: the old token stops working now. The user's next call to the
    token endpoint, with the new password, is given a new key. Other browser sessions of the
    user end too (Django ties a session to the password hash); the page that calls this keeps
    the caller's own session. The callers validate (old password, AUTH_PASSWORD_VALIDATORS).
    """
    with transaction.atomic():
        if new_password is None:
            user.set_unusable_password()
            user._change_reason = PASSWORD_DISABLED_REASON
        else:
            user.set_password(new_password)
            user._change_reason = PASSWORD_CHANGED_REASON
        user._history_user = actor
        user.save(update_fields=["password"])
        Token.objects.filter(user=user).delete()


def api_token_revoke(*, token, actor) -> None:
    """Delete an API token (a `Token` or the admin's `TokenProxy`); its user's history says who."""
    with transaction.atomic():
        user = token.user
        # By key: on the admin's TokenProxy, `pk` is the user's id.
        Token.objects.filter(key=token.key).delete()
        User.history.bulk_history_create(
            [user], update=True, default_user=actor, default_change_reason=TOKEN_REVOKED_REASON
        )
