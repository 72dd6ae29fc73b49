"""``shopassist serve``: the live web channel (HTTP API, SSE stream and the chat page).

The server is one more front end over the engine's ``Assistant``, like the TUI and the
CLI; the live message log it shares with staff terminals is ``shopassist.kb.live_queue``.
"""

from shopassist.server.app import create_app

__all__ = ["create_app"]
