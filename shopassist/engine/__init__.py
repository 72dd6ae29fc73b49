"""The engine: understanding, dialogue, replies and LLM. Never imports Textual."""
