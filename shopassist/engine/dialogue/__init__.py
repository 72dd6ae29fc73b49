"""Dialogue management: state, declarative flows, business rules, references and access."""
