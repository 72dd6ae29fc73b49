"""A shop's policies as its own data: the policy file, validated into a typed ``ShopPolicy``.

The file format is in docs/policies.md. Every key is optional: a key the shop has not set is
*unknown*, and nothing in ShopAssist may invent a value for it. So this module has no
defaults at all; readers ask :meth:`ShopPolicy.get` for a dotted key (``returns.window_days``)
and get ``None`` when the shop has not said.

Storage: one row of the ``policies`` table per top-level table of the file (``returns``,
``shipping`` ...), its value the validated table as JSON. An import replaces every row in one
transaction, so a database never holds half of one file and half of another. The demo shop
loads ``catalog/policies.toml`` through :func:`read_policy_file` and :func:`write_policy`, the
same two steps ``shopassist import-policies`` runs.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlite_utils
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shopassist.kb.db import set_meta

POLICY_SOURCE_META_KEY = "policy_source"

Money = Annotated[Decimal, Field(ge=0, decimal_places=2)]
Days = Annotated[int, Field(ge=0)]
Percent = Annotated[Decimal, Field(ge=0, le=100)]
# Order statuses as the orders table stores them (kb/migrations.py m002).
ORDER_STATUSES = ("pending", "paid", "shipped", "in_transit", "delivered", "cancelled", "returned")


class PolicyError(ValueError):
    """The policy file cannot be read or breaks the format; the message names key and reason."""


class _Strict(BaseModel):
    # A misspelt key ("window_day") must fail loudly, not leave the real key unknown.
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalText(_Strict):
    """A text a customer reads: a plain string, or ``{ en = "...", zh = "..." }``."""

    en: str = Field(min_length=1)
    zh: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"en": value}
        if isinstance(value, dict) and "en" not in value and value.get("zh"):
            return {"en": value["zh"], **value}  # only Chinese given: still a text
        return value

    def text(self, language: str) -> str:
        return self.zh if language == "zh" and self.zh else self.en

    def __str__(self) -> str:
        return self.en if not self.zh else f"{self.en} / {self.zh}"


class DayRange(_Strict):
    """Business days: ``3`` or ``"3-5"`` in the file."""

    min: int = Field(ge=0)
    max: int = Field(ge=0)

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number of days or a range like '3-5'")
        if isinstance(value, int):
            return {"min": value, "max": value}
        if isinstance(value, str):
            m = re.fullmatch(r"\s*(\d+)\s*(?:[-–]\s*(\d+)\s*)?", value)
            if m is None:
                raise ValueError(f"{value!r} is not a number of days or a range like '3-5'")
            low = int(m.group(1))
            return {"min": low, "max": int(m.group(2) or low)}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> DayRange:
        if self.min > self.max:
            raise ValueError(f"the range {self.min}-{self.max} runs backwards")
        return self

    def __str__(self) -> str:
        return str(self.min) if self.min == self.max else f"{self.min}–{self.max}"


# What a shipping method's ``regions`` may hold besides ISO country codes (docs/policies.md).
DOMESTIC = "DOMESTIC"  # the shop's home country: shop.country, else the first shipping.countries
INTL = "INTL"  # every country the shop ships to except the home one
_COUNTRY_CODE = r"^[A-Z]{2}$"


class ShopSection(_Strict):
    name: LocalText | None = None
    country: Annotated[str, Field(pattern=_COUNTRY_CODE)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    timezone: str | None = None
    website: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"{value!r} is not an IANA time zone name") from exc
        return value


class ReturnsSection(_Strict):
    window_days: Annotated[int, Field(gt=0)] | None = None
    refund_days: Days | None = None
    refund_bank_days: Days | None = None
    non_returnable: list[LocalText] | None = None
    return_shipping: LocalText | None = None
    return_shipping_fee: Money | None = None
    condition: LocalText | None = None
    # Reasons for which the return label is free (the demo's order generator reads them).
    free_return_reasons: list[str] | None = None
    rma_format: str | None = None

    @field_validator("rma_format")
    @classmethod
    def _rma_placeholders(cls, value: str | None) -> str | None:
        if value is not None and ("{order_number}" not in value or "{n}" not in value):
            raise ValueError("must contain {order_number} and {n}")
        return value


class ShippingMethod(_Strict):
    name: LocalText
    days: DayRange | None = None
    price: Money | None = None
    free_over: Money | None = None
    code: str | None = None
    # ISO country codes, DOMESTIC or INTL; no regions: the method serves every listed country.
    regions: list[str] | None = None

    @field_validator("regions")
    @classmethod
    def _region_codes(cls, value: list[str] | None) -> list[str] | None:
        for region in value or []:
            if region not in (DOMESTIC, INTL) and not re.fullmatch(_COUNTRY_CODE, region):
                raise ValueError(
                    f"{region!r} is not a two-letter ISO country code, {DOMESTIC!r} or {INTL!r}"
                )
        return value

    def serves(self, country: str, home: str | None) -> bool:
        """Whether this method delivers to ``country`` (an alpha-2 code of a country the shop
        ships to), ``home`` being the shop's home country (see :meth:`ShopPolicy.home_country`)."""
        if not self.regions:
            return True
        for region in self.regions:
            if region == DOMESTIC and country == home:
                return True
            if region == INTL and home is not None and country != home:
                return True
            if region == country:
                return True
        return False


