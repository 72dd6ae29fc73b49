"""Widgets shared by the chat and assist apps."""
