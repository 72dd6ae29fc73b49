"""Masking personal data for the engine: the one implementation is ``shopassist.pii``.

Kept as the engine's import path (generate, flows and handlers import it); the knowledge
base and the CLI import ``shopassist.pii`` directly, since kb must not import the engine.
"""

from __future__ import annotations

from shopassist.pii import (
    ADDRESS_MASK,
    CARD_MASK,
    EMAIL_MASK,
    IBAN_MASK,
    ID_MASK,
    PHONE_MASK,
    SSN_MASK,
    cn_id_ok,
    contains_pii,
    find_pii,
    luhn_ok,
    mask_pii,
    mask_value,
)

__all__ = [
    "ADDRESS_MASK",
    "CARD_MASK",
    "EMAIL_MASK",
    "IBAN_MASK",
    "ID_MASK",
    "PHONE_MASK",
    "SSN_MASK",
    "cn_id_ok",
    "contains_pii",
    "find_pii",
    "luhn_ok",
    "mask_pii",
    "mask_value",
]
