"""Generate catalog/orders.jsonl and catalog/orders_overview.md for the demo shop.

Deterministic (fixed seed, fixed "now"), so re-running it rewrites identical files; the
generated files are committed and this script only needs to run when products, customers or
policies change. Prices come from the catalog and fees from policies.toml, so totals,
cancellation fees and refunds agree with what the dialogue flows compute.

    python scripts/make_demo_orders.py
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from shopassist.kb.demo import catalog_dir, read_customers, read_policies, read_products
from shopassist.kb.policies import cents

SEED = 20261129
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
FIRST_NUMBER = 10001
WAREHOUSE = "Columbus, OH"

# How many orders of each status, and how many days before NOW they were placed.
PLAN: dict[str, tuple[int, float, float]] = {
    "pending": (12, 0.05, 1.9),
    "paid": (14, 0.1, 1.6),
    "shipped": (14, 2.5, 4.5),
    "in_transit": (16, 3.0, 8.0),
    "delivered": (36, 5.0, 200.0),
    "cancelled": (14, 2.0, 150.0),
    "returned": (14, 20.0, 160.0),
}

US_HUBS = [
    "Indianapolis, IN",
    "Louisville, KY",
    "Memphis, TN",
    "Chicago, IL",
    "Kansas City, MO",
    "Dallas, TX",
    "Denver, CO",
    "Ontario, CA",
    "Newark, NJ",
    "Atlanta, GA",
]
INTL_ROUTE = ["Cincinnati, OH", "Anchorage, AK", "Hong Kong, HK"]
RETURN_REASONS = ["changed_mind", "too_small", "too_large", "damaged", "defective", "wrong_item"]


def iso(at: datetime) -> str:
    return at.astimezone(UTC).replace(second=0, microsecond=0).isoformat().replace("+00:00", "Z")


def add_business_days(start: datetime, days: int) -> datetime:
    at = start
    while days > 0:
        at += timedelta(days=1)
        if at.weekday() < 5:
            days -= 1
    return at


def next_business_morning(at: datetime, rnd: random.Random) -> datetime:
    """When the warehouse hands a paid order to the carrier (1 business day later)."""
    ship = add_business_days(at.replace(hour=0, minute=0, second=0), 1)
    return ship.replace(hour=rnd.randint(13, 18), minute=rnd.randint(0, 59))


def tracking_number(carrier: str, rnd: random.Random) -> str:
    digits = lambda n: "".join(rnd.choice("0123456789") for _ in range(n))  # noqa: E731
    if carrier == "UPS":
        return (
            "1Z"
            + "".join(rnd.choice("0123456789ABCDEFGHJKLMNPRSTVWXY") for _ in range(6))
            + digits(10)
        )
    if carrier == "FedEx":
        return digits(12)
    if carrier == "USPS":
        return "9400" + digits(18)
    if carrier == "DHL":
        return digits(10)
    return "SF" + digits(13)


class OrderMaker:
    def __init__(self) -> None:
        root = catalog_dir()
        self.rnd = random.Random(SEED)
        self.policy = read_policies(root)
        self.customers = read_customers(root)
        self.methods = {
            m.code: {
                "code": m.code,
                "price_cents": cents(m.price),
                "free_over_cents": cents(m.free_over),
                "days_min": m.days.min,
                "days_max": m.days.max,
            }
            for m in self.policy.get("shipping.methods")
        }
        self.variants_by_top: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
        for prod in read_products(root):
            top = prod["category"].split(" > ")[0]
            for var in prod["variants"]:
                self.variants_by_top.setdefault(top, []).append((prod, var))
        tops = sorted(self.variants_by_top)
        # Each customer leans to two departments, so purchase history means something.
        self.favourites = {c["id"]: self.rnd.sample(tops, 2) for c in self.customers}

    # --- pieces -----------------------------------------------------------------------------

    def pick_items(self, customer_id: int, status: str) -> list[dict[str, Any]]:
        items: dict[str, dict[str, Any]] = {}
        for _ in range(self.rnd.choices([1, 2, 3], weights=[55, 33, 12])[0]):
            top = (
                self.rnd.choice(self.favourites[customer_id])
                if self.rnd.random() < 0.8
                else self.rnd.choice(sorted(self.variants_by_top))
            )
            if status == "returned" and top == "Beauty":
                top = "Clothing"  # opened beauty products cannot be returned
            prod, var = self.rnd.choice(self.variants_by_top[top])
            qty = (
                1
                if var["price_cents"] > 4000
                else self.rnd.choices([1, 2, 3], weights=[70, 22, 8])[0]
            )
            title = (
                prod["title"] if var["title"] == "Default" else f"{prod['title']} - {var['title']}"
            )
            items[var["sku"]] = {
                "sku": var["sku"],
                "title": title,
                "quantity": qty,
                "unit_price_cents": var["price_cents"],
            }
        return list(items.values())

    def shipping_method(self, country: str) -> str:
        if country != "US":
            return "international"
        return self.rnd.choices(["standard", "express", "overnight"], weights=[65, 25, 10])[0]

    def carrier(self, method: str) -> str:
        choices = {
            "standard": ["USPS", "UPS", "FedEx"],
            "express": ["UPS", "FedEx"],
            "overnight": ["FedEx", "UPS"],
            "international": ["DHL", "SF Express"],
        }[method]
        return self.rnd.choice(choices)

    def totals(
        self, items: list[dict[str, Any]], method: str, customer: dict[str, Any], discount_pct: int
    ) -> dict[str, int]:
        subtotal = sum(i["unit_price_cents"] * i["quantity"] for i in items)
        m = self.methods[method]
        free_over = m["free_over_cents"]
        vip_free = (
            customer["tier"] == "vip"
            and method == "standard"
            and self.policy.get("tiers.vip.free_standard_shipping")
        )
        shipping = (
            0 if vip_free or (free_over is not None and subtotal >= free_over) else m["price_cents"]
        )
        discount = subtotal * discount_pct // 100
        tax_rate = int(self.policy.get("tax.rate_percent"))
        country = "US" if method != "international" else "INTL"
        tax = (
            (subtotal - discount) * tax_rate // 100
            if country in self.policy.get("tax.applies_to")
            else 0
        )
        return {
            "subtotal_cents": subtotal,
            "shipping_cents": shipping,
            "tax_cents": tax,
            "discount_cents": discount,
            "total_cents": subtotal + shipping + tax - discount,
        }

    def events(
        self,
        carrier: str,
        method: str,
        address: dict[str, Any],
        shipped: datetime,
        upto: str,
        delivered: datetime | None,
    ) -> tuple[list[dict[str, Any]], datetime]:
        """Tracking events from label to ``upto`` ('picked_up', 'in_transit', 'out_for_delivery', 'delivered')."""
        rnd = self.rnd
        dest = (
            f"{address['city']}, {address['region']}"
            if address["country"] == "US"
            else address["city"]
        )
        label_at = shipped - timedelta(hours=rnd.randint(2, 5), minutes=rnd.randint(0, 59))
        evs = [
            {
                "at": iso(label_at),
                "status": "label_created",
                "location": WAREHOUSE,
                "description": "Shipping label created; the carrier has not collected the parcel yet",
            },
            {
                "at": iso(shipped),
                "status": "picked_up",
                "location": WAREHOUSE,
                "description": f"Picked up by {carrier}",
            },
        ]
        if upto == "picked_up":
            return evs, shipped
        end = delivered or (NOW - timedelta(hours=rnd.randint(1, 20)))
        span = max((end - shipped).total_seconds(), 3600 * 6)
        if method == "international":
            route = [
                (INTL_ROUTE[0], "in_transit", "Departed export facility"),
                (INTL_ROUTE[2], "in_transit", "Arrived at transit hub"),
                (address["city"], "in_transit", "Cleared customs"),
            ]
        else:
            hub = rnd.choice(US_HUBS)
            route = [
                (hub, "in_transit", "Arrived at sorting facility"),
                (hub, "in_transit", "Departed sorting facility"),
            ]
            if method == "overnight":
                route = route[:1]
        if upto == "in_transit":
            route = route[: rnd.randint(1, len(route))]
        elif len(route) > 2:
            route = [route[0], route[-1]]  # keep a delivered parcel's story within 6 events
        steps = (
            len(route)
            + (1 if upto in ("out_for_delivery", "delivered") else 0)
            + (1 if upto == "delivered" else 0)
        )
        for n, (loc, status, text) in enumerate(route, 1):
            evs.append(
                {
                    "at": iso(shipped + timedelta(seconds=span * n / (steps + 1))),
                    "status": status,
                    "location": loc,
                    "description": text,
                }
            )
        if upto in ("out_for_delivery", "delivered"):
            ofd = (
                delivered.replace(hour=8, minute=rnd.randint(0, 59))
                if delivered
                else NOW - timedelta(minutes=rnd.randint(30, 110))
            )
            evs.append(
                {
                    "at": iso(ofd),
                    "status": "out_for_delivery",
                    "location": dest,
                    "description": "Out for delivery",
                }
            )
        if upto == "delivered" and delivered is not None:
            where = rnd.choice(
                [
                    "Delivered, left at front door",
                    "Delivered to reception",
                    "Delivered, handed to resident",
                    "Delivered to parcel locker",
                ]
            )
            evs.append(
                {
                    "at": iso(delivered),
                    "status": "delivered",
                    "location": dest,
                    "description": where,
                }
            )
        return evs, end

    # --- one order ----------------------------------------------------------------------------

    def make(
        self, status: str, customer: dict[str, Any], placed: datetime, first_order: bool
    ) -> dict[str, Any]:
        rnd = self.rnd
        address = customer["address"]
        method = self.shipping_method(address["country"])
        items = self.pick_items(customer["id"], status)
        discount_pct = 10 if first_order and rnd.random() < 0.4 else 0
        order: dict[str, Any] = {
            "number": None,
            "customer_id": customer["id"],
            "status": status,
            "currency": "USD",
            **self.totals(items, method, customer, discount_pct),
            "shipping_method": method,
            "shipping_address": address,
            "placed_at": iso(placed),
            "paid_at": None,
            "invoice_number": None,
            "cancelled_at": None,
            "cancellation_fee_cents": None,
            "items": items,
            "shipments": [],
            "returns": [],
        }
        paid = placed + timedelta(minutes=rnd.randint(1, 12))
        was_paid = status != "pending" and not (status == "cancelled" and rnd.random() < 0.35)
        if was_paid:
            order["paid_at"] = iso(paid)
        fin, ful = ("paid", "unfulfilled") if was_paid else ("pending", "unfulfilled")
        updated = paid if was_paid else placed

        if status == "cancelled":
            fin, updated = self._cancel(order, customer, placed, was_paid)
        elif status in ("shipped", "in_transit", "delivered", "returned"):
            ful = "fulfilled"
            shipped = min(
                next_business_morning(paid, rnd), NOW - timedelta(hours=rnd.randint(20, 30))
            )
            m = self.methods[method]
            eta = add_business_days(shipped, m["days_max"])
            carrier = self.carrier(method)
            ship: dict[str, Any] = {
                "carrier": carrier,
                "tracking_number": tracking_number(carrier, rnd),
                "shipped_at": iso(shipped),
                "estimated_delivery": eta.date().isoformat(),
                "delivered_at": None,
            }
            if status == "shipped":
                ship["status"] = "picked_up"
                ship["events"], updated = self.events(
                    carrier, method, address, shipped, "picked_up", None
                )
                if eta.date() <= NOW.date():
                    # No scan since pick-up over the weekend: the carrier's estimate moves on.
                    ship["estimated_delivery"] = add_business_days(NOW, 1).date().isoformat()
            elif status == "in_transit":
                upto = (
                    "out_for_delivery"
                    if eta.date() <= NOW.date() and rnd.random() < 0.5
                    else "in_transit"
                )
                ship["status"] = upto
                ship["events"], updated = self.events(carrier, method, address, shipped, upto, None)
                if upto == "out_for_delivery":
                    # Carriers move the estimate to the day the van goes out.
                    ship["estimated_delivery"] = NOW.date().isoformat()
                elif eta.date() < NOW.date():
                    ship["status"] = "exception"
                    ship["estimated_delivery"] = add_business_days(NOW, 2).date().isoformat()
                    ship["events"].append(
                        {
                            "at": iso(NOW - timedelta(hours=6)),
                            "status": "exception",
                            "location": ship["events"][-1]["location"],
                            "description": "Delayed by severe weather; new delivery date set",
                        }
                    )
            else:
                days = rnd.randint(m["days_min"], m["days_max"])
                delivered = add_business_days(shipped, days).replace(
                    hour=rnd.randint(10, 19), minute=rnd.randint(0, 59)
                )
                delivered = max(
                    min(delivered, NOW - timedelta(hours=rnd.randint(3, 20))),
                    shipped + timedelta(hours=18),
                )
                ship["status"] = "delivered"
                ship["delivered_at"] = iso(delivered)
                ship["events"], updated = self.events(
                    carrier, method, address, shipped, "delivered", delivered
                )
                if status == "returned":
                    fin, updated = self._return(order, customer, delivered)
            order["shipments"].append(ship)
        order["financial_status"] = fin
        order["fulfillment_status"] = ful
        order["updated_at"] = iso(updated)
        return order

    def _cancel(
        self, order: dict[str, Any], customer: dict[str, Any], placed: datetime, was_paid: bool
    ) -> tuple[str, datetime]:
        free_hours = self.policy.get("cancellation.free_hours")
        fee_percent = int(self.policy.get("cancellation.fee_percent"))
        fee_max = cents(self.policy.get("cancellation.fee_max"))
        hours = (
            self.rnd.choice([0.5, 2, 6, 20, 30, 40]) if was_paid else self.rnd.choice([0.3, 1, 5])
        )
        cancelled = placed + timedelta(hours=hours, minutes=self.rnd.randint(0, 50))
        fee = 0
        if (
            was_paid
            and not (customer["tier"] == "vip" and self.policy.get("tiers.vip.free_cancellation"))
            and hours > free_hours
        ):
            fee = min(order["total_cents"] * fee_percent // 100, fee_max)
        order["cancelled_at"] = iso(cancelled)
        order["cancellation_fee_cents"] = fee
        if not was_paid:
            return "voided", cancelled
        return ("partially_refunded" if fee else "refunded"), cancelled

    def _return(
        self, order: dict[str, Any], customer: dict[str, Any], delivered: datetime
    ) -> tuple[str, datetime]:
        rnd = self.rnd
        reason = rnd.choice(RETURN_REASONS)
        items = order["items"]
        returned = items if len(items) == 1 or rnd.random() < 0.5 else [rnd.choice(items)]
        returned_value = sum(i["unit_price_cents"] * i["quantity"] for i in returned)
        share = returned_value / order["subtotal_cents"]
        refund = round(
            (order["subtotal_cents"] - order["discount_cents"] + order["tax_cents"]) * share
        )
        free_reasons = self.policy.get("returns.free_return_reasons")
        free = customer["tier"] == "vip" or reason in free_reasons
        if not free:
            refund -= cents(self.policy.get("returns.return_shipping_fee"))
        elif reason in free_reasons and returned is items:
            refund += order["shipping_cents"]  # our mistake: the original shipping comes back too
        created = delivered + timedelta(days=rnd.randint(1, 20), hours=rnd.randint(0, 8))
        created = max(
            min(created, NOW - timedelta(days=1, hours=rnd.randint(0, 12))),
            delivered + timedelta(hours=5),
        )
        received = add_business_days(created, rnd.randint(3, 6))
        refunded = add_business_days(
            received, rnd.randint(1, self.policy.get("returns.refund_days"))
        )
        ret: dict[str, Any] = {
            "rma": "RMA-{number}-1",
            "status": "refunded",
            "reason": reason,
            "items": [{"sku": i["sku"], "quantity": i["quantity"]} for i in returned],
            "refund_cents": refund,
            "refund_method": "store_credit" if rnd.random() < 0.15 else "original_payment_method",
            "free_return_shipping": free,
            "created_at": iso(created),
            "refunded_at": iso(refunded),
        }
        updated = refunded
        if refunded > NOW:
            ret["refunded_at"] = None
            ret["status"] = "received" if received <= NOW else "approved"
            updated = min(received, NOW) if received <= NOW else created
        order["returns"].append(ret)
        full = returned is items
        return ("refunded" if full else "partially_refunded") if ret[
            "refunded_at"
        ] else "paid", updated

    # --- all orders ---------------------------------------------------------------------------

    def placed_at(self, status: str) -> datetime:
        _, lo, hi = PLAN[status]
        if status == "returned":
            # A few recent returns still waiting for their refund, for track_refund.
            lo, hi = (lo, hi) if self.rnd.random() < 0.75 else (9.0, 16.0)
        if status == "delivered":
            # Half inside the 30-day return window, half outside it.
            lo, hi = (8.0, 32.0) if self.rnd.random() < 0.5 else (42.0, hi)
        when = NOW - timedelta(days=self.rnd.uniform(lo, hi))
        return when.replace(second=0, microsecond=0)

    def make_all(self) -> list[dict[str, Any]]:
        statuses = [s for s, (n, _, _) in PLAN.items() for _ in range(n)]
        self.rnd.shuffle(statuses)
        ordering = [c for c in self.customers if c["id"] <= 32]
        weights = [3 if c["tier"] == "vip" else 1.6 for c in ordering]
        owners = list(ordering)  # every customer who shops gets at least one order
        owners += self.rnd.choices(ordering, weights=weights, k=len(statuses) - len(owners))
        self.rnd.shuffle(owners)
        drafts = []
        for status, customer in zip(statuses, owners, strict=True):
            placed = self.placed_at(status)
            joined = datetime.fromisoformat(customer["created_at"]).replace(tzinfo=UTC)
            placed = max(placed, joined + timedelta(hours=self.rnd.randint(1, 300)))
            if placed > NOW - timedelta(hours=1):
                placed = NOW - timedelta(hours=2)
            drafts.append((placed, status, customer))
        drafts.sort(key=lambda d: d[0])
        seen: set[int] = set()
        orders = []
        for n, (placed, status, customer) in enumerate(drafts):
            order = self.make(status, customer, placed, customer["id"] not in seen)
            seen.add(customer["id"])
            number = str(FIRST_NUMBER + n)
            order["number"] = number
            if order["paid_at"]:
                order["invoice_number"] = f"INV-{placed.year}-{number}"
            for ret in order["returns"]:
                ret["rma"] = ret["rma"].format(number=number)
            orders.append(order)
        return orders


def overview(orders: list[dict[str, Any]], customers: list[dict[str, Any]]) -> str:
    names = {c["id"]: c for c in customers}
    lines = [
        "# Demo orders at a glance",
        "",
        f"Generated by `scripts/make_demo_orders.py` (seed {SEED}, now = {iso(NOW)}). "
        "Use it to pick orders for tests and scripted dialogues. Totals in dollars.",
        "",
        "| Order | Customer | Email | Tier | Status | Placed | Total | Items | Shipment / return |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for o in orders:
        c = names[o["customer_id"]]
        extra = ""
        if o["shipments"]:
            s = o["shipments"][0]
            extra = f"{s['carrier']} {s['tracking_number']} ({s['status']}, ETA {s['estimated_delivery']})"
            if s["delivered_at"]:
                extra = f"{s['carrier']} delivered {s['delivered_at'][:10]}"
        for r in o["returns"]:
            extra += f"; {r['rma']} {r['status']} ${r['refund_cents'] / 100:.2f}"
        if o["status"] == "cancelled":
            extra = (
                f"cancelled {o['cancelled_at'][:10]}, fee ${o['cancellation_fee_cents'] / 100:.2f}"
            )
        items = "; ".join(f"{i['quantity']} x {i['sku']}" for i in o["items"])
        lines.append(
            f"| {o['number']} | {c['id']} {c['name']} | {c['email']} | {c['tier']} | {o['status']} | "
            f"{o['placed_at'][:10]} | {o['total_cents'] / 100:.2f} | {items} | {extra} |"
        )
    counts = Counter(o["status"] for o in orders)
    lines += ["", "Counts: " + ", ".join(f"{s} {counts[s]}" for s in PLAN), ""]
    return "\n".join(lines)


def main() -> None:
    maker = OrderMaker()
    orders = maker.make_all()
    root = catalog_dir()
    out = root / "orders.jsonl"
    out.write_text(
        "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in orders), encoding="utf-8"
    )
    (root / "orders_overview.md").write_text(overview(orders, maker.customers), encoding="utf-8")
    print(f"wrote {len(orders)} orders to {out}: {dict(Counter(o['status'] for o in orders))}")


if __name__ == "__main__":
    main()
