"""DESIGN.md's arrows, enforced: every import of ours points the allowed way."""

from __future__ import annotations

import ast
import sys
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


def _third_party(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"contract"}


def test_the_contract_needs_nothing_but_pydantic() -> None:
    # The receipt and command verifiers are shared too; they need only an Ed25519 implementation.
    allowed = {"receipt_signature.py": {"cryptography"}, "command_signature.py": {"cryptography"}}
    for path in sorted((ROOT / "contract").glob("*.py")):
        extra = _third_party(path) - {"pydantic"} - allowed.get(path.name, set())
        assert not extra, f"contract/{path.name} imports {sorted(extra)}"
