"""Mutation benchmark for the verifier: ``python benchmarks/bench_verifier.py [--quick]``.

Built from REAL plans: the dev dialogue suite (``evals/dialogues``) is run without the
LLM and every turn's reply plan (facts + template reply) is recorded. From each plan's
template it makes:

- **faithful** rephrasings (the same facts, other words, clauses or order) that the
  verifier should accept;
- **lies**: ``swap`` (two subjects' values exchanged: the prices of two compared
  products, two shipping methods), ``perturb`` (a number nudged), ``negation`` (a
  statement turned into its opposite: "in stock" -> "out of stock", "is" -> "is not"),
  ``variant`` (another colour named), ``order`` (another order's number), ``unit``
  ("5 business days" -> "5 weeks", "$45.00" -> "45.00 元"), and ``field_swap`` (two
  numbers of one subject's different fields exchanged; outside relation binding, so only
  partly caught, and reported to show that limit), ``name`` (a word the catalog does not
  have put into a product name the template states: "Tide Nova ANC Earbuds").

It prints, per kind, the share of lies rejected and the share of faithful rephrasings
wrongly rejected. The baseline, measured in the same run, is the verifier with only its
value-presence rule (``unsupported_facts``): what it caught before claims were bound to
their subjects. ``--plans FILE`` reuses recorded plans (``--save-plans FILE`` writes them);
tests/test_mutation_verifier.py runs the same generator on a fixed sample.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LIE_KINDS = ("swap", "perturb", "negation", "variant", "order", "unit", "field_swap", "name")
MUST_CATCH = ("swap", "perturb", "negation", "name")
# Words put into a product name by the ``name`` lie; the first one the plan does not have.
INVENTED_NAME_WORDS = ("Nova", "Summit", "Vertex", "Zephyr")


# --- plans --------------------------------------------------------------------------------


def collect_plans(suite_dir: Path) -> list[dict[str, Any]]:
    """Run the suite template-only; record every turn's plan (JSON) and customer text."""
    from shopassist.config import Settings
    from shopassist.engine.dialogue_eval import (
        DialogueEvaluator,
        build_demo_database,
        load_suite,
    )
    from shopassist.engine.pipeline import TurnPipeline

    plans: list[dict[str, Any]] = []
    original = TurnPipeline._generate

    def recording(self: Any, plan: Any, customer_text: str, *args: Any) -> Any:
        plans.append({"plan": plan.model_dump(mode="json"), "customer": customer_text})
        return original(self, plan, customer_text, *args)

    TurnPipeline._generate = recording  # type: ignore[method-assign]
    try:
        suite = load_suite(suite_dir)
        with tempfile.TemporaryDirectory(prefix="bench-verifier-") as tmp:
            db = build_demo_database(Path(tmp) / "demo.db")
            with DialogueEvaluator(Settings(no_llm=True), db) as evaluator:
                evaluator.run(suite)
    finally:
        TurnPipeline._generate = original  # type: ignore[method-assign]
    return [p for p in plans if p["plan"]["facts"]]


# --- mutations ----------------------------------------------------------------------------

_MONEY = re.compile(r"(?:US\$|\$|¥|￥|€|£)\s?\d{1,3}(?:,\d{3})*(?:\.\d+)?")
_NUM = re.compile(r"(?<![\d.,A-Za-z\-])\d+(?:\.\d+)?(?![\d.,A-Za-z\-])")

