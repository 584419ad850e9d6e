"""How long each notebook takes, top to bottom as committed, in quick and in full mode, run alone.

Each notebook is executed by `jupyter nbconvert --execute` in a fresh kernel, one notebook at a time
and nothing else of ours running, with the environment a student has (no OMP_NUM_THREADS: the set-up
cell gives torch the idle cores); quick mode sets COURSE_QUICK=1. The wall time of the whole notebook,
kernel start included, goes into benchmarks/results/notebook_times.json and .md. A run of one mode
keeps the other mode's figures, so that the long full-mode runs can be made separately:

    python benchmarks/notebook_times.py --modes quick
    python benchmarks/notebook_times.py --modes full          # about 1.5 hours on a 2-core CPU
    python benchmarks/notebook_times.py --modes full --notebooks 02_td3.ipynb

`make book` executes the notebooks the same way, one at a time, and records each one's time beside its
executed copy (build/cache/<mode>/); `--from-book-cache` writes those times here instead of running the
notebooks again, so that one full-mode build of the website also measures the notebooks:

    make book && python benchmarks/notebook_times.py --modes full --from-book-cache
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
NOTEBOOKS = sorted(path.name for path in (ROOT / "notebooks").glob("*.ipynb"))


def run_notebook(name, mode, executed_dir=None):
    """Seconds to execute notebooks/<name> top to bottom in `mode`, and whether it ran without an error.
    The executed notebook, with its outputs, is kept in `executed_dir` when one is given."""
    environment = {key: value for key, value in os.environ.items() if key not in ("OMP_NUM_THREADS", "COURSE_QUICK")}
    if mode == "quick":
        environment["COURSE_QUICK"] = "1"
    with tempfile.TemporaryDirectory() as temporary:
        out = executed_dir or temporary
        command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                   "--ExecutePreprocessor.timeout=-1", "--output-dir", out, str(ROOT / "notebooks" / name)]
        start = time.perf_counter()
        run = subprocess.run(command, cwd=ROOT / "notebooks", env=environment, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if run.returncode != 0:
        print(run.stderr[-3000:], file=sys.stderr)
    return round(seconds, 1), run.returncode == 0


def from_book_cache(name, mode):
    """(seconds, ok) that `make book` recorded when it executed notebooks/<name> in `mode`, for the notebook
    as it is now; None when its executed copy is missing or stale."""
    sys.path.insert(0, str(ROOT / "book"))
    import build as book

    record = ROOT / "build" / "cache" / mode / f"{name}.json"
    if not record.exists():
        return None
    record = json.loads(record.read_text())
    if record["key"] != book.cache_key(ROOT / "notebooks" / name, mode, book.package_digest()):
        return None
    return record["seconds"], True


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
    parser.add_argument("--executed-dir", help="keep the executed notebooks, with their outputs, in this folder")
    parser.add_argument("--from-book-cache", action="store_true",
                        help="take the times that `make book` recorded (build/cache/) instead of running the notebooks")
    args = parser.parse_args()
    path = RESULTS / "notebook_times.json"
    results = json.loads(path.read_text()) if path.exists() else {"runs": {}}
    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"
    for mode in args.modes:
        for name in args.notebooks:
            if args.from_book_cache:
                cached = from_book_cache(name, mode)
                if cached is None:
                    raise SystemExit(f"error: no executed copy of {name} in {mode} mode for the notebook as it is "
                                     f"now; run `make book{' QUICK=1' if mode == 'quick' else ''}` first")
                seconds, ok = cached
            else:
                seconds, ok = run_notebook(name, mode, args.executed_dir)
            date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
            how = "make book (book/build.py)" if args.from_book_cache else "jupyter nbconvert --execute"
            results["runs"].setdefault(name, {})[mode] = {"seconds": seconds, "ok": ok, "machine": machine,
                                                          "date": date, "how": how}
            print(f"{name}, {mode} mode: {seconds:.0f} s{'' if ok else ' (FAILED)'}", flush=True)
            write(results)


if __name__ == "__main__":
    main()
