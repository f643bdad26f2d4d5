"""Programs a test needs from Debian's packages (``./dev.sh test`` installs them)."""

from __future__ import annotations

import os
import shutil

import pytest


def require(program: str, package: str) -> str:
    """The program's path. Missing: a skip with the reason outside CI, a failure under CI."""
    path = shutil.which(program)
    if path is not None:
        return path
    message = f"{program} is missing: apt-get install {package} (./dev.sh test does)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