# Faithful rewrites: (pattern, replacement), applied where they match. They change words
# and structure, never a value or the subject a value is said of.
_FAITHFUL_EN = [
    (r"^([A-Z])", lambda m: "Sure, " + m.group(1).lower()),
    (r"^([A-Z])", lambda m: "Thanks for asking: " + m.group(1).lower()),
    (r"\bOrder (\d+) is\b", r"Your order \1 is"),
    (r"\bIt's with\b", "It is travelling with"),
    (r"\bcosts\b", "is priced at"),
    (
        r"^([A-Z][^:.\n]{2,60}): (\$[\d.,]+), (\d+) in stock\. ([A-Z][^:.\n]{2,60}): (\$[\d.,]+), (\d+) in stock\.",
        r"The \1 costs \2 and there are \3 in stock, while the \4 costs \5 with \6 in stock.",
    ),
    (
        r"^([A-Z][^:.\n]{2,60}): (\$[\d.,]+), (\d+) in stock\. ([A-Z][^:.\n]{2,60}): (\$[\d.,]+), (\d+) in stock\.",
        r"\1 is \2 (\3 in stock). \4 is \5 (\6 in stock).",
    ),
    (
        r"^([A-Z][^:.\n]{2,60}): (\$[\d.,]+), (\d+) in stock\. ([A-Z][^:.\n]{2,60}): (\$[\d.,]+), (\d+) in stock\.",
        r"The \1 costs \2. It has \3 in stock. The \4 is \5, and it has \6 in stock.",
    ),
    (
        r"^([A-Z][^:.\n]{2,60}): (\$[\d.,]+), (\d+) in stock\. ([A-Z][^:.\n]{2,60}): (\$[\d.,]+), (\d+) in stock\.",
        r"At \2, the \1 has \3 in stock; the \4 is \5 with \6 in stock.",
    ),
    (r"\bwithin (\d+) business days\b", r"in at most \1 business days"),
    (r"\bShall I\b", "Would you like me to"),
    (r"\bThe cancellation fee would be\b", "Cancelling would cost"),
    (r"\bEstimated delivery: ", "It should arrive on "),
    (r"\bLatest update \(([\d-]+)\): ", r"The latest update, on \1, says: "),
    (r"\bI'm sorry\b", "I am sorry"),
    (r"\bcan't\b", "cannot"),
    (r"\bhasn't\b", "has not"),
]
_FAITHFUL_ZH = [
    (r"^", "好的，"),
    (r"^", "感谢您的耐心，"),
    (r"的状态：", "目前"),
    (r"预计送达日期：", "预计送达时间为"),
    (r"承运商为", "由"),
    (
        r"^(\S{2,40})：(\$[\d.,]+)，库存 (\d+) 件。(\S{2,40})：(\$[\d.,]+)，库存 (\d+) 件。",
        r"\1售价\2，库存\3件；\4售价\5，库存\6件。",
    ),
    (
        r"^(\S{2,40})：(\$[\d.,]+)，库存 (\d+) 件。(\S{2,40})：(\$[\d.,]+)，库存 (\d+) 件。",
        r"\1的价格是\2，还有\3件库存。\4的价格是\5，有\6件现货。",
    ),
    (r"确定要取消吗？", "需要我帮您取消吗？"),
    (r"取消费用为", "取消需支付"),
]

_NEGATE_EN = [
    (r"\bin stock\b", "out of stock"),
    (r"\bis in transit\b", "is not in transit"),
    (r"\bcan still be cancelled\b", "can no longer be cancelled"),
    (r"\bis open\b", "is not open"),
    (r"\bis cancelled\b", "is not cancelled"),
    (r"\bhas shipped\b", "has not shipped"),
    (r"\bwas delivered\b", "was not delivered"),
    (r"\bis (approved|refunded|delivered|shipped)\b", r"is not \1"),
    (r", which is (\w+)", r", which is not \1"),
    (r"\bIt's with\b", "It's not with"),
    (r"\byou can return it\b", "you cannot return it"),
    (r"\bcan be\b", "cannot be"),
    (r"\bis\b", "is not"),
    (r"\bare\b", "are not"),
]
_NEGATE_ZH = [
    (r"库存 (\d+) 件", "缺货"),
    (r"有货", "没有货"),
    (r"还可以取消", "已经不能取消"),
    (r"运输中", "未在运输中"),
    (r"已签收", "未签收"),
    (r"已发货", "未发货"),
    (r"已退款", "未退款"),
    (r"已为您取消", "未能为您取消"),
    (r"已为订单", "未能为订单"),
    (r"将在", "不会在"),
    (r"可以", "不可以"),
    (r"是", "不是"),
]
_UNIT_SWAPS_EN = [
    (r"(\d+) business days?", r"\1 weeks"),
    (r"(\d+) days?", r"\1 months"),
    (r"(\d+) hours?", r"\1 days"),
    (r"\$(\d[\d,]*(?:\.\d+)?)", r"\1 euros"),
]
_UNIT_SWAPS_ZH = [
    (r"(\d+) 个工作日", r"\1 周"),
    (r"(\d+) 天", r"\1 个月"),
    (r"\$(\d[\d,]*(?:\.\d+)?)", r"\1 元"),
]


