"""Hostile and broken hand-ins of lab 1 (and one of lab 3), built from the release and the solutions.

Each entry of ``corpus(release, source, course)`` is ``name -> Handin``: the notebook (or raw bytes
for archives), how it is handed in, and what grading must give it. ``max_points``: the most
autograded points it may earn; ``min_points``: the least (honest work that must be kept);
``flagged``: whether the integrity report must name it (None: either).

Hand-ins are built from the lab as it is now, by grade id (never by cell index), and what each
must earn is derived from the instructor notebook's points (``Points``): a lab that gains or
loses graded cells keeps its corpus valid.

The corpus is built here; ``notebooks`` reads the lab and edits hand-ins by grade id, ``attacks``
holds the code they carry (wrong answers, hostile code) and ``kernel_attacks`` the attacks from
inside the kernel. Their names are re-exported: ``handins.Points``, ``handins.with_answers``, ...
"""

from __future__ import annotations

import copy
import importlib.util
import io
import zipfile
from pathlib import Path

import nbformat

from . import kernel_attacks
from .attacks import (
    CONFIG,
    EDITED_TEST,
    FLOOD,
    FORKS,
    GRADEBOOK,
    GRADING_CODE,
    KILLER,
    LEAKER,
    MEMORY,
    MODULES,
    NOINT,
    OS_EXIT,
    PATCHER,
    SEGFAULT,
    SHADOW_DLLAB,
    SHOWTB,
    TRANSFORMER,
    WARNER,
    WRONG,
)
from .notebooks import (
    SCOPES,
    Handin,
    Points,
    _flow,
    _read,
    _stored,
    append,
    import_index,
    insert_after,
    insert_at,
    is_test,
    meta,
    student_solution,
    with_answers,
)

LAB = "lab1_logreg"


