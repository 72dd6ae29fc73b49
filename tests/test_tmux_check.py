"""The real-terminal check: ``scripts/tmux_check.sh`` drives ``shopassist chat`` in tmux."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / "scripts" / "tmux_check.sh"


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_chat_answers_in_a_real_terminal() -> None:
    env = dict(os.environ, SHOPASSIST=f"{sys.executable} -m shopassist")
    result = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "OK" in result.stdout