def _plan(raw: dict[str, Any]) -> Any:
    from shopassist.engine.plan import ReplyPlan

    return ReplyPlan.model_validate(raw)


Rule = tuple[str, Any]  # pattern, replacement (a string or a function of the match)


def _apply_first(text: str, rules: list[Rule], rng: random.Random) -> str | None:
    options = [(p, r) for p, r in rules if re.search(p, text)]
    if not options:
        return None
    pattern, repl = rng.choice(options)
    return re.sub(pattern, repl, text, count=1)


def faithful(plan: Any, rng: random.Random) -> list[str]:
    rules = _FAITHFUL_ZH if plan.language == "zh" else _FAITHFUL_EN
    template = plan.template_reply
    out = []
    for pattern, repl in rules:
        if re.search(pattern, template):
            changed = re.sub(pattern, repl, template, count=1)
            if changed != template:
                out.append(changed)
    return out


def _subject_values(plan: Any) -> list[tuple[str, str, str]]:
    """(subject, field, value) for money facts of subjects of a kind with two or more."""
    from shopassist.engine.relations import build_subjects

    subjects, _ = build_subjects(plan.facts)
    kinds: dict[str, int] = defaultdict(int)
    for s in subjects.values():
        kinds[s.kind] += 1
    out = []
    for s in subjects.values():
        if kinds[s.kind] < 2:
            continue
        for f in s.facts:
            if _MONEY.fullmatch(f.value.strip()) or f.key.endswith((".stock", ".days")):
                out.append((s.id, f.key.rsplit(".", 1)[-1], f.value))
    return out


def swaps(plan: Any) -> list[str]:
    """Two subjects' values of the same field exchanged in the template."""
    values = _subject_values(plan)
    template = plan.template_reply
    out = []
    by_field: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for sid, fld, value in values:
        by_field[fld].append((sid, value))
    for items in by_field.values():
        for (sa, va), (sb, vb) in zip(items, items[1:], strict=False):
            if sa == sb or va == vb or template.count(va) != 1 or template.count(vb) != 1:
                continue
            swapped = template.replace(va, "\0A").replace(vb, va).replace("\0A", vb)
            out.append(swapped)
    return out


def perturb(plan: Any, rng: random.Random) -> list[str]:
    template = plan.template_reply
    out = []
    fact_numbers = {m.group(0) for f in plan.facts for m in _NUM.finditer(f.value)}
    taken = {m.group(0) for m in _NUM.finditer(template)} | fact_numbers
    for m in _NUM.finditer(template):
        raw = m.group(0)
        if raw not in fact_numbers:
            continue
        # A made-up number: one no fact and no other part of the reply gives (landing on
        # another field's value is a field swap, measured on its own).
        for step in rng.sample([1, 2, 3, 5, 7, 10, 11], 7):
            if "." in raw:
                whole, frac = raw.split(".")
                new = f"{int(whole) + step}.{frac}"
            else:
                new = str(int(raw) + step)
            if new not in taken:
                break
        out.append(template[: m.start()] + new + template[m.end() :])
        if len(out) >= 2:
            break
    return out


def field_swaps(plan: Any) -> list[str]:
    """Two numbers of different fields exchanged ("retry up to 3 times" / "5 business
    days" -> "5 times" / "3 business days"). Relation binding works per subject, so only
    the unit rule can see these; measured to show that limit."""
    template = plan.template_reply
    numeric = [
        f.value
        for f in plan.facts
        if re.fullmatch(r"\d+(?:\.\d+)?", f.value.strip()) and len(_NUM.findall(template)) >= 2
    ]
    out = []
    for a, b in zip(numeric, numeric[1:], strict=False):
        spots_a = [m for m in _NUM.finditer(template) if m.group(0) == a]
        spots_b = [m for m in _NUM.finditer(template) if m.group(0) == b]
        if a == b or len(spots_a) != 1 or len(spots_b) != 1:
            continue
        first, second = sorted([spots_a[0], spots_b[0]], key=lambda m: m.start())
        out.append(
            template[: first.start()]
            + second.group(0)
            + template[first.end() : second.start()]
            + first.group(0)
            + template[second.end() :]
        )
    return out


