"""Test doubles for the dialogue tests (no tests here): a small shop and a keyword NLU.

The keyword NLU makes flow tests independent of the trained classifier: each test says
exactly what was understood, so a failure points at the dialogue engine, not at NLU.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from shopassist.engine.nlu.result import Entity, IntentScore, NLUResult, Sentiment
from shopassist.kb.policies import import_policies

ROOT = Path(__file__).resolve().parent.parent

# (regex, intent): first match wins, so specific phrases come first.
INTENT_RULES: list[tuple[str, str]] = [
    (r"ignore previous|discount code", "promotions"),
    (r"human|real person|agent|人工", "contact_human_agent"),
    (r"customer service|contact you", "contact_customer_service"),
    (r"complain|投诉", "complaint"),
    (r"refund status|where is my refund|track (my )?refund|退款进度", "track_refund"),
    (r"return|refund|退货|退款", "get_refund"),
    (r"cancellation fee", "check_cancellation_fee"),
    (r"cancel|取消", "cancel_order"),
    (
        r"change (the )?(delivery |shipping )?address|ship it to|改地址|修改地址",
        "change_shipping_address",
    ),
    (r"default address|set up (an? )?address", "set_up_shipping_address"),
    (r"change (my )?order|change the size|change the quantity", "change_order"),
    (r"invoice|发票", "get_invoice"),
    (r"where is|track|status of|物流|到哪", "track_order"),
    (r"delivery options|shipping options|how long|配送", "delivery_options"),
    (r"payment methods|pay with", "check_payment_methods"),
    (r"payment (failed|declined|problem)", "payment_issue"),
    (r"delete (my )?account", "delete_account"),
    (r"password", "recover_password"),
    (r"promotion|coupon|sale|优惠", "promotions"),
    (r"compare|difference|比较", "product_compare"),
    (r"recommend|suggest|推荐", "recommendation"),
    (r"do you (have|sell)|looking for|search|找", "product_search"),
    (r"how much|price|in stock|come in|tell me more|多少钱|这个|那款|it\b", "product_info"),
    (r"^(hi|hello|hey)\b|你好", "greet"),
    (r"thank|谢谢", "thank"),
    (r"bye|再见", "goodbye"),
    (r"^(yes|yeah|yep|sure|ok|okay|是的|好的|确认)\b", "affirm"),
    (r"^(no|nope|不)\b", "deny"),
]

COLOURS = {"blue": "Blue", "red": "Red", "black": "Black", "蓝色": "Blue"}
SIZES = {"small": "S", "medium": "M", "large": "L"}
NEGATIVE = ("terrible", "awful", "ridiculous", "angry", "worst", "useless", "糟糕", "太差")


class KeywordNLU:
    """Understands the handful of phrasings the dialogue tests use."""

    def __init__(self, products: dict[str, int] | None = None) -> None:
        self.products = products or {}
        self.forced: list[tuple[str, float, list[str] | None]] = []

    def force(self, intent: str, confidence: float = 0.9, clarify: list[str] | None = None) -> None:
        """Make the next understand() return this intent (for low-confidence cases)."""
        self.forced.append((intent, confidence, clarify))

    def understand(self, text: str) -> NLUResult:
        low = text.lower()
        language = "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"
        intent, conf, clarify = "out_of_scope", 0.3, None
        if self.forced:
            intent, conf, clarify = self.forced.pop(0)
        else:
            for pattern, name in INTENT_RULES:
                if re.search(pattern, low):
                    intent, conf = name, 0.9
                    break
        entities: list[Entity] = []

        def add(etype: str, m: re.Match[str], value: Any, group: int = 0, **meta: Any) -> None:
            entities.append(
                Entity(
                    type=etype,
                    value=value,
                    text=m.group(group),
                    start=m.start(group),
                    end=m.end(group),
                    meta=meta,
                )
            )

        for m in re.finditer(r"[\w.+-]+@[\w-]+\.[\w.]+", text):
            add("email", m, m.group(0).lower())
        for m in re.finditer(r"(?<!\d)(\+?\d[\d -]{8,}\d)(?!\d)", text):
            add("phone", m, re.sub(r"\D", "", m.group(1)), 1)
        for m in re.finditer(
            r"(?:order|#|订单号?|purchase)\s*#?\s*(\d{4,6})(?!\d)", text, re.IGNORECASE
        ):
            add("order_number", m, m.group(1), 1)
        for word, value in COLOURS.items():
            for m in re.finditer(re.escape(word), low):
                add("colour", m, value)
        for word, value in SIZES.items():
            for m in re.finditer(rf"\b{word}\b", low):
                add("size", m, value)
        for m in re.finditer(r"\b(\d)\s*(?:pcs|pieces|of them)\b", low):
            add("quantity", m, int(m.group(1)), 1)
        for name, pid in self.products.items():
            i = low.find(name.lower())
            if i >= 0:
                entities.append(
                    Entity(
                        type="product",
                        value=name,
                        text=text[i : i + len(name)],
                        start=i,
                        end=i + len(name),
                        meta={"product_id": pid},
                    )
                )
        negative = any(w in low for w in NEGATIVE)
        sentiment = Sentiment(
            label="negative" if negative else "neutral",
            score=-0.8 if negative else 0.0,
            frustrated=negative and ("!" in text or text.isupper()),
        )
        return NLUResult(
            text=text,
            language=language,  # type: ignore[arg-type]
            intent=IntentScore(name=intent, confidence=conf),
            ranking=[IntentScore(name=intent, confidence=conf)],
            entities=entities,
            sentiment=sentiment,
            clarify=clarify,
        )


def days_ago(n: float) -> str:
    return (
        (datetime.now(UTC) - timedelta(days=n))
        .replace(microsecond=0)
        .isoformat()
        .replace("+00:00", "Z")
    )


def load_policies(db: sqlite_utils.Database) -> None:
    """The demo shop's policy file, through the same import a shop runs."""
    import_policies(db, ROOT / "catalog" / "policies.toml")


