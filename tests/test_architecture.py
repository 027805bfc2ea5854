"""The package's shape: no import cycles, a docstring atop every module, modules of a readable size."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "citeqa"
#: Longer than this needs a reason written at the module's top ("Long because ...").
MAX_LINES = 450


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_there_are_no_import_cycles_counting_function_level_imports() -> None:
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("citeqa", include_external_packages=False)
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if importer in (imported, "citeqa") or imported == "citeqa":
                continue
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.append(" -> ".join((importer, *back)))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_layer_contracts_hold() -> None:
    pytest.importorskip("importlinter")
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"],
        cwd=PACKAGE.parents[1],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_says_what_it_owns_first(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc and doc.strip(), f"{path} has no module docstring"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_readable_or_say_why_not(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    if lines > MAX_LINES:
        doc = ast.get_docstring(ast.parse(text)) or ""
        assert "Long because" in doc, f"{path.name} has {lines} lines; split it or say why at its top"


def test_no_benchmark_script_takes_the_name_of_a_module() -> None:
    # tests put benchmarks/ on sys.path (test_crash.py): a benchmarks/requests.py once hid the
    # requests library from Ray and the serving tests of the same run
    from importlib.metadata import packages_distributions

    taken = set(sys.stdlib_module_names) | set(packages_distributions())
    scripts = sorted(p.stem for p in (PACKAGE.parents[1] / "benchmarks").glob("*.py"))
    assert scripts and [name for name in scripts if name in taken] == []