class Carrier(_Strict):
    code: str
    name: LocalText | None = None
    tracking_url: str | None = None

    @field_validator("tracking_url")
    @classmethod
    def _has_number(cls, value: str | None) -> str | None:
        if value is not None and "{tracking_number}" not in value:
            raise ValueError("must contain {tracking_number}")
        return value


class ShippingSection(_Strict):
    countries: list[str] | None = None
    dispatch_days: Days | None = None
    methods: list[ShippingMethod] | None = None
    carriers: list[Carrier] | None = None


class PaymentsSection(_Strict):
    accepted: list[LocalText] | None = None
    not_accepted: list[LocalText] | None = None
    authorisation_release_days: Days | None = None
    retry_limit: Annotated[int, Field(gt=0)] | None = None
    # Hours an order waiting for payment (status pending) is held before it lapses.
    pending_hold_hours: Annotated[int, Field(gt=0)] | None = None


class CategoryWarranty(_Strict):
    categories: list[str] = Field(min_length=1)
    months: Annotated[int, Field(gt=0)]


class WarrantySection(_Strict):
    months: Annotated[int, Field(gt=0)] | None = None
    covers: LocalText | None = None
    by_category: list[CategoryWarranty] | None = None


class CancellationSection(_Strict):
    free_hours: Days | None = None
    fee_percent: Percent | None = None
    fee_max: Money | None = None
    free_statuses: list[str] | None = None

    @field_validator("free_statuses")
    @classmethod
    def _statuses(cls, value: list[str] | None) -> list[str] | None:
        for status in value or []:
            if status not in ORDER_STATUSES:
                raise ValueError(f"{status!r} is not an order status ({', '.join(ORDER_STATUSES)})")
        return value


class ContactSection(_Strict):
    hours: LocalText | None = None
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    phone: str | None = None
    email_reply_hours: Annotated[int, Field(gt=0)] | None = None
    complaint_reply_business_days: Annotated[int, Field(gt=0)] | None = None


class TierBenefits(_Strict):
    return_window_days: Annotated[int, Field(gt=0)] | None = None
    free_return_shipping: bool | None = None
    free_cancellation: bool | None = None
    free_standard_shipping: bool | None = None
    phone: str | None = None
    qualify_spend: Money | None = None


class InvoicesSection(_Strict):
    number_format: str | None = None
    where: LocalText | None = None
    format: str | None = None


class TaxSection(_Strict):
    rate_percent: Percent | None = None
    applies_to: list[str] | None = None
    shipping_taxed: bool | None = None


class Promotion(_Strict):
    code: Annotated[str, Field(min_length=1)]
    description: LocalText | None = None
    percent: Annotated[Decimal, Field(gt=0, le=100)] | None = None
    valid_until: date | None = None
    min_order: Money | None = None
    categories: list[str] | None = None
    first_order_only: bool | None = None


class AccountsSection(_Strict):
    deletion_days: Annotated[int, Field(gt=0)] | None = None
    password_reset_link_minutes: Annotated[int, Field(gt=0)] | None = None


