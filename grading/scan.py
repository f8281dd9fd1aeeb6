"""The static scan of a hand-in for code that tampers with grading (flags for the integrity report)."""

from __future__ import annotations

import ast
import re

SCAN_RULES = [
    # (what it means, regular expression over a code cell's text)
    ("IPython input/AST transformer", r"input_transformers|ast_transformers|\.events\.register|register_magic"),
    ("patches function code", r"__code__|__globals__|__closure__|__defaults__|__kwdefaults__"),
    ("opens a database (the gradebook?)", r"\bsqlite3\b|gradebook"),
    ("kills or exits the process", r"\bos\._exit\b|\bos\.kill\b|\bkillpg\b|\bsignal\.(signal|alarm|pthread_kill)|"
                                   r"\bos\.abort\b"),
    ("starts processes", r"\bsubprocess\b|\bos\.(system|popen|fork|exec\w*|spawn\w*)\b|\bmultiprocessing\b|\bpty\b"),
    ("native code", r"\bctypes\b|\bcffi\b"),
    ("reads the cell history or other cells' source", r"\bIn\s*\[|\b_ih\b|\b_i\d*\b|\bOut\s*\[|\b_oh\b|linecache|"
                                                      r"\bhistory_manager\b|\b_getframe\b|\bf_back\b|"
                                                      r"currentframe|\bgc\.get_(objects|referrers)"),
    ("rewrites modules or builtins", r"\bsys\.modules\b|\bimport\s+builtins\b|__builtins__|\bimportlib\b|"
                                     r"\bsetattr\s*\(\s*(np|numpy|labs|dl|dllab|builtins)\b"),
    ("changes how the kernel runs or reports cells", r"displayhook|excepthook|showtraceback|set_custom_exc|\.session\b|"
                                                    r"\bsettrace\b|\bsetprofile\b|__class__\s*=|\bthreading\b|"
                                                    r"\binspect\b|\bvars\s*\(\s*(labs|np|numpy|dl|dllab)\b|"
                                                    r"\bglobals\s*\(\s*\)\s*\["),
    ("network access", r"\bsocket\b|\burllib\b|\brequests\b|\bhttp\.client\b"),
    ("dynamic code", r"(?<![\w.])(exec|eval|compile)\s*\(|__import__|\bbase64\b|\bmarshal\b|\bpickle\b"),
    ("reaches outside the notebook", r"\.\./|\bos\.environ\b|/etc/|\bshutil\.rmtree\b|nbgrader"),
]
HELPER_MODULES = ("np", "numpy", "labs", "dl", "dllab", "check", "check_close", "check_shape", "check_gradient")


def scan(nb, helpers=HELPER_MODULES, skip_locked_sources=()):
    """Flags of a hand-in: [(cell label, what, line)] for code that tampers with grading.

    ``skip_locked_sources``: texts of the lab's own given cells (they may legitimately use
    anything); a cell whose text is one of them is not scanned.
    """
    flags = []
    skip = set(skip_locked_sources)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell.source in skip:
            continue
        label = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
        for line in cell.source.splitlines():
            code = line.split("#", 1)[0] if "'" not in line and '"' not in line else line
            for what, pattern in SCAN_RULES:
                if re.search(pattern, code):
                    flags.append((label, what, line.strip()[:120]))
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            elif isinstance(node, (ast.Delete,)):
                targets = node.targets
            for target in targets:
                base = target
                while isinstance(base, (ast.Attribute, ast.Subscript)):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in helpers and base is not target:
                    flags.append((label, "reassigns a helper or NumPy function", ast.unparse(target)[:120]))
                elif isinstance(target, ast.Name) and target.id in helpers and target.id not in ("np", "dl"):
                    flags.append((label, "reassigns a helper or NumPy function", target.id))
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in helpers:
                flags.append((label, "redefines a helper", node.name))
    unique = []
    for flag in flags:
        if flag not in unique:
            unique.append(flag)
    return unique