def negations(plan: Any, rng: random.Random) -> list[str]:
    rules = _NEGATE_ZH if plan.language == "zh" else _NEGATE_EN
    changed = _apply_first(plan.template_reply, rules[:-2], rng) or _apply_first(
        plan.template_reply, rules[-2:], rng
    )
    return [changed] if changed and changed != plan.template_reply else []


def wrong_variant(plan: Any) -> list[str]:
    from shopassist.engine.dialogue.lexicon import lexicon

    colours = lexicon().colour_names_zh
    names = list(colours.values()) if plan.language == "zh" else [c.title() for c in colours]
    out = []
    template = plan.template_reply
    for f in plan.facts:
        if not f.key.endswith(("variant.title", "variants", "colours", "variant.wanted")):
            continue
        for name in re.split(r",\s*|\s+and\s+|、|和", f.value):
            if name and re.search(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])", template):
                other = next(n for n in names if n.lower() not in template.lower())
                out.append(
                    re.sub(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])", other, template, count=1)
                )
                break
    return out


def wrong_order(plan: Any) -> list[str]:
    out = []
    for f in plan.facts:
        if f.key == "order.number" and f.value in plan.template_reply:
            other = str(int(f.value) + 7) if f.value.isdigit() else f.value + "7"
            out.append(plan.template_reply.replace(f.value, other))
    return out


def _product_titles(plan: Any) -> list[str]:
    """Multi-word product names the template states (a shortened or lengthened one is a
    claim the verifier checks word by word)."""
    return [
        f.value
        for f in plan.facts
        if f.key.startswith("product")
        and f.key.endswith("title")
        and len(f.value.split()) >= 2
        and f.value in plan.template_reply
    ]


def invented_names(plan: Any) -> list[str]:
    """A product name with a word the catalog does not have ("Tide Nova ANC Earbuds")."""
    known = (plan.template_reply + " " + " ".join(f.value for f in plan.facts)).lower()
    word = next((w for w in INVENTED_NAME_WORDS if w.lower() not in known), None)
    if word is None:
        return []
    out = []
    for title in _product_titles(plan):
        first, rest = title.split(" ", 1)
        out.append(plan.template_reply.replace(title, f"{first} {word} {rest}", 1))
    return out


def shortened_names(plan: Any) -> list[str]:
    """The template with a product name shortened by one inner word ("Tide Earbuds" for
    "Tide ANC Earbuds"): every word is the catalog's, so nothing is unsupported."""
    out = []
    for title in _product_titles(plan):
        words = title.split()
        if len(words) >= 3:
            short = " ".join([words[0], *words[2:]])
            out.append(plan.template_reply.replace(title, short, 1))
    return out


def unit_changes(plan: Any, rng: random.Random) -> list[str]:
    rules = _UNIT_SWAPS_ZH if plan.language == "zh" else _UNIT_SWAPS_EN
    changed = _apply_first(plan.template_reply, rules, rng)
    return [changed] if changed and changed != plan.template_reply else []


def mutations(plan: Any, seed: int = 0) -> dict[str, list[str]]:
    rng = random.Random(seed)
    return {
        "faithful": faithful(plan, rng),
        "swap": swaps(plan),
        "perturb": perturb(plan, rng),
        "field_swap": field_swaps(plan),
        "negation": negations(plan, rng),
        "variant": wrong_variant(plan),
        "order": wrong_order(plan),
        "unit": unit_changes(plan, rng),
        "name": invented_names(plan),
    }


# --- measuring ----------------------------------------------------------------------------


def rejected(text: str, plan: Any, *, baseline: bool = False) -> bool:
    """Did the verifier object to something in ``text`` that it did not object to in the
    template? (Some templates fail a rule of their own, e.g. a required status they do
    not spell out; a mutation is judged by what it adds.)"""
    from shopassist.engine.verify import RULE_UNSUPPORTED, verify_reply

    report = verify_reply(text, plan)
    before = verify_reply(plan.template_reply, plan)
    if baseline:
        now = [c["detail"] for c in report.checks if c["rule"] == RULE_UNSUPPORTED and not c["ok"]]
        was = [c["detail"] for c in before.checks if c["rule"] == RULE_UNSUPPORTED and not c["ok"]]
        return bool(set(now) - set(was))
    # A rule the template already fails counts again only for a new fact-level finding
    # (the language share or sentence count of a failing template merely shifts).
    value_rules = {"unsupported_facts", "relations", "units"}
    new = [
        r
        for r in report.reasons
        if r.split(":", 1)[0] not in before.failed_rules
        or (r.split(":", 1)[0] in value_rules and r not in before.reasons)
    ]
    return bool(new)


