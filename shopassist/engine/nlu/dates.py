"""Relative and absolute date expressions in English and Chinese, resolved against a
reference day ("yesterday", "last Monday", "Nov 3", "3 days ago", "上周", "12月3日").

Values are ISO dates ("2026-11-03") or, for weeks and months, ``{"start", "end"}`` ranges,
so later stages can compare them with order and shipment dates directly.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from shopassist.text import MONTHS, ZH_DIGITS

_MONTHS = MONTHS
_WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
_EN_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "couple of": 2, "few": 3,
}  # fmt: skip
_ZH_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}

_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_FULL = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_DAY_ANY = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_NUM_WORD = "|".join(sorted(_EN_NUMBERS, key=len, reverse=True))
_ZH_NUM = r"[0-9零一二两三四五六七八九十]{1,3}"

_EN = re.compile(
    rf"""
    (?P<dby>\bday\s+before\s+yesterday\b)
    |(?P<dat>\bday\s+after\s+tomorrow\b)
    |(?P<simple>\b(?:today|tonight|yesterday|tomorrow)\b)
    |(?P<ago>\b(?P<ago_n>\d{{1,3}}|{_NUM_WORD})\s+(?P<ago_unit>day|week|month)s?\s+ago\b)
    |(?P<rel>\b(?P<rel_dir>last|this|next|past)\s+(?P<rel_unit>week|month|year|weekend)\b)
    |(?P<wd>\b(?:(?P<wd_dir>last|this|next|on|since)\s+)?(?P<wd_name>{_DAY_FULL}|(?<=last\s)(?:{_DAY_ANY})|(?<=next\s)(?:{_DAY_ANY})|(?<=on\s)(?:{_DAY_ANY}))\b)
    |(?P<iso>\b(?P<iso_y>\d{{4}})-(?P<iso_m>\d{{1,2}})-(?P<iso_d>\d{{1,2}})\b)
    |(?P<md>\b(?P<md_m>{_MONTH_NAMES})\.?\s+(?P<md_d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<md_y>\d{{4}})\b)?)
    |(?P<dm>\b(?P<dm_d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<dm_m>{_MONTH_NAMES})\b\.?(?:,?\s+(?P<dm_y>\d{{4}})\b)?)
    |(?P<slash>(?<![\d/])(?P<sl_m>\d{{1,2}})/(?P<sl_d>\d{{1,2}})(?:/(?P<sl_y>\d{{2}}|\d{{4}}))?(?![\d/]))
    """,
    re.IGNORECASE | re.VERBOSE,
)
_EN_NUMERIC = re.compile(
    r"""
    (?P<iso>\b(?P<iso_y>\d{4})-(?P<iso_m>\d{1,2})-(?P<iso_d>\d{1,2})\b)
    |(?P<slash>(?<![\d/])(?P<sl_m>\d{1,2})/(?P<sl_d>\d{1,2})(?:/(?P<sl_y>\d{2}|\d{4}))?(?![\d/]))
    """,
    re.VERBOSE,
)
_EN_GROUPS: dict[str, Any] = dict.fromkeys(_EN.groupindex)
# Words without which no English date expression can match (a cheap gate for the big regex).
_EN_TRIGGERS = frozenset(["today", "tonight", "yesterday", "tomorrow", "ago", "week", "weekend",
                          "month", "year", *_MONTHS, *_WEEKDAYS])  # fmt: skip
_WORDS = re.compile(r"[a-z]+")
_ZH_TRIGGER = re.compile(r"[天日周月年星礼号前]")
_ZH = re.compile(
    rf"""
    (?P<zsimple>大前天|前天|昨天|昨日|今天|今日|明天|后天)
    |(?P<zago>(?P<zago_n>{_ZH_NUM})\s*(?P<zago_unit>天|日|周|个星期|星期|个礼拜|个月)(?:前|以前|之前))
    |(?P<zwd>(?P<zwd_dir>上上|上|这|本|下)?个?(?:周|星期|礼拜)(?P<zwd_d>[一二三四五六日天]))
    |(?P<zrel>(?P<zrel_dir>上上|上|这|本|下)个?(?P<zrel_unit>周|星期|礼拜|月))
    |(?P<zyear>去年|今年|明年)(?![0-9零一二三四五六七八九十]{{1,2}}月)
    |(?P<zdate>(?:(?P<zd_y>\d{{4}})\s*年\s*)?(?P<zd_m>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])\s*月\s*(?P<zd_d>[0-9]{{1,2}}|[一二三]?十[一二三四五六七八九]?|[一二三四五六七八九])\s*[日号])
    """,
    re.VERBOSE,
)


def _zh_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if "十" in text:
        head, _, tail = text.partition("十")
        tens = ZH_DIGITS.get(head, 1) if head else 1
        return tens * 10 + (ZH_DIGITS.get(tail, 0) if tail else 0)
    return ZH_DIGITS.get(text, 0)


def _iso(day: dt.date) -> str:
    return day.isoformat()


def _range(start: dt.date, end: dt.date) -> dict[str, str]:
    return {"start": start.isoformat(), "end": end.isoformat()}


def _week(today: dt.date, offset: int) -> dict[str, str]:
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=offset)
    return _range(monday, monday + dt.timedelta(days=6))


def _month(today: dt.date, offset: int) -> dict[str, str]:
    index = today.year * 12 + today.month - 1 + offset
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return _range(dt.date(year, month, 1), dt.date(year, month, last))


def _minus_months(today: dt.date, months: int) -> dt.date:
    index = today.year * 12 + today.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def _nearest_year(today: dt.date, month: int, day: int) -> dt.date | None:
    """A month-day without a year: the occurrence nearest to today."""
    options = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            options.append(dt.date(year, month, day))
        except ValueError:
            continue
    if not options:
        return None
    return min(options, key=lambda d: (abs((d - today).days), d > today))


def _safe_date(year: int | None, month: int, day: int, today: dt.date) -> dt.date | None:
    if year is None:
        return _nearest_year(today, month, day)
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _weekday(today: dt.date, target: int, direction: str) -> dt.date:
    if direction == "last":
        back = (today.weekday() - target) % 7 or 7
        return today - dt.timedelta(days=back)
    if direction == "next":
        ahead = (target - today.weekday()) % 7 or 7
        return today + dt.timedelta(days=ahead)
    if direction == "this":
        return today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=target)
    # Bare "Monday" / "on Monday" in after-sales talk is nearly always the past one.
    back = (today.weekday() - target) % 7
    return today - dt.timedelta(days=back)


def _resolve_en(m: re.Match[str], today: dt.date) -> tuple[Any, str] | None:
    g: dict[str, Any] = {**_EN_GROUPS, **m.groupdict()}
    if g["dby"]:
        return _iso(today - dt.timedelta(days=2)), "day"
    if g["dat"]:
        return _iso(today + dt.timedelta(days=2)), "day"
    if g["simple"]:
        word = g["simple"].lower()
        delta = {"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1}[word]
        return _iso(today + dt.timedelta(days=delta)), "day"
    if g["ago"]:
        raw = g["ago_n"].lower()
        n = int(raw) if raw.isdigit() else _EN_NUMBERS.get(raw, 1)
        unit = g["ago_unit"].lower()
        if unit == "day":
            return _iso(today - dt.timedelta(days=n)), "day"
        if unit == "week":
            return _iso(today - dt.timedelta(weeks=n)), "day"
        return _iso(_minus_months(today, n)), "day"
    if g["rel"]:
        direction, unit = g["rel_dir"].lower(), g["rel_unit"].lower()
        offset = {"last": -1, "past": -1, "this": 0, "next": 1}[direction]
        if unit == "week":
            return _week(today, offset), "week"
        if unit == "weekend":
            week = _week(today, offset)
            sunday = dt.date.fromisoformat(week["end"])
            return _range(sunday - dt.timedelta(days=1), sunday), "weekend"
        if unit == "month":
            return _month(today, offset), "month"
        year = today.year + offset
        return _range(dt.date(year, 1, 1), dt.date(year, 12, 31)), "year"
    if g["wd"]:
        direction = (g["wd_dir"] or "").lower()
        target = _WEEKDAYS[g["wd_name"].lower()]
        return _iso(_weekday(today, target, direction)), "day"
    if g["iso"]:
        day = _safe_date(int(g["iso_y"]), int(g["iso_m"]), int(g["iso_d"]), today)
        return (_iso(day), "day") if day else None
    if g["md"]:
        md_year = int(g["md_y"]) if g["md_y"] else None
        day = _safe_date(md_year, _MONTHS[g["md_m"].lower()], int(g["md_d"]), today)
        return (_iso(day), "day") if day else None
    if g["dm"]:
        dm_year = int(g["dm_y"]) if g["dm_y"] else None
        day = _safe_date(dm_year, _MONTHS[g["dm_m"].lower()], int(g["dm_d"]), today)
        return (_iso(day), "day") if day else None
    if g["slash"]:
        sl_year: int | None = None
        if g["sl_y"]:
            sl_year = int(g["sl_y"])
            sl_year = sl_year + 2000 if sl_year < 100 else sl_year
        month, dayn = int(g["sl_m"]), int(g["sl_d"])
        if month > 12:  # 23/11: day first
            month, dayn = dayn, month
        if not (1 <= month <= 12):
            return None
        day = _safe_date(sl_year, month, dayn, today)
        return (_iso(day), "day") if day else None
    return None


def _resolve_zh(m: re.Match[str], today: dt.date) -> tuple[Any, str] | None:
    g = m.groupdict()
    if g["zsimple"]:
        delta = {"大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "今天": 0, "今日": 0,
                 "明天": 1, "后天": 2}[g["zsimple"]]  # fmt: skip
        return _iso(today + dt.timedelta(days=delta)), "day"
    if g["zago"]:
        n = _zh_number(g["zago_n"])
        unit = g["zago_unit"]
        if unit in ("天", "日"):
            return _iso(today - dt.timedelta(days=n)), "day"
        if unit == "个月":
            return _iso(_minus_months(today, n)), "day"
        return _iso(today - dt.timedelta(weeks=n)), "day"
    if g["zwd"]:
        offset = {"上上": -2, "上": -1, "这": 0, "本": 0, "下": 1, None: 0}[g["zwd_dir"]]
        monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=offset)
        return _iso(monday + dt.timedelta(days=_ZH_WEEKDAY[g["zwd_d"]])), "day"
    if g["zrel"]:
        offset = {"上上": -2, "上": -1, "这": 0, "本": 0, "下": 1}[g["zrel_dir"]]
        if g["zrel_unit"] == "月":
            return _month(today, offset), "month"
        return _week(today, offset), "week"
    if g["zyear"]:
        year = today.year + {"去年": -1, "今年": 0, "明年": 1}[g["zyear"]]
        return _range(dt.date(year, 1, 1), dt.date(year, 12, 31)), "year"
    if g["zdate"]:
        zd_year = int(g["zd_y"]) if g["zd_y"] else None
        day = _safe_date(zd_year, _zh_number(g["zd_m"]), _zh_number(g["zd_d"]), today)
        return (_iso(day), "day") if day else None
    return None


def find_dates(
    text: str, today: dt.date, words: set[str] | None = None
) -> Iterator[tuple[int, int, Any, str]]:
    """(start, end, value, granularity) for every date expression in ``text``.

    ``words`` (the message's lower-case Latin words) may be passed in when the caller
    already has them.
    """
    if words is None:
        words = set(_WORDS.findall(text.lower()))
    if not words.isdisjoint(_EN_TRIGGERS):
        english: re.Pattern[str] | None = _EN
    elif "/" in text or "-" in text:
        english = _EN_NUMERIC
    else:
        english = None
    if english is not None:
        for m in english.finditer(text):
            resolved = _resolve_en(m, today)
            if resolved is not None:
                yield m.start(), m.end(), resolved[0], resolved[1]
    if _ZH_TRIGGER.search(text):
        for m in _ZH.finditer(text):
            resolved = _resolve_zh(m, today)
            if resolved is not None:
                yield m.start(), m.end(), resolved[0], resolved[1]