class ShopPolicy(_Strict):
    """Everything a shop has said about how it works; ``None`` everywhere it has not."""

    shop: ShopSection | None = None
    returns: ReturnsSection | None = None
    shipping: ShippingSection | None = None
    payments: PaymentsSection | None = None
    warranty: WarrantySection | None = None
    cancellation: CancellationSection | None = None
    contact: ContactSection | None = None
    tiers: dict[str, TierBenefits] | None = None
    exchange_rates: dict[str, Annotated[Decimal, Field(gt=0)]] | None = None
    invoices: InvoicesSection | None = None
    tax: TaxSection | None = None
    promotions: list[Promotion] | None = None
    accounts: AccountsSection | None = None

    @field_validator("exchange_rates")
    @classmethod
    def _currency_codes(cls, value: dict[str, Decimal] | None) -> dict[str, Decimal] | None:
        for code in value or {}:
            if not re.fullmatch(r"[A-Z]{3}", code):
                raise ValueError(f"{code!r} is not a three-letter currency code")
        return value

    @model_validator(mode="after")
    def _regions_have_a_home(self) -> ShopPolicy:
        # DOMESTIC and INTL mean something only against a home country.
        methods = (self.shipping.methods if self.shipping else None) or []
        for n, method in enumerate(methods, 1):
            relative = {DOMESTIC, INTL} & set(method.regions or [])
            if relative and self.home_country() is None:
                raise ValueError(
                    f"shipping.methods[{n}].regions: {sorted(relative)[0]!r} needs the shop's "
                    "home country: set shop.country or shipping.countries"
                )
        return self

    def home_country(self) -> str | None:
        """The shop's home country as the file writes it: ``shop.country``, else the first
        of ``shipping.countries`` (a code or a name); None when neither is set."""
        if self.shop is not None and self.shop.country:
            return self.shop.country
        countries = (self.shipping.countries if self.shipping else None) or []
        return countries[0] if countries else None

    def get(self, key: str) -> Any:
        """The value at a dotted key (``returns.window_days``, ``tiers.vip.free_cancellation``),
        or ``None`` when the shop has not set it. The one way readers get a policy value.
        An empty list counts as not set: "we accept: (nothing)" is no answer."""
        _check_key(key)
        node: Any = self
        for part in key.split("."):
            if node is None:
                return None
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, BaseModel):
                if part not in type(node).model_fields:
                    raise KeyError(f"{key!r} is not a policy key (no {part!r})")
                node = getattr(node, part)
            else:
                raise KeyError(f"{key!r} is not a policy key ({part!r} under a value)")
        if isinstance(node, list | dict) and not node:
            return None
        return node

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in type(self).model_fields)


@cache
def _check_key(key: str) -> None:
    """A key the format does not define is a bug in the caller, even where the shop's
    policy has nothing under it (``returns.window`` must not quietly read as unknown)."""
    model: Any = ShopPolicy
    for part in key.split("."):
        if model is _ANY_NAME:  # a tier's name, or a currency code
            model = TierBenefits if key.startswith("tiers.") else None
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise KeyError(f"{key!r} is not a policy key ({part!r} under a value)")
        if part not in model.model_fields:
            raise KeyError(f"{key!r} is not a policy key (no {part!r})")
        annotation = model.model_fields[part].annotation
        if part in ("tiers", "exchange_rates") and model is ShopPolicy:
            model = _ANY_NAME
        else:
            model = _section_model(annotation)


_ANY_NAME = object()


# --- the keys a shop can set, for `shopassist policies` --------------------------------------


