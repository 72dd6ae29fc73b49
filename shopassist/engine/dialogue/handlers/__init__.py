"""The handler registry: every module whose functions answer a flow's steps.

Handlers register themselves in ``context.ACTS``/``CHECKS``/``CONFIRMS`` with the
``@handler`` decorator; this list is the one place that says which modules those are, so
nothing depends on an import made elsewhere for its side effect. A new handler module is
added here.
"""

from __future__ import annotations

from types import ModuleType

from shopassist.engine.dialogue import actions, item_actions
from shopassist.engine.dialogue.context import VALUE_PROVIDERS
from shopassist.engine.dialogue.handlers import (
    policies,
    products,
    promotions,
    smalltalk,
    support,
)

HANDLER_MODULES: tuple[ModuleType, ...] = (
    actions,  # order tasks: track, cancel, refund, address, invoice, ...
    item_actions,  # after actions: which lines a return covers, addresses in fields
    products,
    promotions,
    policies,
    support,
    smalltalk,
)


def register_all() -> tuple[ModuleType, ...]:
    """The handler modules (importing this package registered their handlers), and the
    value providers flow steps call by name."""
    VALUE_PROVIDERS["order_basics"] = actions.order_basics
    return HANDLER_MODULES
