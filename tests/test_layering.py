"""The library is UI-free: nothing under rag/ imports ui/, eval/ or the cli/ that composes them.

Checked on the source, function-level imports included, because a lazy import inside a
function breaks the layering just as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTSIDE_THE_LIBRARY = ("ui", "eval", "cli")


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_rag_imports_nothing_from_ui_eval_or_cli() -> None:
    sources = sorted((REPO / "rag").rglob("*.py"))
    assert len(sources) > 30  # the walk sees the library, not an empty folder
    crossing = [
        f"{path.relative_to(REPO)}:{line} imports {module}"
        for path in sources
        for line, module in _imports(path)
        if module.split(".")[0] in OUTSIDE_THE_LIBRARY
    ]
    assert crossing == []


def test_the_check_sees_a_lazy_import(tmp_path: Path) -> None:
    # The same walk on a module that imports the UI inside a function must report it.
    module = tmp_path / "lazy.py"
    module.write_text("def f():\n    from ui.server import serve\n    import eval.runner\n", encoding="utf-8")
    assert [name for _, name in _imports(module)] == ["ui.server", "eval.runner"]
