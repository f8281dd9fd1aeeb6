"""The instructor's commands: ``python -m grading <command>`` (or ``dllab-grade <command>``).

    python -m grading release [lab ...] [--check]       # source/ -> ../labs/ with nbgrader (release.py)
    python -m grading collect lab1_logreg               # downloaded/<lab>/archive/ -> submitted/ (collect.py)
    python -m grading autograde lab1_logreg --workers 4 # every hand-in in its own sandbox, N at a time
    python -m grading report lab1_logreg                # the integrity report (again, after feedback)
    python -m grading insight lab1_logreg               # the debrief page: reports/<lab>/class.html
    python -m grading attendees-copy [--out DIR]        # what attendees get, checked for leaks

The course is the current folder when it holds an ``nbgrader_config.py`` (run from ``grading/``, as
nbgrader's own commands are), else this repository's ``grading/``; ``--course DIR`` names another.
"""

from __future__ import annotations

import argparse
import sys


def parser():
    p = argparse.ArgumentParser(prog="python -m grading", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n")[1])
    p.add_argument("--course", help="the nbgrader course folder (default: here if it holds nbgrader_config.py, "
                   "else the repository's grading/)")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("release", help="write the attendees' notebooks into ../labs/ with nbgrader generate_assignment")
    s.add_argument("labs", nargs="*", help="lab folders under source/ (default: all)")
    s.add_argument("--check", action="store_true", help="only check that labs/ is up to date (exit 1 if not)")
    s = sub.add_parser("collect", help="check the archives in downloaded/<lab>/archive, then collect them")
    s.add_argument("lab")
    s = sub.add_parser("autograde", help="grade every hand-in in its own sandbox, then report")
    s.add_argument("lab")
    s.add_argument("--workers", type=int, default=1, help="hand-ins graded at the same time (default 1)")
    s.add_argument("--force", action="store_true", help="regrade every student, not only new or failed ones")
    s.add_argument("--student", action="append", help="grade only this student (repeatable)")
    s.add_argument("--cell-timeout", type=int, help="seconds per cell (default: nbgrader_config.py)")
    s.add_argument("--notebook-timeout", type=int, help="seconds per notebook (default: nbgrader_config.py)")
    s.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="execute hand-ins with your own rights, outside any sandbox (trusted notebooks only)")
    s = sub.add_parser("report", help="write the integrity report (run again after generate_feedback)")
    s.add_argument("lab")
    s = sub.add_parser("insight", help="what the class got wrong: reports/<lab>/class.html and class.json")
    s.add_argument("lab")
    s = sub.add_parser("attendees-copy", help="build the attendees' copy (no solutions, no hidden tests) and check it")
    s.add_argument("--out", help="where (default: build/attendees/ in the repository)")
    s.add_argument("--check", metavar="DIR", help="only check an existing copy")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    from grading.course import course_root

    course = course_root(args.course)
    if args.command == "release":
        from grading import release

        return release.main(args.labs, course, check_only=args.check)
    if args.command == "collect":
        from grading import collect

        collect.collect(args.lab, course)
        return 0
    if args.command == "autograde":
        from grading.autograde import autograde

        return autograde(args.lab, course, workers=args.workers, force=args.force, students=args.student,
                         unsafe=args.unsafe_no_sandbox, cell_timeout=args.cell_timeout,
                         notebook_timeout=args.notebook_timeout)
    if args.command == "insight":
        from grading.insight import write_insight

        return write_insight(args.lab, course)
    if args.command == "attendees-copy":
        from grading import attendees_copy

        return attendees_copy.main(course.parent, out=args.out, check=args.check)
    from grading.report import write_report

    return write_report(args.lab, course)


if __name__ == "__main__":
    sys.exit(main())
