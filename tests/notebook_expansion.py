"""Expand the `%load` cells of the course notebooks, as Jupyter does when a student runs them.

In Jupyter, running a cell whose first line is `%load ../solutions/ddpg.py` replaces the whole
cell with `# %load ../solutions/ddpg.py`, a newline, and the text of the file; the student then
runs the cell again to execute the solution. A kernel with no front end (nbval, nbconvert) only
performs the first half: the magic asks for the replacement, nobody makes it, and the solution
never runs. So the notebook tests first write expanded copies, in which each such cell already
holds the file's text, then execute those copies.

Usage, from the repository root:

    python tests/notebook_expansion.py build/notebooks notebooks/*.ipynb

writes build/notebooks/<name>.ipynb for each notebook. Keep the output folder at the same depth as
notebooks/ (build/notebooks), so that relative paths such as ../videos still point somewhere
sensible (build/videos).
"""

import copy
import shlex
import sys
from pathlib import Path

import nbformat

LOAD_MAGIC = "%load"


def load_target(source):
    """(argument, path) for a cell whose first line is `%load PATH`, None for any other cell.

    `argument` is the text after `%load`, as Jupyter copies it into the comment line; `path` is the
    file it names (quotes removed).
    """
    lines = source.splitlines()
    if not lines:
        return None
    first = lines[0].strip()
    if first != LOAD_MAGIC and not first.startswith(LOAD_MAGIC + " "):
        return None  # not %load (a commented `# %load` line, an already expanded cell, is left alone)
    argument = first[len(LOAD_MAGIC) :].strip()
    words = shlex.split(argument)
    if len(words) != 1 or words[0].startswith("-"):
        raise ValueError(
            f"Cannot expand '{first}': the notebook tests only support `%load PATH` with one path and no "
            "option (-r, -s, -n, -y)."
        )
    return argument, words[0]


def expand_source(source, notebook_dir):
    """The text Jupyter puts in a `%load PATH` cell: '# %load PATH', a newline, the file's text.

    PATH is resolved against `notebook_dir` (the kernel's working directory). A missing file raises
    FileNotFoundError naming the cell and the path it resolved to: a notebook whose solution cannot
    be loaded must not pass its tests by running nothing.
    """
    target = load_target(source)
    if target is None:
        return source
    argument, relative_path = target
    path = Path(notebook_dir) / relative_path
    if not path.is_file():
        raise FileNotFoundError(
            f"The cell '%load {argument}' of a notebook in {notebook_dir} loads {path.resolve()}, "
            "which does not exist."
        )
    return f"# %load {argument}\n" + path.read_text(encoding="utf-8")


def expand_notebook(notebook, notebook_dir):
    """A copy of `notebook` (an nbformat node) with every `%load` code cell expanded."""
    expanded = copy.deepcopy(notebook)
    for cell in expanded.cells:
        if cell.cell_type == "code":
            cell.source = expand_source(cell.source, notebook_dir)
    return expanded


def expand_file(notebook_path, out_dir):
    """Write the expanded copy of `notebook_path` into `out_dir`, under the same name; return its path."""
    notebook_path = Path(notebook_path)
    notebook = nbformat.read(notebook_path, as_version=4)
    expanded = expand_notebook(notebook, notebook_path.parent)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out_path = out_dir / notebook_path.name
    nbformat.write(expanded, out_path)
    return out_path


def main(argv):
    if len(argv) < 2:
        print("usage: python tests/notebook_expansion.py OUT_DIR NOTEBOOK.ipynb [NOTEBOOK.ipynb ...]")
        return 2
    out_dir, notebooks = argv[0], argv[1:]
    for notebook_path in notebooks:
        print(f"expanded {notebook_path} -> {expand_file(notebook_path, out_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
