"""Commands: eval dialogues (filled in by its owner)."""
