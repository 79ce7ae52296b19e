"""The oracle imports nothing outside the standard library: it must not share a bug with NumPy
or torch, and it must run where neither is installed."""

import ast
import sys
from pathlib import Path

import reference

REFERENCE_DIRECTORY = Path(reference.__file__).parent


def imported_top_level_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.split(".")[0])
    return modules


def test_reference_imports_only_the_standard_library_and_itself():
    allowed = set(sys.stdlib_module_names) | {"reference", "__future__"}
    offenders = {
        path.name: sorted(imported_top_level_modules(path) - allowed)
        for path in sorted(REFERENCE_DIRECTORY.glob("*.py"))
    }
    assert not {name: mods for name, mods in offenders.items() if mods}, offenders


def test_the_purity_check_sees_a_third_party_import(tmp_path):
    impure = tmp_path / "impure.py"
    impure.write_text("import numpy as np\nfrom torch.nn import functional\n")
    assert imported_top_level_modules(impure) == {"numpy", "torch"}
