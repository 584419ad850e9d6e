"""Build the course website: execute the notebooks (cached), then render them with Sphinx and MyST-NB.

    python book/build.py            # full mode: what a student runs (36 min on a 2-core CPU)
    python book/build.py --quick    # quick mode (COURSE_QUICK=1): the same site in minutes
    make book  /  make book QUICK=1

Step 1 executes each notebook of notebooks/ top to bottom, as committed, in a fresh kernel started in
notebooks/ (so that `%load ../solutions/x.py` finds its file), and keeps the executed copy in
build/cache/<mode>/. The copy is reused while its key holds: the notebook's code cells, the bytes of every
file of solutions/, and the mode. A change to the code of one notebook re-executes that notebook only, a
change of its text none; a change to the package re-executes them all, since every notebook runs it.

Step 2 writes book/index.md and each notebook, as it is now with its executed copy's outputs, into
build/book_src/<mode>/, the Colab badge made text links to Colab and to the file on GitHub and the
progress-bar widgets dropped, and runs Sphinx (configuration: book/conf.py) into build/book/. Sphinx's
warnings are errors: a broken cross-reference fails the build.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from solutions.tooling.repository import BRANCH, REPOSITORY_URL, colab_url  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "build"
SITE = BUILD / "book"
BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")
WIDGET = "application/vnd.jupyter.widget-view+json"


def notebook_names():
    return sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))


def package_digest():
    """One digest of every file of solutions/ (a change there changes what every notebook prints)."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "solutions").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def cache_key(path, mode, package):
    """What the outputs of the notebook at `path` depend on: its code cells, the package, the mode. Its text
    does not count: a change of prose re-renders the page with the outputs already computed."""
    notebook = nbformat.read(path, as_version=4)
    code = "\0".join(cell.source for cell in code_cells(notebook))
    return hashlib.sha256(code.encode() + package.encode() + mode.encode()).hexdigest()


def cached(name, mode, package, cache_dir=None):
    """(path of the executed copy, its record: key, seconds, mode) of notebooks/<name> in `mode`, when the
    cache holds one for the notebook's code as it is now; else None."""
    cache_dir = cache_dir or BUILD / "cache" / mode
    executed, record = cache_dir / name, cache_dir / f"{name}.json"
    if not (executed.exists() and record.exists()):
        return None
    record = json.loads(record.read_text())
    return (executed, record) if record["key"] == cache_key(NOTEBOOKS / name, mode, package) else None


def execute(name, mode, cache_dir, package, log=print, fresh=False):
    """The executed copy of notebooks/<name> in `mode`, from the cache or run now (always run when `fresh`).
    Returns (path, seconds it took to execute, whether it came from the cache). A cell that raises stops
    the build (nbclient's CellExecutionError)."""
    hit = None if fresh else cached(name, mode, package, cache_dir)
    if hit is not None:
        return hit[0], hit[1]["seconds"], True
    executed, record = cache_dir / name, cache_dir / f"{name}.json"
    key = cache_key(NOTEBOOKS / name, mode, package)
    log(f"executing {name} in {mode} mode ...")
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    environment = {key: value for key, value in os.environ.items() if key != "COURSE_QUICK"}
    if mode == "quick":
        environment["COURSE_QUICK"] = "1"
    start = time.perf_counter()
    client = NotebookClient(notebook, timeout=None, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / f"{name}.log", "w") as kernel_log:  # what the kernel prints outside its cells (Ray's logs)
        client.execute(env=environment, stdout=kernel_log, stderr=subprocess.STDOUT)
    seconds = round(time.perf_counter() - start, 1)
    nbformat.write(notebook, executed)
    record.write_text(json.dumps({"key": key, "seconds": seconds, "mode": mode}) + "\n")
    log(f"executed {name} in {mode} mode: {seconds:.0f} s")
    return executed, seconds, False


def repository_links(text, name):
    """Markdown `text` of notebooks/<name> with its Colab badge (an image from Colab's site, which a page
    served offline cannot load) as text links to Colab and to the notebook on GitHub."""
    links = (f"[Open in Colab]({colab_url(name)}) · "
             f"[The notebook on GitHub]({REPOSITORY_URL}/blob/{BRANCH}/notebooks/{name})")
    return BADGE.sub(links, text)


def stage(executed, source_dir):
    """Write the pages' sources: index.md, and each notebook as it is now with the outputs of its executed
    copy (same code cells, in the same order), absolute repository links and no progress-bar widgets."""
    if source_dir.exists():
        shutil.rmtree(source_dir)
    source_dir.mkdir(parents=True)
    shutil.copy(ROOT / "book" / "index.md", source_dir / "index.md")
    for name, path in executed.items():
        notebook, executed_copy = nbformat.read(NOTEBOOKS / name, as_version=4), nbformat.read(path, as_version=4)
        for cell, ran in zip(code_cells(notebook), code_cells(executed_copy), strict=True):
            cell.outputs, cell.execution_count = ran.outputs, ran.execution_count
        notebook.metadata = executed_copy.metadata  # the kernel's language_info: IPython's lexer for `!` and `%`
        notebook.metadata.pop("widgets", None)
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                cell.source = repository_links(cell.source, name)
            else:  # progress bars drawn as widgets: live in Jupyter, an empty box on a page
                cell.outputs = [output for output in cell.get("outputs", [])
                                if WIDGET not in output.get("data", {})]
        nbformat.write(notebook, source_dir / name)


def sphinx(source_dir, mode, site):
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", "-E",
               "-c", str(ROOT / "book"), "-d", str(BUILD / "doctrees" / mode), str(source_dir), str(site)]
    subprocess.run(command, check=True)


def build(mode, jobs=1, site=SITE, log=print):
    """Execute (or reuse) every notebook in `mode` and render the site into `site`; returns
    {name: (seconds to execute, whether it came from the cache)}."""
    package = package_digest()
    cache_dir = BUILD / "cache" / mode
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = dict(zip(notebook_names(), pool.map(
            lambda name: execute(name, mode, cache_dir, package, log), notebook_names())))
    stage({name: path for name, (path, _, _) in runs.items()}, BUILD / "book_src" / mode)
    if site.exists():
        shutil.rmtree(site)
    start = time.perf_counter()
    sphinx(BUILD / "book_src" / mode, mode, site)
    log(f"site written to {site} in {time.perf_counter() - start:.0f} s (Sphinx)")
    return {name: (seconds, from_cache) for name, (_, seconds, from_cache) in runs.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="quick mode (COURSE_QUICK=1): small training budgets")
    parser.add_argument("--jobs", type=int, default=1,
                        help="notebooks executed at once (default 1: each runs alone, as a student's would)")
    args = parser.parse_args()
    start = time.perf_counter()
    runs = build("quick" if args.quick else "full", jobs=args.jobs)
    for name, (seconds, from_cache) in runs.items():
        print(f"  {name}: {'cached, ' if from_cache else ''}{seconds:.0f} s to execute")
    print(f"book built in {time.perf_counter() - start:.0f} s: open {SITE.relative_to(ROOT)}/index.html")


if __name__ == "__main__":
    main()
