"""The package layout holds: imports run downward only, and the README's layout section lists every module."""

import ast
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "src" / "tokun"
# what each layer may import from the package (besides itself); cli and the top-level modules import anything
ALLOWED = {
    "core": set(),
    "decoding": {"core"},
    "training": {"core", "decoding"},
    "evaluation": {"core", "decoding"},
    "inspection": {"core", "decoding"},
    "streaming": {"core", "decoding"},
    "lm": {"core", "decoding"},
    "integrations": {"core", "decoding", "lm"},
}


def package_imports(path: Path) -> set[str]:
    """The subpackages of tokun that a module imports (relative or absolute, at any depth of the code)."""
    layer = path.relative_to(PACKAGE).parts[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and (node.module or "").startswith("tokun."):
                found.add(node.module.split(".")[1])
            elif node.level == 1 and node.module:
                found.add(layer)
            elif node.level == 2 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 2:
                found.add("tokun")  # the package root re-exports every layer
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("tokun.")}
    return found - {layer}


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_run_downward_only(layer: str) -> None:
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        bad = package_imports(path) - ALLOWED[layer]
        assert not bad, (
            f"{path.relative_to(ROOT)} imports {sorted(bad)}: {layer} may import only {sorted(ALLOWED[layer])}"
        )


def test_integrations_use_the_public_api_of_lm() -> None:
    """integrations import the language models from ``tokun.lm`` (its ``__init__``), never from its modules."""
    for path in sorted((PACKAGE / "integrations").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                inner = module.startswith("lm.") if node.level == 2 else module.startswith("tokun.lm.")
                assert not inner, f"{path.name} imports {module}: import from tokun.lm"


LONG = 400  # lines


def test_long_modules_say_why() -> None:
    """A module of the package over about 400 lines says at its top why it is one module ("Long because: ...")."""
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > LONG:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            assert "Long because:" in doc, f"{path.relative_to(ROOT)} has {lines} lines and says nothing of why"


def test_readme_layout_lists_every_folder_in_a_few_lines() -> None:
    """README's layout names every subpackage and top-level folder in at most 15 lines; each subpackage's own
    docstring says what its modules do."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Layout") :]
    block = section.split("```")[1].strip("\n").splitlines()
    assert len(block) <= 15, f"README's layout block has {len(block)} lines"
    layers = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    for folder in [*layers, "weights", "recipes", "benchmarks", "experiments", "examples", "tests", "docs"]:
        assert f"{folder}/" in "\n".join(block), f"README's layout misses {folder}/"
    for layer in layers:
        doc = ast.get_docstring(ast.parse((PACKAGE / layer / "__init__.py").read_text(encoding="utf-8"))) or ""
        for module in sorted((PACKAGE / layer).glob("*.py")):
            if module.name != "__init__.py":
                assert f"{module.name} " in doc, f"{layer}/__init__.py's docstring misses {module.name}"


def module_imports(path: Path) -> set[str]:
    """The tokun modules a module imports, at any depth of its code (lazy imports included)."""
    name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = name.rsplit(".", 1)[0] if path.name != "__init__.py" else name
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            if base.startswith("tokun"):
                for alias in node.names:
                    child = f"{base}.{alias.name}"
                    found.add(child if (PACKAGE.parent / (child.replace(".", "/") + ".py")).is_file() else base)
    return found - {name}


def test_no_import_cycles() -> None:
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        graph[name.removesuffix(".__init__")] = module_imports(path)
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph.get(node, ()):
                assert nxt != start, f"import cycle: {' -> '.join(trail + [nxt])}"
                if nxt not in seen and nxt in graph:
                    seen.add(nxt)
                    stack.append((nxt, trail + [nxt]))
