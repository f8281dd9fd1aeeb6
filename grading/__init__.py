"""The dllab course's grading: release, collection, sandboxed autograding with a judge, reports.

This folder is both the nbgrader course root (``nbgrader_config.py``, ``source/``, the gradebook) and
this package, installed with dllab (``pip install -e .``) so that nbgrader's configuration, the
commands (``python -m grading``, ``dllab-grade``), the tests and the benchmarks import it by name.
Attendees never get it (``grading.attendees_copy``), and the sandboxed kernel cannot read it
(``grading.sandbox``). README.md in this folder is the instructor's guide.

    cli.py, course.py           the commands; which course folder they work on, nbgrader's config
    release.py                  source/<lab>/<lab>.py -> the attendees' notebooks in ../labs/
    attendees_copy.py           what attendees get, checked for solutions, hidden tests, answer keys
    archives.py, collect.py     reading hand-ins (archives checked, in memory), collecting them
    prepare.py, autograde.py    reading a hand-in before grading; the batch of nbgrader autogrades
    sandbox.py                  the bubblewrap sandbox the attendee's kernel runs in
    judge.py, judge_calls.py    every test cell run on the host; its calls into the kernel
    wire/                       the data-only protocol between the judge and the kernel
    answer_keys.py              the expected values (never shipped)
    preprocessors/, plugins/    nbgrader hooks, one per file
    events.py, hidden.py, scan.py   the integrity log; hidden-test lines; the scan for tampering
    report.py, insight.py, insight_page.py   the integrity report; the debrief page
    isolation.py                the class hub's Unix accounts, the course's and the exchange's modes
"""