def build_shop(db: sqlite_utils.Database) -> dict[str, Any]:
    """Three products, three customers, one order per interesting status. Returns ids."""
    load_policies(db)
    with db.conn:
        db.execute(
            "insert into categories (id, path, name, name_zh) values (1, 'Clothing > Hoodies', 'Hoodies', '卫衣')"
        )
        db.execute(
            "insert into categories (id, path, name, name_zh) values (2, 'Audio', 'Audio', '音频')"
        )
        products = [
            (
                1,
                "trail-hoodie",
                "Trail Hoodie",
                "越野卫衣",
                1,
                {"Material": "Organic cotton", "Fit": "Regular"},
            ),
            (
                2,
                "aerobuds-pro",
                "AeroBuds Pro",
                "AeroBuds Pro 耳机",
                2,
                {"Battery": "30 h", "Noise cancelling": "Yes"},
            ),
            (
                3,
                "studio-headphones",
                "Studio Headphones",
                "录音室耳机",
                2,
                {"Battery": "40 h", "Noise cancelling": "No"},
            ),
        ]
        for pid, handle, title, title_zh, cat, specs in products:
            db.execute(
                "insert into products (id, handle, title, title_zh, description, category_id, specs, source) values (?, ?, ?, ?, ?, ?, ?, 'demo')",
                [pid, handle, title, title_zh, f"The {title}.", cat, json.dumps(specs)],
            )
        variants = [
            (11, 1, "TH-BLU-M", "Blue / M", "Blue", "M", 4900, 10),
            (12, 1, "TH-BLU-L", "Blue / L", "Blue", "L", 4900, 2),
            (13, 1, "TH-RED-M", "Red / M", "Red", "M", 4900, 0),
            (21, 2, "AB-PRO", "Default", None, None, 12900, 3),
            (31, 3, "SH-BLK", "Black", "Black", None, 19900, 25),
        ]
        for vid, pid, sku, title, colour, size, price, stock in variants:
            db.execute(
                "insert into variants (id, product_id, sku, title, colour, size, price_cents, stock) values (?, ?, ?, ?, ?, ?, ?, ?)",
                [vid, pid, sku, title, colour, size, price, stock],
            )
        customers = [
            (1, "Ann Lee", "ann@example.com", "+1 415 555 0132", "standard", "en"),
            (2, "Bo Chen", "bo@example.cn", "+86 138 0013 8000", "vip", "zh"),
            (3, "Cy Diaz", "cy@example.com", "+1 212 555 0199", "standard", "en"),
        ]
        for cid, name, email, phone, tier, lang in customers:
            db.execute(
                "insert into customers (id, name, email, phone, tier, language) values (?, ?, ?, ?, ?, ?)",
                [cid, name, email, phone, tier, lang],
            )
        orders = [
            # id, number, customer, status, total, placed days ago, invoice
            (1, "10021", 1, "pending", 4900, 0.1, None),
            (2, "10022", 1, "paid", 9800, 3, "INV-2026-10022"),
            (3, "10023", 1, "shipped", 12900, 4, "INV-2026-10023"),
            (4, "10024", 1, "delivered", 4900, 12, "INV-2026-10024"),
            (5, "10025", 2, "delivered", 19900, 15, "INV-2026-10025"),
            (6, "10026", 3, "paid", 4900, 2, "INV-2026-10026"),
            (7, "10027", 1, "delivered", 4900, 90, "INV-2026-10027"),
            (8, "10028", 2, "paid", 12900, 5, "INV-2026-10028"),
        ]
        for oid, number, cid, status, total, ago, inv in orders:
            db.execute(
                "insert into orders (id, number, customer_id, status, subtotal_cents, total_cents, placed_at, paid_at, invoice_number, shipping_address, source) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'demo')",
                [
                    oid,
                    number,
                    cid,
                    status,
                    total,
                    total,
                    days_ago(ago),
                    None if status == "pending" else days_ago(ago),
                    inv,
                    json.dumps({"name": "X", "line1": "1 Main St", "city": "Springfield"}),
                ],
            )
        items = [
            (1, 11, 1, 4900),
            (2, 11, 2, 4900),
            (3, 21, 1, 12900),
            (4, 11, 1, 4900),
            (5, 31, 2, 19900),
            (6, 13, 1, 4900),
            (7, 11, 1, 4900),
            (8, 11, 1, 4900),
        ]
        for oid, vid, qty, price in items:
            sku, title = db.execute(
                "select v.sku, p.title from variants v join products p on p.id = v.product_id where v.id = ?",
                [vid],
            ).fetchone()
            db.execute(
                "insert into order_items (order_id, variant_id, sku, title, quantity, unit_price_cents) values (?, ?, ?, ?, ?, ?)",
                [oid, vid, sku, title, qty, price],
            )
        db.execute(
            "insert into shipments (id, order_id, carrier, tracking_number, status, shipped_at, estimated_delivery) values (1, 3, 'UPS', '1Z999AA10123456784', 'in_transit', ?, '2026-12-03')",
            [days_ago(2)],
        )
        db.execute(
            "insert into tracking_events (shipment_id, at, status, location, description) values (1, ?, 'in_transit', 'Louisville, KY', 'Departed UPS facility')",
            [days_ago(1)],
        )
        for sid, oid, ago in ((2, 4, 5), (3, 5, 8), (4, 7, 80)):
            db.execute(
                "insert into shipments (id, order_id, carrier, tracking_number, status, shipped_at, delivered_at) values (?, ?, 'USPS', ?, 'delivered', ?, ?)",
                [sid, oid, f"9400{sid}", days_ago(ago + 3), days_ago(ago)],
            )
        for key, intent, q, a in (
            (
                "account-delete",
                "delete_account",
                "How do I delete my account?",
                "Account deletion is handled by our team within 30 days.",
            ),
            (
                "password",
                "recover_password",
                "I forgot my password",
                "Use 'Forgot password' on the sign-in page; the link is valid for 60 minutes.",
            ),
            (
                "payment-failed",
                "payment_issue",
                "My payment failed",
                "If a payment fails, the hold is released within 5 business days.",
            ),
        ):
            db.execute(
                "insert into faqs (key, kind, language, question, answer, intent) values (?, 'faq', 'en', ?, ?, ?)",
                [key, q, a, intent],
            )
    from shopassist.kb.search_index import rebuild_faq_index, rebuild_product_index

    rebuild_product_index(db)
    rebuild_faq_index(db)
    return {"products": {"trail hoodie": 1, "aerobuds pro": 2, "studio headphones": 3}}