def corpus(release, source, course):
    """name -> Handin, for lab 1. ``source``: the instructor notebook (solutions, points);
    ``course``: the course folder (hostile code aims at it)."""
    points = Points(source)
    full = points.full
    solutions = {meta(c)["grade_id"]: student_solution(c.source) for c in source.cells if meta(c).get("solution")}
    perfect = with_answers(release, solutions)
    wrong = with_answers(release, WRONG)
    at = import_index(release)
    fmt = {"course": str(course), "grading": str(Path(importlib.util.find_spec("grading").origin).parent)}

    def keeps(value, **kw):  # exactly these points
        return dict(min_points=value, max_points=value, **kw)

    out = {}
    # --- honest work (the first six are the class's honest half) ---------------------------------
    out["honest_perfect"] = Handin(perfect, **keeps(full), flagged=False)
    out["honest_explorer"] = Handin(insert_after(perfect, "test_softmax", "print(softmax(np.zeros((2, 3))))"),
                                    **keeps(full), flagged=False)
    out["honest_partial"] = Handin(with_answers(release, {**solutions, "minibatches": WRONG["minibatches"]}),
                                   **keeps(points.without("minibatches")), flagged=False)
    out["honest_blank"] = Handin(release, flagged=False)
    out["honest_crashing"] = Handin(with_answers(release, {**solutions, "cross_entropy":
                                                           "print(debug_value)\n" + solutions["cross_entropy"]}),
                                    **keeps(points.without("cross_entropy")), flagged=False)
    out["honest_warning"] = Handin(insert_after(perfect, "softmax", WARNER), **keeps(full), flagged=False)
    # --- hostile (the first six are the class's hostile half) -------------------------------------
    out["evil_transformer"] = Handin(insert_at(release, at, TRANSFORMER), flagged=True)
    out["evil_gradebook"] = Handin(insert_at(wrong, at, GRADEBOOK.format(**fmt)), flagged=True)
    out["evil_patcher"] = Handin(insert_at(wrong, at, PATCHER), flagged=True)
    out["evil_config"] = Handin(insert_at(wrong, at, CONFIG.format(**fmt)), flagged=True)
    out["evil_killer"] = Handin(insert_at(release, at, KILLER), flagged=True)
    out["evil_leaker"] = Handin(append(insert_at(release, at, LEAKER), LEAKER), flagged=True)
    out["evil_grading_code"] = Handin(insert_at(wrong, at, "import os\n" + GRADING_CODE.format(**fmt)))
    # --- more classes --------------------------------------------------------------------------------
    out["evil_modules"] = Handin(insert_at(wrong, at, MODULES), flagged=True)
    out["evil_showtraceback"] = Handin(insert_at(release, at, SHOWTB), flagged=True)
    edited = with_answers(wrong, {"test_softmax": "print('all good')", "test_softmax_hidden": "pass"})
    out["evil_edited_tests"] = Handin(edited, flagged=True)
    deleted = copy.deepcopy(wrong)
    deleted.cells = [c for c in deleted.cells if not is_test(c)]
    out["evil_deleted_tests"] = Handin(deleted, flagged=True)
    out["evil_forks"] = Handin(insert_at(release, at, FORKS), flagged=True, root_only=True)
    # --- attacks from inside the kernel on how tests are run and reported: the judge decides ----------
    for name in kernel_attacks.ATTACKS:
        out[name] = Handin(kernel_attacks.attack_handin(release, source, name, insert_at, import_index, meta),
                           flagged=True)
    # an honest hand-in whose last run was out of order and saved by JupyterLab 4 (outputs, counts, ids kept)
    saved = copy.deepcopy(perfect)
    for k, cell in enumerate(c for c in saved.cells if c.cell_type == "code"):
        cell.execution_count = 100 - k
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ünïcödé ✓ output kept\n")]
    saved.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    out["honest_lab4_save"] = Handin(saved, **keeps(full), flagged=False)
    # --- honest mistakes of the round trip (tests/grading/test_grading.py) -------------------------------------
    written = {meta(c)["grade_id"]: "I do not know." for c in source.cells
               if meta(c).get("solution") and c.cell_type == "markdown"}
    out["honest_wrong"] = Handin(with_answers(wrong, written), flagged=False, how="zip")  # a zip named after them
    looping = "while True:  # waiting for something that never comes\n    pass\n\n" + solutions["minibatches"]
    out["honest_looping"] = Handin(with_answers(release, {**solutions, "minibatches": looping}),
                                   **keeps(points.without("minibatches")), flagged=True)  # a time-out is reported
    by_id = {meta(c)["grade_id"]: c for c in release.cells if meta(c).get("grade_id")}
    out["broken_edited_test"] = Handin(with_answers(release, {**solutions, "softmax": by_id["softmax"].source,
                                                              "test_softmax": EDITED_TEST}),
                                       **keeps(points.without("softmax")), flagged=True)
    # --- broken but honest: keep what was earned ---------------------------------------------------
    dup = copy.deepcopy(perfect)
    i = next(k for k, c in enumerate(dup.cells) if meta(c).get("grade_id") == "test_softmax")
    dup.cells.insert(i + 1, copy.deepcopy(dup.cells[i]))       # a pasted test
    j = next(k for k, c in enumerate(dup.cells) if meta(c).get("grade_id") == "one_hot")
    dup.cells.insert(j + 2, copy.deepcopy(dup.cells[j]))       # a pasted answer, below its test
    out["broken_duplicates"] = Handin(dup, **keeps(full), flagged=True)
    meta_edit = copy.deepcopy(perfect)
    for cell in meta_edit.cells:
        m = meta(cell)
        if m.get("grade_id") == "test_softmax":
            m.update(locked=False, points=100)
        elif m.get("grade_id") == "test_one_hot":
            m["grade"] = False
        elif m.get("grade_id") == "softmax":
            m["grade_id"] = "my_softmax"
    out["broken_metadata"] = Handin(meta_edit, **keeps(full), flagged=True)
    out["broken_exit_end"] = Handin(append(perfect, "exit()"), **keeps(full))
    # a kernel death keeps the points of the tests that ran before it
    out["broken_os_exit"] = Handin(insert_after(perfect, "test_logreg_gradients_hidden", OS_EXIT),
                                   **keeps(points.through("test_logreg_gradients_hidden")), flagged=True)
    out["broken_segfault"] = Handin(append(perfect, SEGFAULT), **keeps(full), flagged=True)
    out["broken_memory"] = Handin(append(perfect, MEMORY), **keeps(full))
    # a kernel that ignores the interrupt is stopped: the tests above the looping answer keep their points
    out["broken_noint_loop"] = Handin(with_answers(perfect, {"minibatches": NOINT}),
                                      **keeps(points.before("minibatches")), flagged=True)
    out["broken_flood"] = Handin(insert_after(perfect, "test_softmax", FLOOD), **keeps(full))
    out["broken_misnamed"] = Handin(perfect, **keeps(full), flagged=True, how="misnamed")
    out["broken_shadow_dllab"] = Handin(perfect, **keeps(full), how="zip",
                                        extra_files={"dllab/__init__.py": SHADOW_DLLAB})
    out["broken_corrupt_zip"] = Handin(how="raw_zip", raw=b"PK\x03\x04 this is not really a zip file")
    slip = io.BytesIO()
    with zipfile.ZipFile(slip, "w") as z:
        z.writestr(f"{LAB}.ipynb", nbformat.writes(perfect))
        z.writestr("../../../zip_slip.txt", "escaped")
    out["broken_zip_slip"] = Handin(how="raw_zip", raw=slip.getvalue())
    return out


CLASS_HONEST = ["honest_perfect", "honest_explorer", "honest_partial", "honest_blank", "honest_crashing",
                "honest_warning"]


CLASS_HOSTILE = ["evil_transformer", "evil_gradebook", "evil_patcher", "evil_config", "evil_killer",
                 "evil_leaker"]
