"""The attack suite's fixtures: the demo shop, the real understanding stage, no LLM."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from shopassist.config import Settings
from shopassist.engine.assistant import Assistant
from shopassist.engine.pipeline import TurnPipeline

# The demo shop's orders are dated around this moment; a fixed clock keeps answers stable.
DEMO_NOW = datetime(2026, 11, 29, 9, 0)


def make_bot(db: sqlite_utils.Database, models_dir: Path, **settings: Any) -> Assistant:
    from shopassist.engine.nlu.understand import Understander

    conf = Settings(**settings)
    understander = Understander.load(db=db, settings=conf, models_directory=models_dir)
    return Assistant(conf, db, TurnPipeline(db, conf, understander, now=DEMO_NOW))


@pytest.fixture
def bot(demo_db: sqlite_utils.Database, shared_nlu_models: Path) -> Assistant:
    return make_bot(demo_db, shared_nlu_models)


def customer_orders(db: sqlite_utils.Database, customer_id: int) -> list[str]:
    rows = db.execute(
        "select number from orders where customer_id = ? order by number", [customer_id]
    ).fetchall()
    return [r[0] for r in rows]


def tracking_numbers(db: sqlite_utils.Database) -> dict[str, str]:
    """Order number -> tracking number: what a leaked order reply would show."""
    rows = db.execute(
        "select o.number, s.tracking_number from orders o join shipments s on s.order_id = o.id "
        "where s.tracking_number is not null"
    ).fetchall()
    return {r[0]: r[1] for r in rows}