def make_assistant(
    db: sqlite_utils.Database, llm: Any = None, nlu: KeywordNLU | None = None
) -> Any:
    """An Assistant over ``db`` with the keyword NLU (the shop must already be built)."""
    from shopassist.config import Settings
    from shopassist.engine.assistant import Assistant
    from shopassist.engine.pipeline import TurnPipeline

    settings = Settings()
    understander = nlu or KeywordNLU({"trail hoodie": 1, "aerobuds pro": 2, "studio headphones": 3})
    return Assistant(settings, db, TurnPipeline(db, settings, understander, backend=llm))


def order_status(db: sqlite_utils.Database, number: str) -> str:
    return str(db.execute("select status from orders where number = ?", [number]).fetchone()[0])


# --- a scripted NLU for the demo shop --------------------------------------------------------

DEMO_NOW = datetime(2026, 11, 29, 9, 0)  # the demo shop's data is written around this moment


class ScriptedNLU:
    """Returns, for each message, exactly the understanding a test scripted for it.

    Entities are given as (type, surface text, value); their spans are found in the
    message. Unscripted messages are out_of_scope with low confidence. Used where a test
    needs the real demo catalog but must not depend on the trained classifier.
    """

    def __init__(self) -> None:
        self.script: dict[str, tuple[str, float, list[tuple[str, str, Any]]]] = {}
        self.today: list[Any] = []

    def say(
        self, text: str, intent: str, confidence: float = 0.95, *entities: tuple[str, str, Any]
    ) -> ScriptedNLU:
        self.script[text] = (intent, confidence, list(entities))
        return self

    def intents(self) -> list[str]:
        return sorted({intent for intent, _, _ in self.script.values()} | {"out_of_scope"})

    def understand(self, text: str, today: Any = None) -> NLUResult:
        self.today.append(today)
        intent, conf, specs = self.script.get(text, ("out_of_scope", 0.3, []))
        entities = []
        for etype, surface, value in specs:
            i = text.find(surface)
            assert i >= 0, f"{surface!r} not in {text!r}"
            meta = {"product_id": value} if etype == "product" else {}
            entities.append(
                Entity(
                    type=etype,
                    value=surface if etype == "product" else value,
                    text=surface,
                    start=i,
                    end=i + len(surface),
                    meta=meta,
                )
            )
        language = "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"
        return NLUResult(
            text=text,
            language=language,  # type: ignore[arg-type]
            intent=IntentScore(name=intent, confidence=conf),
            ranking=[IntentScore(name=intent, confidence=conf)],
            entities=entities,
            sentiment=Sentiment(label="neutral", score=0.0),
        )


def demo_assistant(db: sqlite_utils.Database, nlu: ScriptedNLU, now: datetime = DEMO_NOW) -> Any:
    """An Assistant over the demo shop whose clock stands at ``now``."""
    from shopassist.config import Settings
    from shopassist.engine.assistant import Assistant
    from shopassist.engine.pipeline import TurnPipeline

    settings = Settings()
    return Assistant(settings, db, TurnPipeline(db, settings, nlu, now=now))
