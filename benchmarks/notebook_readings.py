"""What the notebooks printed in one full-mode run: the source of the prose's "in our full-mode run" readings.

    make book                                  # executes every notebook in full mode (build/cache/full/)
    python benchmarks/notebook_readings.py     # writes benchmarks/results/notebook_readings.md

For each notebook executed by `make book` (the copy must be current: same code cells, same package), the
text that each of its cells printed with `print`, under the section it belongs to, the check cells and the
`%load` cells left out (they print the checks' lines and the solutions' code). A student's own run prints
the same lines with their own numbers.
"""

import sys
from datetime import datetime, timezone
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book"))
import build as book  # noqa: E402  (book/build.py)

CACHE = ROOT / "build" / "cache" / "full"
OUT = ROOT / "benchmarks" / "results" / "notebook_readings.md"


def printed(cell):
    return "".join(output.get("text", "") for output in cell.get("outputs", [])
                   if output.get("output_type") == "stream" and output.get("name") == "stdout").rstrip()


def readings(name, package):
    hit = book.cached(name, "full", package)
    if hit is None:
        raise SystemExit(f"error: build/cache/full/ holds no run of {name} as it is now; run `make book` first")
    executed, record = nbformat.read(hit[0], as_version=4), hit[1]
    lines, section = [f"## {name}", "", f"Executed in {record['seconds'] / 60:.1f} min.", ""], "Set-up"
    for cell in executed.cells:
        if cell.cell_type == "markdown":
            headings = [line for line in cell.source.splitlines() if line.startswith("## ")]
            section = headings[-1][3:] if headings else section
            continue
        text = printed(cell)
        if not text or "print(" not in cell.source or cell.source.startswith("%load") or "check_" in cell.source:
            continue
        lines += [f"**{section}**, the cell that begins `{cell.source.splitlines()[0][:80]}`:", "", "```",
                  text, "```", ""]
    return lines


def main():
    package = book.package_digest()
    date = datetime.fromtimestamp(min((CACHE / f"{name}.json").stat().st_mtime for name in book.notebook_names()),
                                  timezone.utc).strftime("%Y-%m-%d")
    lines = ["# What the notebooks printed in one full-mode run", "",
             "Command: `make book`, then `python benchmarks/notebook_readings.py` (this file). "
             f"Each notebook executed alone, top to bottom as committed, on this 2-core CPU ({date}).", ""]
    for name in book.notebook_names():
        lines += readings(name, package)
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
