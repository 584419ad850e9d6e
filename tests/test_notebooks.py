"""Tests of the course notebooks that do not run them, and of the harness that does.

`make test` executes the notebooks by expanding their `%load` cells (tests/notebook_expansion.py)
and running the expanded copies under nbval in quick mode. The tests here check what comes before:
the committed notebooks are clean (no outputs, no execution counts), every `%load` resolves, the
expansion does what Jupyter does, and a broken solution file really makes the nbval run fail.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from notebook_expansion import expand_file, expand_notebook, expand_source, load_target  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def notebook_id(path):
    return path.name


# --- the committed notebooks ---------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_committed_notebook_has_no_outputs_and_no_execution_counts(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{path.name}: code cells {dirty} keep outputs or execution counts; strip them before committing "
        "(jupyter nbconvert --clear-output --inplace, or Edit > Clear Outputs of All Cells and save)."
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_committed_notebook_loads_existing_files(path):
    notebook = nbformat.read(path, as_version=4)
    expand_notebook(notebook, path.parent)  # raises FileNotFoundError on a %load of a missing file


# --- the expansion ---------------------------------------------------------------------------------


def make_notebook(*code_cells):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("A tiny notebook for the tests.")]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in code_cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


@pytest.fixture
def course_tree(tmp_path):
    """A repository in miniature: solutions/answer.py and an empty notebooks/ folder."""
    (tmp_path / "solutions").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "solutions" / "answer.py").write_text("ANSWER = 42\nprint(ANSWER)\n", encoding="utf-8")
    return tmp_path


def test_load_cell_becomes_the_file_text_as_in_jupyter(course_tree):
    source = expand_source("%load ../solutions/answer.py", course_tree / "notebooks")
    assert source == "# %load ../solutions/answer.py\nANSWER = 42\nprint(ANSWER)\n"


def test_other_cells_are_left_alone(course_tree):
    notebooks = course_tree / "notebooks"
    for source in ["x = 1", "", "# %load ../solutions/answer.py\nANSWER = 42\n", "print('%load')"]:
        assert expand_source(source, notebooks) == source
    assert load_target("x = 1\n%load ../solutions/answer.py") is None  # only a first line counts


def test_expand_notebook_copies_and_expands_every_load_cell(course_tree):
    notebook = make_notebook("x = 1", "%load ../solutions/answer.py", "%load ../solutions/answer.py\n")
    expanded = expand_notebook(notebook, course_tree / "notebooks")
    assert [cell.source for cell in expanded.cells[1:]] == [
        "x = 1",
        "# %load ../solutions/answer.py\nANSWER = 42\nprint(ANSWER)\n",
        "# %load ../solutions/answer.py\nANSWER = 42\nprint(ANSWER)\n",
    ]
    assert notebook.cells[2].source == "%load ../solutions/answer.py"  # the original is untouched


def test_missing_loaded_file_raises(course_tree):
    notebook = make_notebook("%load ../solutions/no_such_file.py")
    with pytest.raises(FileNotFoundError, match="no_such_file.py"):
        expand_notebook(notebook, course_tree / "notebooks")


def test_load_with_options_is_refused(course_tree):
    with pytest.raises(ValueError, match="only support"):
        expand_source("%load -r 1-2 ../solutions/answer.py", course_tree / "notebooks")


def test_expand_file_writes_a_copy_under_the_same_name(course_tree):
    path = course_tree / "notebooks" / "tiny.ipynb"
    nbformat.write(make_notebook("%load ../solutions/answer.py"), path)
    out = expand_file(path, course_tree / "build" / "notebooks")
    assert out == course_tree / "build" / "notebooks" / "tiny.ipynb"
    assert nbformat.read(out, as_version=4).cells[1].source.startswith("# %load ../solutions/answer.py\n")
    assert nbformat.read(path, as_version=4).cells[1].source == "%load ../solutions/answer.py"


# --- the harness catches a broken solution -------------------------------------------------------

BREAKAGES = {  # name: (text appended to the solution file, error expected in the nbval report)
    "intact": ("", None),
    "syntax_error": ("\ndef broken(:\n    pass\n", "SyntaxError"),
    "raises": ("\nraise RuntimeError('broken on purpose')\n", "RuntimeError: broken on purpose"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_nbval_run_fails_on_a_broken_solution(tmp_path, breakage):
    """The same pipeline as `make test` (expand, then pytest --nbval-lax) on a copy of a real solution.

    The intact copy must pass (so the check cell does run the loaded code), the broken ones must fail.
    """
    (tmp_path / "solutions").mkdir()
    (tmp_path / "notebooks").mkdir()
    solution = tmp_path / "solutions" / "replay_buffer.py"
    shutil.copy(ROOT / "solutions" / "replay_buffer.py", solution)
    with solution.open("a", encoding="utf-8") as file:
        file.write(BREAKAGES[breakage][0])
    check = (
        "buffer = ReplayBuffer(10)\n"
        "buffer.append([0.0], [1.0], 2.0, [3.0], False)\n"
        "assert len(buffer) == 1"
    )
    notebook = tmp_path / "notebooks" / "tiny.ipynb"
    nbformat.write(make_notebook("# Your code here", "%load ../solutions/replay_buffer.py", check), notebook)
    expanded = expand_file(notebook, tmp_path / "build" / "notebooks")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # keep the project's config out

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", str(expanded)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = run.stdout[-3000:] + run.stderr[-2000:]
    if breakage == "intact":
        assert run.returncode == 0, report
    else:
        assert run.returncode == 1, report  # 1: tests ran and failed (not a usage or collection error)
        assert "failed" in run.stdout, report
        assert BREAKAGES[breakage][1] in re.sub(r"\x1b\[[0-9;]*m", "", run.stdout), report  # no colours
