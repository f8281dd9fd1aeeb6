"""docs/architecture.md draws the tree as it is: every top-level folder, every module and
subpackage of the Python packages, and nothing that is not there."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
PACKAGES = ("dllab", "grading")  # the Python packages whose every module the layout names
NAME = re.compile(r"^( *)([\w.-]+/?)(?=\s|$)")


def layout_entries():
    """{path: text} for each entry of the Layout block: a line whose first word is a file or folder
    name (indented two spaces per level below the folder above it), with its continuation lines."""
    text = DOC.read_text()
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    entries, stack, current = {}, [], None
    for line in block.splitlines()[1:]:
        match = NAME.match(line)
        depth = len(match.group(1)) // 2 if match else None
        if match and len(match.group(1)) % 2 == 0 and depth <= len(stack) and len(match.group(1)) < 20:
            stack = stack[:depth]
            name = match.group(2)
            path = "/".join([*stack, name.rstrip("/")])
            entries[path] = line[match.end():]
            current = path
            if name.endswith("/"):
                stack.append(name.rstrip("/"))
        elif current is not None:
            entries[current] += " " + line.strip()
    return entries


def tracked():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [Path(p) for p in out.splitlines() if (ROOT / p).exists()]


def test_every_top_level_folder_is_drawn_and_every_drawn_path_exists():
    entries = layout_entries()
    top = {p.parts[0] for p in tracked() if len(p.parts) > 1 and not p.parts[0].startswith(".")}
    missing = sorted(top - {path for path in entries if "/" not in path})
    assert not missing, f"docs/architecture.md's layout leaves out the folders {missing}"
    absent = sorted(path for path in entries if not (ROOT / path).exists())
    assert not absent, f"docs/architecture.md's layout names what the tree does not have: {absent}"


def test_every_module_of_the_packages_is_named_where_it_lives():
    entries = layout_entries()
    unnamed = []
    for package in PACKAGES:
        for module in sorted((ROOT / package).rglob("*.py")):
            rel = module.relative_to(ROOT)
            if rel.name == "__init__.py" or "source" in rel.parts or "__pycache__" in rel.parts:
                continue
            # the module's own entry, or the text of the nearest folder drawn above it names it
            if rel.as_posix() in entries:
                continue
            parents = [p.as_posix() for p in rel.parents if p.as_posix() in entries]
            text = entries[parents[0]] if parents else ""
            if not re.search(rf"(?<![\w/]){re.escape(rel.stem)}(\.py)?(?!\w)", text):
                unnamed.append(rel.as_posix())
    assert not unnamed, f"docs/architecture.md's layout does not name these modules: {unnamed}"
