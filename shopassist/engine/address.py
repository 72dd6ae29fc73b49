"""Addresses typed in chat, read into the fields the shop stores.

"The new address is 445 Maple Drive, Apt 4B, Springfield, IL 62704" becomes
``{line1: "445 Maple Drive", line2: "Apt 4B", city: "Springfield", region: "IL",
postal_code: "62704", country: "US"}``, and "上海市浦东新区世纪大道100号 邮编200120" becomes
``{region: "上海", city: "上海", line1: "浦东新区世纪大道100号", postal_code: "200120",
country: "CN"}``. US addresses are tagged by ``usaddress`` (a CRF trained on real US
addresses, far better than patterns at telling a street from a city); other English
addresses are split on commas around the postcode; Chinese ones follow the
province -> city -> district order, with the rules in ``address_rules.toml``.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import usaddress
from pydantic import BaseModel

RULES = Path(__file__).parent / "address_rules.toml"
FIELDS = ("line1", "line2", "city", "region", "postal_code", "country")
# What a parcel cannot be sent without; anything else may be missing.
REQUIRED = ("line1", "city", "postal_code")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_REGION_CODE = re.compile(r"[A-Z]{2,3}")  # "IL", "ON", "NSW" beside a postcode

# usaddress labels -> our fields (labels not listed are dropped, e.g. a "Recipient" lead-in).
_US_LINE1 = (
    "AddressNumberPrefix",
    "AddressNumber",
    "AddressNumberSuffix",
    "StreetNamePreModifier",
    "StreetNamePreDirectional",
    "StreetNamePreType",
    "StreetName",
    "StreetNamePostType",
    "StreetNamePostDirectional",
    "StreetNamePostModifier",
    "USPSBoxType",
    "USPSBoxID",
    "USPSBoxGroupType",
    "USPSBoxGroupID",
)
_US_LINE2 = (
    "BuildingName",
    "OccupancyType",
    "OccupancyIdentifier",
    "SubaddressType",
    "SubaddressIdentifier",
)


class ParsedAddress(BaseModel):
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""

    @property
    def missing(self) -> list[str]:
        """Required fields the customer has not given yet (line1, city, postal_code)."""
        return [f for f in REQUIRED if not getattr(self, f)]

    @property
    def complete(self) -> bool:
        return not self.missing

    def fields(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in FIELDS if getattr(self, f)}

    def merged_with(self, later: ParsedAddress) -> ParsedAddress:
        """A follow-up ("the postcode is 62704") fills what was missing; a full new address
        (one with its own street) replaces the old one."""
        if later.line1 and (later.city or later.postal_code):
            return later
        data = self.fields()
        if self.line1 and not self.city and later.line1 and not later.fields().keys() - {"line1"}:
            # "Springfield" when only the city was missing.
            return ParsedAddress(**{**data, "city": later.line1})
        data.update({k: v for k, v in later.fields().items() if k != "line1" or not self.line1})
        return ParsedAddress(**data)


@cache
def _rules() -> dict[str, Any]:
    with RULES.open("rb") as fh:
        rules = tomllib.load(fh)
    rules["_lead_ins"] = [re.compile(p, re.IGNORECASE) for p in rules["lead_ins"]]
    rules["_postcodes"] = {k: re.compile(v, re.IGNORECASE) for k, v in rules["postcodes"].items()}
    rules["_us_state_zip"] = re.compile(rules["us_state_zip"])
    return rules


def strip_lead_in(text: str) -> str:
    """Drop the words in front of the address ("The new address is", "请寄到")."""
    text = text.strip().strip("\"'“”")
    changed = True
    while changed:
        changed = False
        for pat in _rules()["_lead_ins"]:
            m = pat.match(text)
            if m and m.end() > 0 and m.end() < len(text):
                text = text[m.end() :].strip()
                changed = True
    return text.strip().rstrip("。.!！")


def _country(word: str) -> str | None:
    return _rules()["countries"].get(word.strip().strip(".").lower()) or _rules()["countries"].get(
        word.strip().lower()
    )


def parse_address(text: str) -> ParsedAddress:
    """Read an address in English or Chinese; fields the text does not give stay empty."""
    body = strip_lead_in(text)
    if _CJK.search(body) and len(_CJK.findall(body)) >= 2:
        return _parse_zh(body)
    return _parse_en(body)


# --- English --------------------------------------------------------------------------------


def _parse_en(body: str) -> ParsedAddress:
    parts = [p.strip() for p in re.split(r"[,\n;]", body) if p.strip()]
    country = ""
    if parts and _country(parts[-1]):
        country = _country(parts[-1]) or ""
        parts = parts[:-1]
    rules = _rules()
    rest = ", ".join(parts)
    if country in ("", "US") and rules["_us_state_zip"].search(rest) or country == "US":
        parsed = _parse_us(rest)
        if parsed is not None:
            parsed.country = country or "US"
            return parsed
    return _parse_by_commas(parts, country)


def _parse_us(text: str) -> ParsedAddress | None:
    try:
        tagged, _kind = usaddress.tag(text)
    except usaddress.RepeatedLabelError:
        return None
    line1 = " ".join(tagged[k] for k in _US_LINE1 if k in tagged)
    line2 = " ".join(tagged[k] for k in _US_LINE2 if k in tagged)
    return ParsedAddress(
        line1=line1.strip(" ,"),
        line2=line2.strip(" ,"),
        city=tagged.get("PlaceName", "").strip(" ,"),
        region=tagged.get("StateName", "").strip(" ,"),
        postal_code=tagged.get("ZipCode", "").strip(" ,"),
    )


def _parse_by_commas(parts: list[str], country: str) -> ParsedAddress:
    """Street first, then optional extra lines, then the town with its postcode."""
    if not parts:
        return ParsedAddress(country=country)
    postcodes = _rules()["_postcodes"]
    pattern = postcodes.get(country) or postcodes["any"]
    whole = pattern.fullmatch(parts[0]) if len(parts) == 1 else None
    if whole is not None:  # "62704" alone: the postcode asked for
        return ParsedAddress(postal_code=whole.group(0).upper(), country=country)
    postal, city, region = "", "", ""
    where = None
    for i in range(len(parts) - 1, 0, -1):
        m = pattern.search(parts[i])
        if m:
            postal = m.group(0).upper()
            remainder = (parts[i][: m.start()] + parts[i][m.end() :]).strip(" ,")
            where = i
            break
    tail = parts[1:] if where is None else parts[1:where]
    after = [] if where is None else parts[where + 1 :]
    if where is not None and remainder and not _REGION_CODE.fullmatch(remainder):
        city = remainder
        region = ", ".join(after)
    elif where is not None:
        # "..., London, NW1 6XE" or "..., Toronto, ON M5H 2N2": the town is the part
        # before the postcode (and its state or province code).
        city = tail.pop() if tail else ""
        region = ", ".join([remainder, *after] if remainder else after)
    elif tail:
        city = tail.pop()
    return ParsedAddress(
        line1=parts[0],
        line2=", ".join(tail),
        city=city,
        region=region,
        postal_code=postal,
        country=country,
    )


# --- Chinese --------------------------------------------------------------------------------


def _parse_zh(body: str) -> ParsedAddress:
    zh = _rules()["zh"]
    text = body
    postal = ""
    marker = "|".join(re.escape(m) for m in zh["postcode_markers"])
    m = re.search(rf"(?:{marker})\s*[:：]?\s*(\d{{6}})", text)
    if m is None:
        m = re.search(r"(?:^|[\s,，;；])(\d{6})(?=$|[\s,，;；。])", text)
    if m is not None:
        postal = m.group(1)
        text = (text[: m.start()] + " " + text[m.end() :]).strip()
    text = re.sub(rf"(?:{marker})\s*[:：]?", "", text)
    text = text.strip(" ,，;；。")
    country = ""
    for name, code in _rules()["countries"].items():
        if _CJK.search(name) and text.startswith(name):
            country, text = code, text[len(name) :].lstrip(" ,，")
            break
    region = city = ""
    for name in zh["municipalities"]:
        if text.startswith(name):
            region = city = name
            text = text[len(name) :]
            text = text[1:] if text.startswith("市") else text
            break
    if not region:
        for name in sorted(zh["provinces"], key=len, reverse=True):
            if text.startswith(name):
                region = name
                text = text[len(name) :]
                for suffix in sorted(zh["province_suffixes"], key=len, reverse=True):
                    if text.startswith(suffix):
                        region += suffix
                        text = text[len(suffix) :]
                        break
                break
        # A city name holds no district suffix: "朝阳区...市场" is a district, not a city.
        suffixes = "|".join(re.escape(s) for s in zh["city_suffixes"])
        inner = "".join(s for s in zh["district_suffixes"] if s not in zh["city_suffixes"])
        body = rf"(?:(?![{inner}])[\u4e00-\u9fff])"
        m = re.match(rf"({body}{{1,{zh['city_max_chars']}}}?(?:{suffixes}))", text)
        if m is not None:
            city = m.group(1)
            text = text[m.end() :]
    text = text.strip(" ,，")
    return ParsedAddress(
        line1=text,
        city=city,
        region=region,
        postal_code=postal,
        country=country or ("CN" if region or city else ""),
    )


# --- showing it back ------------------------------------------------------------------------


def format_address(address: ParsedAddress | dict[str, Any], language: str) -> str:
    """One line, in the order the customer's language writes addresses."""
    data = address.fields() if isinstance(address, ParsedAddress) else dict(address)
    if language == "zh" or _CJK.search(" ".join(str(v) for v in data.values())):
        region, city = data.get("region", ""), data.get("city", "")
        head = region + (city if city and city != region else "")
        text = head + str(data.get("line1", "")) + str(data.get("line2", ""))
        if data.get("postal_code"):
            text += f"，邮编 {data['postal_code']}"
        return text
    town = " ".join(str(data[k]) for k in ("region", "postal_code") if data.get(k))
    parts = [data.get("line1"), data.get("line2"), data.get("city"), town, data.get("country")]
    return ", ".join(str(p) for p in parts if p)
