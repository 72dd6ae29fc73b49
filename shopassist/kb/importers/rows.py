"""Validated row shapes shared by the catalog readers, and how their errors are reported.

Readers turn a raw CSV record into a dict of canonical field names, validate it with one
of these pydantic models, and map any error back to the column the user sees in the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, NamedTuple, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from shopassist.kb.importers.cleaning import (
    clean_line,
    formula_trigger,
    html_to_text,
    parse_count,
    parse_money,
    split_list,
)

M = TypeVar("M", bound=BaseModel)

MAX_LINE_CHARS = 500
MAX_DESCRIPTION_CHARS = 100_000
# Stock stored for items a shop sells without counting them ("in stock", no number).
UNTRACKED_STOCK = 100
COLOUR_NAMES = {"color", "colour", "颜色", "顏色", "色"}
SIZE_NAMES = {"size", "尺码", "尺寸", "大小", "码"}


class RowError(NamedTuple):
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column!r}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


def _too_long(value: str, limit: int) -> ValueError:
    return ValueError(f"is {len(value):,} characters long; the limit is {limit:,}")


def refuse_formula(text: str) -> str:
    """A cell a spreadsheet would run as a formula is an error naming its column (OWASP
    CSV injection): the shop's data should not carry one, and the rejected-rows file
    writes it back neutralised (``cleaning.neutralise_formula``)."""
    trigger = formula_trigger(text)
    if trigger is not None:
        raise ValueError(
            f"starts with {trigger!r}, which a spreadsheet runs as a formula "
            "(CSV injection); remove it or write the text without it"
        )
    return text


def _required_line(value: Any) -> str:
    text = refuse_formula("" if value is None else str(value))
    if len(text) > MAX_LINE_CHARS * 4:
        raise _too_long(text, MAX_LINE_CHARS)
    text = clean_line(text)
    if not text:
        raise ValueError("is missing")
    if len(text) > MAX_LINE_CHARS:
        raise _too_long(text, MAX_LINE_CHARS)
    return text


def _optional_line(value: Any) -> str | None:
    if not value:
        return None
    text = refuse_formula(str(value))
    if len(text) <= MAX_LINE_CHARS and text.isascii() and text.isprintable():
        # The common case, inlined: this runs for most cells of every row.
        text = text.strip()
        if "  " in text:
            text = " ".join(text.split())
        return text or None
    if len(text) > MAX_LINE_CHARS * 4:
        raise _too_long(text, MAX_LINE_CHARS)
    text = clean_line(text)
    if len(text) > MAX_LINE_CHARS:
        raise _too_long(text, MAX_LINE_CHARS)
    return text or None


def _description(value: Any) -> str:
    text = refuse_formula("" if value is None else str(value))
    if len(text) > MAX_DESCRIPTION_CHARS * 4:
        raise _too_long(text, MAX_DESCRIPTION_CHARS)
    text = html_to_text(text)
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise _too_long(text, MAX_DESCRIPTION_CHARS)
    return text


def _required_money(value: Any) -> int:
    if isinstance(value, int):
        return value
    cents = parse_money(str(value or ""))
    if cents is None:
        raise ValueError("is missing")
    return cents


def _optional_money(value: Any) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return parse_money(str(value))


def _stock(value: Any) -> int:
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"must not be negative (got {value})")
        return value
    count = parse_count(str(value or ""))
    return UNTRACKED_STOCK if count is None else count


def _tags(value: Any) -> list[str]:
    if isinstance(value, list):
        return [refuse_formula(str(v)) for v in value[:50]]
    return [refuse_formula(tag) for tag in split_list(str(value or ""))[:50]]


def _plain_mapping(value: Any) -> Any:
    """Specs and options (a column's name and its cell) may not be formulas either."""
    if isinstance(value, dict):
        for key, cell in value.items():
            try:
                refuse_formula(str(key))
                refuse_formula(str(cell))
            except ValueError as exc:
                raise ValueError(f"column {str(key)[:60]!r}: {exc}") from None
    return value


def _currency(value: Any) -> str:
    text = clean_line(str(value or "")).upper()
    if not text:
        return "USD"
    if len(text) != 3 or not text.isalpha():
        raise ValueError(f"{text[:20]!r} is not a three-letter currency code")
    return text


RequiredLine = Annotated[str, BeforeValidator(_required_line)]
OptionalLine = Annotated[str | None, BeforeValidator(_optional_line)]
Description = Annotated[str, BeforeValidator(_description)]
RequiredMoney = Annotated[int, BeforeValidator(_required_money)]
OptionalMoney = Annotated[int | None, BeforeValidator(_optional_money)]
Stock = Annotated[int, BeforeValidator(_stock)]
Tags = Annotated[list[str], BeforeValidator(_tags)]
Currency = Annotated[str, BeforeValidator(_currency)]


class ProductFields(BaseModel):
    """What a catalog row says about the product as a whole."""

    model_config = ConfigDict(frozen=True)

    title: RequiredLine
    description: Description = ""
    brand: OptionalLine = None
    product_type: OptionalLine = None
    category: OptionalLine = None
    tags: Tags = Field(default_factory=list)
    status: str = "active"
    specs: Annotated[dict[str, str], BeforeValidator(_plain_mapping)] = Field(default_factory=dict)


class VariantFields(BaseModel):
    """One sellable unit: its SKU, options, price and stock."""

    model_config = ConfigDict(frozen=True)

    sku: OptionalLine = None
    price: RequiredMoney
    compare_at: OptionalMoney = None
    stock: Stock = UNTRACKED_STOCK
    currency: Currency = "USD"
    colour: OptionalLine = None
    size: OptionalLine = None
    barcode: OptionalLine = None
    options: Annotated[dict[str, str], BeforeValidator(_plain_mapping)] = Field(
        default_factory=dict
    )


def validate_row(
    model: type[M], data: dict[str, Any], line: int, columns: dict[str, str]
) -> tuple[M | None, list[RowError]]:
    """Validate ``data``; errors name the file's column (``columns`` maps field -> header)."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else "row"
            reason = str(err["msg"]).removeprefix("Value error, ")
            errors.append(RowError(line, columns.get(name, name), reason))
        return None, errors


@dataclass
class VariantRecord:
    fields: VariantFields
    line: int
    cells: list[str]

    @property
    def title(self) -> str:
        return " / ".join(self.fields.options.values())

    def options_json(self) -> str:
        options = self.fields.options
        return _options_json(tuple(options.items())) if options else "{}"


@lru_cache(maxsize=4096)
def _options_json(items: tuple[tuple[str, str], ...]) -> str:
    # Most catalogs repeat a few colour/size combinations thousands of times.
    return json.dumps(dict(items), ensure_ascii=False)


@dataclass
class ProductGroup:
    """A product and the variants read for it.

    ``product`` is None when the rows only add variants to a product written earlier in
    the same import (a WooCommerce variation whose parent came first).
    """

    handle: str
    product: ProductFields | None
    line: int
    cells: list[str]
    variants: list[VariantRecord] = field(default_factory=list)
    # False for products sold through other rows (WooCommerce variable/grouped parents);
    # a group that expected variants but lost them all to errors is not written.
    expects_variants: bool = True


@dataclass
class Rejection:
    """A source row that will not be imported, with every reason found."""

    line: int
    cells: list[str]
    errors: list[RowError]


def split_options(options: dict[str, str]) -> tuple[str | None, str | None]:
    """Colour and size from option names in English or Chinese."""
    colour = size = None
    for name, value in options.items():
        key = name.strip().lower()
        if key in COLOUR_NAMES and colour is None:
            colour = value
        elif key in SIZE_NAMES and size is None:
            size = value
    return colour, size
