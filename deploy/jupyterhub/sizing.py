"""Per-attendee figures for sizing a class hub, and the sizing table computed from them.

    python deploy/jupyterhub/sizing.py measure              # every lab at its default size
    python deploy/jupyterhub/sizing.py measure --full lab1_logreg lab2_mlp
    python deploy/jupyterhub/sizing.py table                # README.md's tables, from the figures

``measure`` runs each lab's instructor notebook (solutions included, so every cell runs) with
papermill in a fresh kernel with one BLAS thread, as an attendee's kernel runs on the hub, and
records its wall time and the kernel's peak resident memory in measured-labs.json. The figures of
the class test (hub start, server start, memory of an attendee's server, fetch and submit latency,
grading time) are in measured-hub.json, written by

    DLLAB_HUB_FIGURES=deploy/jupyterhub/measured-hub.json python -m pytest tests/deploy/test_hub_class.py

``table`` turns both into the resource guarantees and limits of config.yaml and the number of nodes
for a class (README.md, "Sizing"); tests/deploy/test_hub_config.py checks that README.md and config.yaml agree
with it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SOURCE = ROOT / "grading" / "source"
LABS_FILE = HERE / "measured-labs.json"
HUB_FILE = HERE / "measured-hub.json"

GiB = 2**30
MiB = 2**20

# The class and the machines it runs on. These are choices, not measurements: change them here.
CLASS_SIZE = 200
CPU_GUARANTEE = 0.5  # cores: about half the class trains at the same moment; the rest read and type
CPU_LIMIT = 1.0  # one BLAS thread per kernel (DLLAB_HUB_CPU_LIMIT, OPENBLAS_NUM_THREADS)
NODE = {"name": "16 vCPU, 64 GiB (e.g. n2-standard-16, m6i.4xlarge, D16s v5)", "cpu": 16, "memory_gib": 64}
# what Kubernetes and the cloud's agents keep for themselves on such a node (typical for GKE/EKS/AKS)
NODE_RESERVED = {"cpu": 0.5, "memory_gib": 5.5}
PLACEHOLDER_SHARE = 0.1  # user placeholders: room for a tenth of the class to arrive at once


_RUN = r"""
import json, resource, sys, time
import papermill
src, out, params, cwd = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
t0 = time.monotonic()
papermill.execute_notebook(src, out, parameters=params, kernel_name="python3", cwd=cwd,
                           progress_bar=False, log_output=False)