def _leaf_keys(model: type[BaseModel], prefix: str) -> Iterator[str]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        section = _section_model(annotation)
        if section is not None and section not in (LocalText, DayRange):
            yield from _leaf_keys(section, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


def _section_model(annotation: Any) -> type[BaseModel] | None:
    for arg in getattr(annotation, "__args__", ()) or (annotation,):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def policy_keys(policy: ShopPolicy | None = None) -> list[str]:
    """Every key the format defines, dotted; tiers are listed per tier the file names
    (``tiers`` alone when it names none)."""
    keys: list[str] = []
    for key in _leaf_keys(ShopPolicy, ""):
        keys.append(key)
    tiers = (policy.tiers if policy else None) or {}
    out = [k for k in keys if k != "tiers"]
    if not tiers:
        return [*out, "tiers"]
    for tier in tiers:
        out.extend(f"tiers.{tier}.{name}" for name in TierBenefits.model_fields)
    return out


def display_value(value: Any) -> Any:
    """A JSON-ready form of a policy value, for ``shopassist policies --json``."""
    if isinstance(value, BaseModel):
        return display_value(value.model_dump(exclude_none=True))
    if isinstance(value, list):
        return [display_value(v) for v in value]
    if isinstance(value, dict):
        return {k: display_value(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        # A JSON number, as the file wrote it: 6.95 and 30 stay readable in the table.
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def set_and_missing(policy: ShopPolicy) -> tuple[dict[str, Any], list[str]]:
    """What the shop has set (dotted key -> value) and which keys it has left unknown."""
    set_: dict[str, Any] = {}
    missing: list[str] = []
    for key in policy_keys(policy):
        value = policy.get(key)
        if value is None:
            missing.append(key)
        else:
            set_[key] = display_value(value)
    return set_, missing


# --- reading and validating --------------------------------------------------------------


def _where(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item + 1}]")  # people count list entries from 1
        elif item in ("function-after", "function-before") or "[" in str(item):
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(file)"


def _explain(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        reason = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reason = "is not a key of the policy format (see docs/policies.md)"
        elif "input" in err and err["type"] not in ("missing",):
            reason += f" (got {err['input']!r})"
        lines.append(f"{_where(tuple(err['loc']))}: {reason}")
    return "\n".join(lines)


def parse_policy(data: dict[str, Any], where: str = "policy file") -> ShopPolicy:
    try:
        return ShopPolicy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(f"{where}:\n{_explain(exc)}") from exc


def read_policy_file(path: Path) -> ShopPolicy:
    """Parse and validate a policy file; a :class:`PolicyError` names the key and reason."""
    try:
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise PolicyError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise PolicyError(f"{path}: is a directory, not a policy file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 text: {exc}") from exc
    return parse_policy(data, str(path))


# --- storing -----------------------------------------------------------------------------


def write_policy(db: sqlite_utils.Database, policy: ShopPolicy, source: str) -> int:
    """Replace the stored policy with ``policy``. Joins the caller's transaction: callers
    wrap it in ``with db.conn`` (import) or their own load (demo). Returns tables written."""
    db.execute("delete from policies")
    rows = [
        (name, json.dumps(display_value(value), ensure_ascii=False))
        for name in type(policy).model_fields
        if (value := getattr(policy, name)) is not None
    ]
    db.conn.executemany("insert into policies (key, value) values (?, ?)", rows)
    set_meta(db, POLICY_SOURCE_META_KEY, source)
    return len(rows)


def import_policies(db: sqlite_utils.Database, path: Path, *, dry_run: bool = False) -> ShopPolicy:
    """``shopassist import-policies``: validate the whole file, then replace the stored
    policy in one transaction (nothing is written on ``dry_run`` or on any error)."""
    policy = read_policy_file(path)
    if not dry_run:
        with db.conn:
            write_policy(db, policy, Path(path).name)
    return policy


def load_policy(db: sqlite_utils.Database) -> ShopPolicy:
    """The stored policy; an empty ``ShopPolicy`` (everything unknown) when none was loaded.

    Rows written before this format (an old demo database) are not valid tables of it; they
    are skipped rather than trusted, so their values read as unknown."""
    data: dict[str, Any] = {}
    for key, value in db.execute("select key, value from policies").fetchall():
        if key in ShopPolicy.model_fields:
            try:
                data[key] = json.loads(value)
            except ValueError:
                continue
    try:
        return ShopPolicy.model_validate(data)
    except ValidationError:
        valid = {}
        for key, value in data.items():
            try:
                ShopPolicy.model_validate({key: value})
            except ValidationError:
                continue
            valid[key] = value
        return ShopPolicy.model_validate(valid)


# --- money: the one place amounts from the policy are turned into cents ------------------


def _to_cents(amount: Decimal) -> int:
    # Half-up to the cent, as a shop's till rounds: 3.455 -> 3.46, never 3.45.
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def cents(amount: Decimal | None) -> int | None:
    """Money from the policy file (a decimal in the shop's currency) as integer cents."""
    return None if amount is None else _to_cents(Decimal(amount))


def percent_of_cents(total_cents: int, percent: Decimal, cap: Decimal | None = None) -> int:
    """``percent`` % of an amount in cents, rounded half-up to the cent, at most ``cap``
    (money from the policy). Every fee or share computed from a policy percentage uses
    this, so no two replies round the same amount differently: 5% of 69.12 is 3.46."""
    fee = _to_cents(Decimal(total_cents) * Decimal(percent) / Decimal(100) / Decimal(100))
    cap_cents = cents(cap)
    return fee if cap_cents is None else min(fee, cap_cents)
