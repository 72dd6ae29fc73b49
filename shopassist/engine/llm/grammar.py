"""A llama.cpp grammar (GBNF) per reply: numbers, codes and names only as the facts spell them.

A 135M model copies numbers from its few-shot examples, invents order numbers, and
dumps "Product title:" fact blocks. Constrained decoding removes those options before
sampling instead of rejecting them after: outside a literal, the grammar admits no
digit, no currency symbol, no ASCII colon, no markup and no line break. Every number,
price, date and code must be written as one of the literals: the plan's fact values and
the digit-bearing tokens of its template.

The verifier still checks everything: the grammar decides what can be written, not
whether it is true of the right subject.
"""

from __future__ import annotations

import re

from shopassist.engine.plan import ReplyPlan

# Outside a literal: anything but digits, currency and markup characters, the ASCII
# colon (fact-block labels) and line breaks. Capitalised words stay free: admitting them
# only as literals made the grammar ten times slower to sample on this CPU, and the
# verifier rejects a name the facts do not have anyway.
_FREE_CLASS = r"[^0-9$¥￥€£#@<>|:\n\r\t\[\]{}*`_\\]"
_SEP_CLASS = r"[^0-9A-Za-z$¥￥€£#@<>|:\n\r\t\[\]{}*`_\\]"
_FACT_TOKEN = re.compile(
    r"(?:US\$|[$¥￥€£])?\d[\d,.:/\-]*\d%?|(?:US\$|[$¥￥€£])\d+|\d+%?"
    r"|[A-Za-z0-9]*\d[A-Za-z0-9\-]*"
)
_NEEDS_LITERAL = re.compile(r"[0-9$¥￥€£#@<>|:\[\]{}*`_\\]")
MAX_LITERALS = 400


def _gbnf_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def reply_literals(plan: ReplyPlan) -> list[str]:
    """What the reply may write that free text cannot: the fact values and the
    template's tokens that hold a digit, a currency sign or a colon."""
    found: set[str] = set()
    for text in [f.value for f in plan.facts] + [plan.template_reply]:
        value = text.strip()
        if value and len(value) <= 80 and "\n" not in value and _NEEDS_LITERAL.search(value):
            found.add(value)
        for m in _FACT_TOKEN.finditer(text):
            token = m.group(0).strip()
            if token:
                found.add(token)
    usable = [t for t in found if t and not t.isspace()]
    # Longest first: a literal that is a prefix of a longer one must not shadow it.
    usable.sort(key=lambda t: (-len(t), t))
    return usable[:MAX_LITERALS]


def reply_grammar(plan: ReplyPlan) -> str:
    """The GBNF text for ``plan``'s reply."""
    literals = reply_literals(plan)
    if not literals:
        return f"root ::= free+\nfree ::= {_FREE_CLASS}\n"
    # A literal is followed by a separator (not a letter or digit), so two literals can
    # never run together into a new number ("10073" + "2136..." -> "100732136...").
    lines = [
        "root ::= piece* literal?",
        "piece ::= literal sep | free",
        f"free ::= {_FREE_CLASS}",
        f"sep ::= {_SEP_CLASS}",
        "literal ::= " + " | ".join(_gbnf_string(t) for t in literals),
    ]
    return "\n".join(lines) + "\n"
