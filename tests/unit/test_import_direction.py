"""DESIGN.md's arrows, enforced: every import of ours points the allowed way."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contract", "drivers", "gateway", "simulators", "central", "m2c")
ALLOWED: dict[str, set[str]] = {
    "contract": set(),
    "drivers": set(),
    "gateway": {"drivers", "contract"},
    "simulators": {"drivers", "contract"},
    "central": {"contract"},
    "m2c": set(PACKAGES),
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


def test_imports_point_one_way() -> None:
    wrong = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for target in _imports(path) - ALLOWED[package] - {package}:
                wrong.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not wrong, "imports against DESIGN.md:\n" + "\n".join(wrong)


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import central.app\nfrom gateway import outbox\nimport os\n")
    assert _imports(bad) == {"central", "gateway"}


def test_the_contract_needs_nothing_but_pydantic() -> None:
    for path in (ROOT / "contract").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                top = node.module.split(".")[0]
                assert top in {
                    "pydantic",
                    "__future__",
                    "re",
                    "datetime",
                    "typing",
                    "contract",
                    "base64",
                    "hashlib",
                    "json",
                    "dataclasses",
                }, f"{path.name} imports {top}"
