"""Commands: search (filled in by its owner)."""
