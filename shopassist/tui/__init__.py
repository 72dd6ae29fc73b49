"""The Textual front end: ``shopassist chat``, ``shopassist assist`` and the stats screen.

Only :mod:`shopassist.engine.assistant` (and the result models) are used from the engine.
"""