print(json.dumps({"seconds": round(time.monotonic() - t0, 1),
                  "kernel_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}))
"""


def lab_notebook(lab: str, folder: Path) -> Path:
    """The instructor notebook of ``lab`` (written from its jupytext source when that is what exists)."""
    path = SOURCE / lab / f"{lab}.ipynb"
    script = SOURCE / lab / f"{lab}.py"
    if script.exists():
        import nbformat

        from grading import release  # the same conversion nbgrader's release uses

        path = folder / f"{lab}.ipynb"
        nbformat.write(release.notebook(lab), path)
    if not path.exists():
        raise SystemExit(f"no source for {lab}: expected {script} or {SOURCE / lab / f'{lab}.ipynb'}")
    return path


def measure(labs, full=False):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", CI="true",
               MPLBACKEND="Agg", DLLAB_DEVICE="cpu")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env.pop("NBGRADER_EXECUTION", None)
    figures = json.loads(LABS_FILE.read_text()) if LABS_FILE.exists() else {"labs": {}}
    size = "full" if full else "default"
    for lab in labs:
        with tempfile.TemporaryDirectory() as tmp:
            src = lab_notebook(lab, Path(tmp))
            load = os.getloadavg()[0]
            result = subprocess.run([sys.executable, "-c", _RUN, str(src), str(Path(tmp) / "out.ipynb"),
                                     json.dumps({"full": full}), tmp], env=env, capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(f"{lab} ({size}) failed:\n{result.stderr[-3000:]}")
            run = json.loads(result.stdout.strip().splitlines()[-1])
        run.update({"load_average": round(load, 1), "date": time.strftime("%Y-%m-%d")})
        figures["labs"].setdefault(lab, {})[size] = run
        print(lab, size, run, flush=True)
        figures["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                              "blas_threads": 1}
        LABS_FILE.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")


def round_up(x, step):
    return math.ceil(x / step - 1e-9) * step


def sizing(labs=None, hub=None):
    """Guarantees, limits and node counts from the measured figures (plain numbers, GiB and cores)."""
    labs = labs or json.loads(LABS_FILE.read_text())
    hub = hub or json.loads(HUB_FILE.read_text())
    server_mib = hub["server_rss_after_submit_mib"]["max"]
    kernels = {lab: runs["default"]["kernel_peak_rss_mib"] for lab, runs in labs["labs"].items()}
    full = {lab: runs["full"]["kernel_peak_rss_mib"] for lab, runs in labs["labs"].items() if "full" in runs}
    heaviest = max(kernels, key=kernels.get)
    # guarantee: the server and the heaviest lab's kernel at the size the labs open with
    guarantee = round_up((server_mib + kernels[heaviest]) * MiB / GiB, 0.25)
    # limit: room for a second kernel (last lab's still open) or a full-size run, whichever is larger
    second = max([kernels[heaviest]] + list(full.values()))
    limit = round_up((server_mib + kernels[heaviest] + second) * MiB / GiB, 0.5)
    cpu, mem = NODE["cpu"] - NODE_RESERVED["cpu"], NODE["memory_gib"] - NODE_RESERVED["memory_gib"]
    per_node = int(min(cpu // CPU_GUARANTEE, mem // guarantee))
    placeholders = math.ceil(CLASS_SIZE * PLACEHOLDER_SHARE)
    nodes = math.ceil((CLASS_SIZE + placeholders) / per_node)
    return {
        "server_mib": server_mib, "kernel_mib": kernels, "full_kernel_mib": full, "heaviest_lab": heaviest,
        "memory_guarantee_gib": guarantee, "memory_limit_gib": limit,
        "cpu_guarantee": CPU_GUARANTEE, "cpu_limit": CPU_LIMIT,
        "node": NODE["name"], "node_allocatable": {"cpu": cpu, "memory_gib": mem},
        "attendees_per_node": per_node, "bound_by": "cpu" if cpu // CPU_GUARANTEE < mem // guarantee else "memory",
        "placeholders": placeholders, "user_nodes": nodes,
        "class_cpu_guaranteed": CLASS_SIZE * CPU_GUARANTEE, "class_memory_guaranteed_gib": CLASS_SIZE * guarantee,
    }


def table(s=None):
    s = s or sizing()
    kernels = ", ".join(f"{lab.split('_')[0]} {mib:.0f}" for lab, mib in sorted(s["kernel_mib"].items()))
    full = ", ".join(f"{lab.split('_')[0]} {mib:.0f}" for lab, mib in sorted(s["full_kernel_mib"].items()))
    rows = [
        ("attendee's server (JupyterLab, nbgrader; measured after fetch and submit)", f"{s['server_mib']:.0f} MiB"),
        ("kernel peak per lab, default size (MiB)", kernels),
        ("kernel peak per lab, full size (MiB)", full or "not measured"),
        ("memory guarantee: server + heaviest lab's kernel, rounded up to 0.25 GiB",
         f"**{s['memory_guarantee_gib']:g} GiB**"),
        ("memory limit: + a second such kernel or a full-size run, rounded up to 0.5 GiB",
         f"**{s['memory_limit_gib']:g} GiB**"),
        ("CPU guarantee / limit per attendee (about half the class trains at once; one BLAS thread)",
         f"**{s['cpu_guarantee']:g} / {s['cpu_limit']:g}**"),
        (f"user node: {s['node']}, allocatable", f"{s['node_allocatable']['cpu']:g} vCPU, "
         f"{s['node_allocatable']['memory_gib']:g} GiB"),
        ("attendees per node", f"{s['attendees_per_node']} (bound by {s['bound_by']})"),
        (f"user nodes for {CLASS_SIZE} attendees + {s['placeholders']} placeholders", f"**{s['user_nodes']}**"),
        ("guaranteed for the class", f"{s['class_cpu_guaranteed']:g} vCPU, {s['class_memory_guaranteed_gib']:g} GiB"),
    ]
    lines = ["| quantity | value |", "| --- | --- |"] + [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


def hub_table(hub=None):
    """The class test's figures as a Markdown table (README.md, "Measured")."""
    hub = hub or json.loads(HUB_FILE.read_text())

    def spread(key, unit="s", digits=2):
        s = hub[key]
        return f"{s['median']:.{digits}f} {unit} (max {s['max']:.{digits}f})"

    rows = [
        ("hub up (hub, proxy, formgrader service, idle culler)", f"{hub['hub_start_s']:.1f} s"),
        (f"one attendee's server, request to ready ({hub['at_once']} starting at once)", spread("server_start_s")),
        (f"all {hub['attendees']} servers", f"{hub['all_servers_started_s']:.1f} s"),
        ("list assignments", spread("list_s")), ("fetch lab 1", spread("fetch_s")),
        ("open and save the notebook (contents API)", spread("save_s")), ("submit", spread("submit_s")),
        ("attendee's server, resident memory (idle; PSS)",
         f"{hub['server_rss_mib']['median']:.0f} MiB ({hub['server_pss_mib']['median']:.0f} MiB)"),
        ("attendee's server after fetch, save and submit", spread("server_rss_after_submit_mib", "MiB", 0)),
        ("release into the exchange / collect / export",
         f"{hub['release_assignment_s']:.1f} s / {hub['collect_s']:.1f} s / {hub['export_s']:.1f} s"),
        (f"autograde {hub['attendees']} hand-ins ({hub['autograde_runner']})",
         f"{hub['autograde_s']:.0f} s ({hub['autograde_notebooks_per_min']:.1f} notebooks per minute)"),
        ("stop the hub and everything it started", f"{hub['hub_stop_s']:.1f} s ({hub['processes_seen']} processes)"),
        ("the whole test", f"{hub['test_s']:.0f} s (load average {hub['machine']['load_at_start']:.1f} at the start, "
                           f"{hub['load_at_end']:.1f} at the end)"),
    ]
    return "\n".join(["| step | time or size |", "| --- | --- |"] + [f"| {a} | {b} |" for a, b in rows])


def labs_table(labs=None):
    """Each lab's kernel: wall time and peak memory at its default and full size (README.md, "Measured")."""
    labs = labs or json.loads(LABS_FILE.read_text())
    lines = ["| lab | default size: time, kernel peak | full size: time, kernel peak |", "| --- | --- | --- |"]
    for lab, runs in sorted(labs["labs"].items()):
        cells = []
        for size in ("default", "full"):
            r = runs.get(size)
            cells.append(f"{r['seconds']:.0f} s, {r['kernel_peak_rss_mib']:.0f} MiB (load {r['load_average']:.1f})"
                         if r else "not measured")
        lines.append(f"| {lab} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("measure", help="run labs and record their time and peak kernel memory")
    p.add_argument("labs", nargs="*", help="labs (default: all in grading/source)")
    p.add_argument("--full", action="store_true", help="the full-size run (full=True) instead of the default")
    sub.add_parser("table", help="print README.md's tables (measured figures and sizing)")
    args = parser.parse_args(argv)
    if args.command == "measure":
        labs = args.labs or sorted(p.name for p in SOURCE.iterdir() if p.is_dir())
        measure(labs, args.full)
    else:
        print(hub_table(), labs_table(), table(), sep="\n\n")


if __name__ == "__main__":
    main()
