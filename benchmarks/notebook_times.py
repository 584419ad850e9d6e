"""How long each notebook takes, top to bottom as committed, in quick and in full mode, run alone.

Each notebook is executed by book/build.py's executor (nbclient, a fresh kernel started in notebooks/; the
executed copy is kept in build/cache/<mode>/ for `make book`), one notebook at a time and nothing else of
ours running, with the environment a student has (no OMP_NUM_THREADS: the set-up cell gives torch the idle
cores); quick mode sets COURSE_QUICK=1. The wall time of the whole notebook,
kernel start included, goes into benchmarks/results/notebook_times.json and .md. A run of one mode
keeps the other mode's figures, so that the long full-mode runs can be made separately:

    python benchmarks/notebook_times.py --modes quick
    python benchmarks/notebook_times.py --modes full          # about 40 min on a 2-core CPU
    python benchmarks/notebook_times.py --modes full --notebooks 02_td3.ipynb

`make book` executes the notebooks with the same executor, one at a time, and records each one's time beside its
executed copy (build/cache/<mode>/); `--from-book-cache` writes those times here instead of running the
notebooks again, so that one full-mode build of the website also measures the notebooks:

    make book && python benchmarks/notebook_times.py --modes full --from-book-cache
"""

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book"))
import build as book  # noqa: E402  (book/build.py: the executor that `make book` uses)

RESULTS = ROOT / "benchmarks" / "results"
NOTEBOOKS = sorted(path.name for path in (ROOT / "notebooks").glob("*.ipynb"))


def run_notebook(name, mode, package):
    """Seconds to execute notebooks/<name> top to bottom in `mode` now, with book/build.py's executor (a fresh
    kernel in notebooks/; the executed copy goes to build/cache/<mode>/, where `make book` finds it), and
    whether it ran without an error."""
    start = time.perf_counter()
    try:
        _, seconds, _ = book.execute(name, mode, ROOT / "build" / "cache" / mode, package, fresh=True)
    except CellExecutionError as error:
        print(str(error)[-3000:], file=sys.stderr)
        return round(time.perf_counter() - start, 1), False
    return seconds, True


def from_book_cache(name, mode, package):
    """(seconds, ok) that `make book` recorded when it executed notebooks/<name> in `mode`, for the notebook
    as it is now; None when its executed copy is missing or stale."""
    hit = book.cached(name, mode, package)
    return None if hit is None else (hit[1]["seconds"], True)


def minutes(seconds):
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def write(results):
    (RESULTS / "notebook_times.json").write_text(json.dumps(results, indent=1) + "\n")
    lines = ["Command: `python benchmarks/notebook_times.py --modes quick` and `--modes full` "
             "(benchmarks/notebook_times.py)", "",
             "Each notebook alone, top to bottom as committed, in a fresh kernel started in notebooks/, with the "
             "environment a student has (torch takes the idle cores); quick mode: `COURSE_QUICK=1`. Each figure says "
             "what executed the notebook: `jupyter nbconvert --execute`, or `make book`, which executes the notebooks "
             "one after another with nbclient and records each one's time (`--from-book-cache`).", "",
             "| notebook | quick mode | full mode |", "|---|---|---|"]
    for name in NOTEBOOKS:
        cells = []
        for mode in ("quick", "full"):
            run = results["runs"].get(name, {}).get(mode)
            if run is None:
                cells.append("not measured yet")
            else:
                failed = "" if run["ok"] else " (failed)"
                how = run.get("how", "jupyter nbconvert --execute")
                cells.append(f"{minutes(run['seconds'])}{failed} ({run['machine']}, {run['date']}, {how})")
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    (RESULTS / "notebook_times.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modes", nargs="+", choices=["quick", "full"], default=["quick", "full"])
    parser.add_argument("--notebooks", nargs="+", choices=NOTEBOOKS, default=NOTEBOOKS)
    parser.add_argument("--from-book-cache", action="store_true",
                        help="take the times that `make book` recorded (build/cache/) instead of running the notebooks")
    args = parser.parse_args()
    path = RESULTS / "notebook_times.json"
    results = json.loads(path.read_text()) if path.exists() else {"runs": {}}
    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"
    os.environ.pop("OMP_NUM_THREADS", None)  # the student's environment, which the kernels inherit
    os.environ.pop("COURSE_QUICK", None)
    package = book.package_digest()
    for mode in args.modes:
        for name in args.notebooks:
            if args.from_book_cache:
                cached = from_book_cache(name, mode, package)
                if cached is None:
                    raise SystemExit(f"error: no executed copy of {name} in {mode} mode for the notebook as it is "
                                     f"now; run `make book{' QUICK=1' if mode == 'quick' else ''}` first")
                seconds, ok = cached
            else:
                seconds, ok = run_notebook(name, mode, package)
            date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
            how = "make book" if args.from_book_cache else "notebook_times.py"
            results["runs"].setdefault(name, {})[mode] = {"seconds": seconds, "ok": ok, "machine": machine,
                                                          "date": date, "how": how}
            print(f"{name}, {mode} mode: {seconds:.0f} s{'' if ok else ' (FAILED)'}", flush=True)
            write(results)


if __name__ == "__main__":
    main()