def measure(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per kind: cases, rejected by the verifier, rejected by the presence-only baseline."""
    table: dict[str, dict[str, Any]] = {}
    for i, rec in enumerate(records):
        plan = _plan(rec["plan"])
        for kind, texts in mutations(plan, seed=i).items():
            row = table.setdefault(kind, {"cases": 0, "rejected": 0, "baseline": 0, "missed": []})
            for text in texts:
                row["cases"] += 1
                if rejected(text, plan):
                    row["rejected"] += 1
                elif kind != "faithful" and len(row["missed"]) < 3:
                    row["missed"].append(text[:160])
                if kind == "faithful" and len(row["missed"]) < 3 and rejected(text, plan):
                    row["missed"].append(text[:160])
                row["baseline"] += rejected(text, plan, baseline=True)
    return table


def headline_case() -> bool:
    """The reported failure: two compared products with their prices swapped."""
    from shopassist.engine.plan import ReplyPlan
    from shopassist.engine.turn_result import Fact
    from shopassist.engine.verify import verify_reply

    plan = ReplyPlan(
        intent="product_compare",
        action="products.compared",
        language="en",
        facts=[
            Fact(key="product.7.title", value="Lumen Desk Lamp", source_id="product:7"),
            Fact(key="product.7.price", value="$45.00", source_id="product:7"),
            Fact(key="product.9.title", value="Ember Burr Grinder", source_id="product:9"),
            Fact(key="product.9.price", value="$89.99", source_id="product:9"),
        ],
        template_reply="Lumen Desk Lamp: $45.00, in stock. Ember Burr Grinder: $89.99, in stock.",
    )
    lie = "The Lumen Desk Lamp costs $89.99 and the Ember Burr Grinder costs $45.00."
    return not verify_reply(lie, plan).ok


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="only the first 40 plans")
    parser.add_argument("--suite", type=Path, default=ROOT / "evals" / "dialogues")
    parser.add_argument("--plans", type=Path, help="recorded plans (JSON) instead of a run")
    parser.add_argument("--save-plans", type=Path, help="write the recorded plans here")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    args = parser.parse_args(argv)
    records = json.loads(args.plans.read_text("utf-8")) if args.plans else collect_plans(args.suite)
    if args.save_plans:
        args.save_plans.write_text(json.dumps(records, ensure_ascii=False, indent=1), "utf-8")
    if args.quick:
        records = records[:40]
    table = measure(records)
    if args.json:
        print(json.dumps(table, ensure_ascii=False, indent=2))
    else:
        print(f"{len(records)} real plans from {args.plans or args.suite}")
        print(f"{'kind':<10}{'cases':>7}{'rejected':>10}{'share':>8}{'baseline':>10}{'ratio':>8}")
        for kind in ("faithful", *LIE_KINDS):
            row = table.get(kind, {"cases": 0, "rejected": 0, "baseline": 0})
            n = row["cases"]
            share = row["rejected"] / n if n else 0.0
            base = row["baseline"] / n if n else 0.0
            ratio = f"{share / base:.2f}x" if base else "-"
            label = "wrongly rejected" if kind == "faithful" else ""
            print(
                f"{kind:<10}{n:>7}{row['rejected']:>10}{share:>8.1%}{base:>10.1%}{ratio:>8} {label}"
            )
        for kind in ("faithful", *LIE_KINDS):
            for text in table.get(kind, {}).get("missed", []):
                what = "rejected" if kind == "faithful" else "accepted"
                print(f"  {kind} {what}: {text!r}")
        print(f"headline (Lumen/Ember prices swapped) rejected: {headline_case()}")
    missed = [k for k in MUST_CATCH if table.get(k) and table[k]["rejected"] < table[k]["cases"]]
    return 1 if missed or not headline_case() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
