"""Each deployable imports only its own extra: the Pi needs no FastAPI or SQLAlchemy, the
server no bleak. Checked by importing every module with the other side's packages blocked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BLOCKER = """
import importlib.abc, importlib.util, pkgutil, sys
BLOCKED = set(sys.argv[1].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not part of this extra")
        return None
sys.meta_path.insert(0, Block())
sys.path.insert(0, sys.argv[3])
for package in sys.argv[2].split(","):
    module = __import__(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if ".migrations" in info.name:
            continue
        __import__(info.name)
print("ok")
"""


@pytest.mark.parametrize(
    ("packages", "blocked"),
    [
        ("contract,drivers,gateway", "fastapi,sqlalchemy,alembic,uvicorn,openpyxl,bumble"),
        ("contract,central", "bleak,bumble,escpos,serial,pymodbus"),
    ],
)
def test_a_deployable_imports_without_the_other_sides_packages(packages: str, blocked: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER, blocked, packages, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def test_the_blocker_blocks() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER, "sqlalchemy", "central", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "not part of this extra" in result.stderr
