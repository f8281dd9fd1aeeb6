"""Collection of a class's hand-ins (grading/collect.py): how long `python -m grading collect` takes.

Generates a class of hand-ins in a temporary course, as an instructor would download them into
``downloaded/<lab>/archive/``, then times ``collect.collect`` on them (generation not counted):

* zips of lab 1's notebook with ~1 MiB of outputs (a base64 plot), half of them also holding a
  ``backup/`` copy, a ``.ipynb_checkpoints/`` copy and ``__MACOSX/`` files;
* folders holding the notebook beside a script;
* ``.tar.gz`` archives with the notebook in a sub-folder;
* bad ones: zip bombs of overlapping entries (400 x 1 GiB), a ``.tar.gz`` of 100 MiB of zeros,
  corrupt zips, names that are not attendee ids (``...zip``).

    python benchmarks/bench_collect.py                    # 200 hand-ins
    python benchmarks/bench_collect.py --archives 50 --json out.json

The target (issue 22): 200 hand-ins in under 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import platform
import struct
import sys
import tarfile
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

from grading import collect

ROOT = Path(__file__).resolve().parents[1]
LAB = "lab1_logreg"


def overlapping_zip(entries, size, name=f"{LAB}.ipynb"):
    """A zip bomb of overlapping entries: one deflated member of ``size`` zero bytes, and ``entries``
    directory entries that all point at it (each inflates to ``size``)."""
    packer, crc, chunk = zlib.compressobj(9, zlib.DEFLATED, -15), 0, bytes(2**20)
    parts = []
    for _ in range(size // len(chunk)):
        parts.append(packer.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    data = b"".join(parts) + packer.flush()
    raw = name.encode()
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(data), size, len(raw), 0) + raw + data
    central = b""
    for i in range(entries):
        member = raw if i == 0 else f"copy{i}/{name}".encode()
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(data), size,
                               len(member), 0, 0, 0, 0, 0, 0) + member
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, len(central), len(local), 0)
    return local + central + end





def hand_in_notebook(i):
    nb = json.loads((ROOT / "labs" / LAB / f"{LAB}.ipynb").read_text())
    plot = base64.b64encode(os.urandom(768 * 1024)).decode()  # about 1 MiB, as a PNG output is
    nb["cells"].append({"cell_type": "code", "execution_count": 1, "id": f"plot{i}", "metadata": {},
                        "source": "plot()", "outputs": [{"output_type": "display_data", "metadata": {},
                                                         "data": {"image/png": plot, "text/plain": "<Figure>"}}]})
    return json.dumps(nb, indent=1)


def generate(archive, count):
    """``count`` hand-ins in ``archive``; returns how many of each kind."""
    kinds = {"zip": 0, "zip with copies": 0, "folder": 0, "tar.gz": 0, "bomb": 0, "tar bomb": 0, "broken": 0}
    bomb = overlapping_zip(400, 2**30)
    tar_bomb = io.BytesIO()
    with tarfile.open(fileobj=tar_bomb, mode="w:gz", compresslevel=1) as t:
        info = tarfile.TarInfo("zeros.bin")
        info.size = 100 * 2**20
        t.addfile(info, io.BytesIO(bytes(info.size)))
    for i in range(count):
        name = f"attendee{i:03d}"
        slot = i % 20
        if slot == 0:
            (archive / f"{name}.zip").write_bytes(bomb)
            kinds["bomb"] += 1
        elif slot == 1 and i % 40 == 1:
            (archive / f"{name}.tar.gz").write_bytes(tar_bomb.getvalue())
            kinds["tar bomb"] += 1
        elif slot == 1:
            (archive / (f"{name}.zip" if i != 21 else "...zip")).write_bytes(b"PK\x03\x04 not a zip")
            kinds["broken"] += 1
        elif slot < 5:
            folder = archive / name
            folder.mkdir()
            (folder / f"{LAB}.ipynb").write_text(hand_in_notebook(i))
            (folder / "answers.py").write_text("x = 1\n")
            kinds["folder"] += 1
        elif slot < 8:
            data = hand_in_notebook(i).encode()
            with tarfile.open(archive / f"{name}.tar.gz", "w:gz") as t:
                info = tarfile.TarInfo(f"{LAB}/{LAB}.ipynb")
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            kinds["tar.gz"] += 1
        else:
            with zipfile.ZipFile(archive / f"{name}.zip", "w", compression=zipfile.ZIP_DEFLATED) as z:
                z.writestr(f"{LAB}.ipynb", hand_in_notebook(i))
                if slot % 2:
                    z.writestr(zipfile.ZipInfo(f"backup/{LAB}.ipynb", (2026, 1, 1, 0, 0, 0)), hand_in_notebook(i))
                    z.writestr(f".ipynb_checkpoints/{LAB}-checkpoint.ipynb", hand_in_notebook(i))
                    z.writestr(f"__MACOSX/._{LAB}.ipynb", b"\0\5\26\7")
                    z.writestr(".DS_Store", b"\0" * 6148)
            kinds["zip with copies" if slot % 2 else "zip"] += 1
    return kinds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archives", type=int, default=200, help="hand-ins in the class (default 200)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-collect-") as tmp:
        course = Path(tmp) / "grading"
        archive = course / "downloaded" / LAB / "archive"
        archive.mkdir(parents=True)
        start = time.monotonic()
        kinds = generate(archive, args.archives)
        generated = time.monotonic() - start
        size = sum(p.stat().st_size for p in archive.rglob("*") if p.is_file())
        cpu, start = time.process_time(), time.monotonic()
        record = collect.collect(LAB, course, out=io.StringIO())
        seconds, cpu = time.monotonic() - start, time.process_time() - cpu
        slowest = max(record["collected"].values(), key=lambda c: c["seconds"])
    result = {"archives": args.archives, "kinds": kinds, "bytes_on_disk": size, "generated_s": round(generated, 1),
              "collect_s": round(seconds, 2), "collect_cpu_s": round(cpu, 2), "collected": len(record["collected"]),
              "rejected": len(record["rejected"]), "slowest_hand_in_s": slowest["seconds"],
              "cores": os.cpu_count(), "load_average": os.getloadavg(), "machine": platform.processor() or
              platform.machine(), "python": platform.python_version()}
    print(f"collected {result['collected']} and rejected {result['rejected']} of {args.archives} hand-ins "
          f"({size / 2**20:.0f} MiB on disk) in {seconds:.2f} s ({cpu:.2f} s CPU; slowest hand-in "
          f"{slowest['seconds']:.3f} s; {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0 if seconds < 30 else 1


if __name__ == "__main__":
    sys.exit(main())
