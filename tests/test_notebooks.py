"""Tests of the course notebooks that do not run them whole, and of what makes them run as committed.

`make test` runs the committed notebooks themselves under nbval in quick mode; tests/test_browser.py
runs notebook 1 in JupyterLab. The tests here check what that relies on: the committed notebooks are
clean and their `%load` cells name existing files; each set-up cell turns on solutions/tooling/load_and_run.py
and carries the repository address of solutions/tooling/repository.py, as each Colab badge does; the extension
runs what `%load` loads and still asks the front end to replace the cell; a check cell explains in one
line what to do when plain `%load` ran; and a broken solution file makes the nbval run fail.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

from solutions.tooling import repository

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXTENSION_LINE = "%load_ext solutions.tooling.load_and_run"


def notebook_id(path):
    return path.name


def setup_cell(notebook):
    cells = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.startswith("# Set-up.")]
    assert len(cells) == 1, "expected one set-up cell, starting with '# Set-up.'"
    return cells[0]


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
    targets = [cell.source.split()[1] for cell in notebook.cells if cell.source.startswith("%load ")]
    missing = [target for target in targets if not (path.parent / target).is_file()]
    assert not missing, f"{path.name} loads files that do not exist: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_setup_cell_turns_on_load_and_run_before_any_load(path):
    notebook = nbformat.read(path, as_version=4)
    setup = setup_cell(notebook)
    assert EXTENSION_LINE in setup.source.splitlines(), f"{path.name}: the set-up cell lacks `{EXTENSION_LINE}`"
    code_sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    first_load = next((i for i, source in enumerate(code_sources) if source.startswith("%load ")), None)
    assert first_load is None or code_sources.index(setup.source) < first_load


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_cell_after_each_load_says_what_to_do_when_plain_load_ran(path):
    """Without the set-up cell, `%load` defines nothing: the next cell must say so in one line."""
    code = [
        cell.source
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "code" and not all(line.startswith("#") for line in cell.source.split("\n") if line)
    ]  # code cells other than the comment-only "# Your code here" ones
    unguarded = [
        code[i + 1].splitlines()[0]
        for i, source in enumerate(code[:-1])
        if source.startswith("%load ") and not code[i + 1].startswith("%load ") and "require_loaded(" not in code[i + 1]
    ]
    assert not unguarded, (
        f"{path.name}: these cells follow a %load cell without `require_loaded(...)` of the names they use: {unguarded}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_badge_and_setup_cell_carry_the_repository_address(path):
    notebook = nbformat.read(path, as_version=4)
    assert f'REPOSITORY = "{repository.REPOSITORY_URL}"' in setup_cell(notebook).source, (
        f"{path.name}: the set-up cell's address differs from solutions/tooling/repository.py; "
        "run `python -m solutions.tooling.repository URL`"
    )
    assert f"]({repository.colab_url(path.name)})" in notebook.cells[0].source, (
        f"{path.name}: the Colab badge does not open {repository.colab_url(path.name)}; "
        "run `python -m solutions.tooling.repository URL`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_top_cell_states_the_running_time(path):
    top = nbformat.read(path, as_version=4).cells[0].source
    assert re.search(r"quick mode\s+\(`COURSE_QUICK=1`\) \d+ (min|s)\b", top), (
        f"{path.name}: the top cell must state the measured running time in quick mode"
    )
    assert re.search(r"full mode about\s+\d+\s+min", top), (
        f"{path.name}: the top cell must state the measured running time in full mode "
        "(measured with jupyter nbconvert --to notebook --execute)"
    )


# --- length and table of contents ----------------------------------------------------------------

WORD_LIMIT = 600  # words per markdown cell: a screen or two of reading between two cells to run
NUMBER = re.compile(r"^\d+(\.\d+)*\.?\s+")


def long_markdown_cells(notebook, limit=WORD_LIMIT):
    """[(cell index, words)] of the markdown cells over `limit` words."""
    return [(index, len(cell.source.split())) for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "markdown" and len(cell.source.split()) > limit]


def missing_from_contents(notebook):
    """The level-2 headings (`## ...`, leading number dropped) that the `**Contents.**` paragraph of the
    first markdown cell does not name; None when there is no such paragraph."""
    markdown = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    paragraphs = re.split(r"\n\s*\n", markdown[0]) if markdown else []
    contents = next((p for p in paragraphs if p.lstrip().startswith("**Contents.**")), None)
    if contents is None:
        return None
    contents = " ".join(contents.split())
    titles = [NUMBER.sub("", line[3:].strip()) for source in markdown for line in source.splitlines()
              if line.startswith("## ")]
    return [title for title in titles if " ".join(title.split()) not in contents]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_no_markdown_cell_is_over_the_length_limit(path):
    long = long_markdown_cells(nbformat.read(path, as_version=4))
    assert not long, (f"{path.name}: markdown cells over {WORD_LIMIT} words, as (cell index, words): {long}; "
                      "cut them, or split them at a heading")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_opens_with_a_table_of_contents_naming_every_section(path):
    missing = missing_from_contents(nbformat.read(path, as_version=4))
    assert missing is not None, f"{path.name}: the top cell has no paragraph starting with **Contents.**"
    assert not missing, f"{path.name}: the **Contents.** paragraph of the top cell does not name {missing}"


def test_the_length_and_contents_checks_fail_on_a_notebook_that_breaks_them():
    new_markdown = nbformat.v4.new_markdown_cell
    notebook = nbformat.v4.new_notebook(cells=[
        new_markdown("# Part 9\n\n**Contents.** 1 The idea · 2 Key equations"),
        new_markdown("## 1. The idea\n\n" + "word " * 601),
        new_markdown("## 2. Key equations"),
        new_markdown("## 3. Pseudo-code"),
    ])
    assert long_markdown_cells(notebook) == [(1, 605)]
    assert missing_from_contents(notebook) == ["Pseudo-code"]
    notebook.cells[0].source = "# Part 9\n\nNo table here."
    assert missing_from_contents(notebook) is None


def test_repository_sync_rewrites_every_copy_of_the_address(tmp_path):
    for folder in ("solutions/tooling", "notebooks"):
        (tmp_path / folder).mkdir(parents=True)
    module = Path("solutions") / "tooling" / "repository.py"
    shutil.copy(ROOT / module, tmp_path / module)
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    for path in NOTEBOOKS:
        shutil.copy(path, tmp_path / "notebooks" / path.name)
    fork = "https://github.com/someone/fork-of-the-course"

    changed = repository.sync(fork, root=tmp_path)

    assert tmp_path / module in changed
    assert f'REPOSITORY_URL = "{fork}"' in (tmp_path / module).read_text()
    for path in NOTEBOOKS:
        notebook = nbformat.read(tmp_path / "notebooks" / path.name, as_version=4)
        assert f'REPOSITORY = "{fork}"' in setup_cell(notebook).source
        assert f"]({repository.colab_url(path.name, fork)})" in notebook.cells[0].source
        assert repository.REPOSITORY_URL.removeprefix("https://github.com/") not in str(notebook)


# --- the extension, in a real kernel ---------------------------------------------------------------


@pytest.fixture(scope="module")
def kernel():
    manager, client = start_new_kernel(kernel_name="python3")
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def execute(client, code):
    """(execute_reply content, outputs) of `code` run in the kernel."""
    outputs = []
    reply = client.execute_interactive(code, timeout=120, output_hook=lambda msg: outputs.append(msg))
    return reply["content"], [msg for msg in outputs if msg["msg_type"] in ("stream", "display_data", "error")]


def printed(outputs):
    """Everything the kernel printed: a busy kernel may send one print in several stream messages."""
    return "".join(msg["content"]["text"] for msg in outputs if msg["msg_type"] == "stream")


@pytest.fixture
def answer_file(tmp_path):
    path = tmp_path / "answer.py"
    path.write_text('"""A solution."""\n\n\nclass Answer:\n    value = 42\n', encoding="utf-8")
    return path


def test_plain_load_only_asks_for_the_text_and_the_check_says_what_to_do(kernel, answer_file):
    execute(kernel, "%reset -f")
    reply, _ = execute(kernel, f"%load {answer_file}")
    assert reply["payload"] == [
        {"source": "set_next_input", "text": f"# %load {answer_file}\n{answer_file.read_text()}", "replace": True}
    ]
    reply, outputs = execute(kernel, "from solutions.tooling.load_and_run import require_loaded\n"
                                     "require_loaded('Answer')")
    assert reply["status"] == "error" and reply["ename"] == "UsageError"
    stderr = printed(outputs)
    assert stderr.strip().count("\n") == 0, stderr  # one line, no traceback
    assert "Answer not defined yet" in stderr and "set-up cell" in stderr and "a second time" in stderr


def test_load_and_run_runs_shows_and_still_replaces_the_cell(kernel, answer_file):
    execute(kernel, "%reset -f")
    execute(kernel, EXTENSION_LINE)
    reply, outputs = execute(kernel, f"%load {answer_file}")
    assert reply["status"] == "ok"
    assert reply["payload"] == [
        {"source": "set_next_input", "text": f"# %load {answer_file}\n{answer_file.read_text()}", "replace": True}
    ]
    (shown,) = [msg["content"]["data"] for msg in outputs if msg["msg_type"] == "display_data"]
    assert "class" in shown["text/html"] and "Answer" in shown["text/html"]  # highlighted: split into spans
    assert answer_file.read_text() in shown["text/plain"]
    reply, outputs = execute(kernel, "from solutions.tooling.load_and_run import require_loaded\n"
                                     "require_loaded('Answer')\nprint(Answer.value)")
    assert reply["status"] == "ok" and outputs[0]["content"]["text"] == "42\n"


def test_load_and_run_fails_the_cell_on_an_error_in_the_file(kernel, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("x = 1\nraise RuntimeError('broken on purpose')\n", encoding="utf-8")
    execute(kernel, EXTENSION_LINE)
    reply, outputs = execute(kernel, f"%load {broken}")
    assert reply["status"] == "error" and reply["evalue"] == "broken on purpose"
    assert reply["payload"][0]["replace"] is True  # the student still gets the code to fix in the cell
    traceback = "\n".join(outputs[-1]["content"]["traceback"])
    assert str(broken) in re.sub(r"\x1b\[[0-9;]*m", "", traceback)  # the traceback points into the file


def test_load_and_run_keeps_ipython_options(kernel, answer_file):
    execute(kernel, "%reset -f")
    execute(kernel, EXTENSION_LINE)
    reply, _ = execute(kernel, f"%load -s Answer {answer_file}")
    assert reply["status"] == "ok"
    assert reply["payload"][0]["text"] == f"# %load -s Answer {answer_file}\nclass Answer:\n    value = 42\n"
    reply, outputs = execute(kernel, "print(Answer.value)")
    assert printed(outputs) == "42\n"


# --- the nbval pipeline catches a broken solution ------------------------------------------------

BREAKAGES = {  # name: (text appended to the solution file, error expected in the nbval report)
    "intact": ("", None),
    "syntax_error": ("\ndef broken(:\n    pass\n", "SyntaxError"),
    "raises": ("\nraise RuntimeError('broken on purpose')\n", "RuntimeError: broken on purpose"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_nbval_run_fails_on_a_broken_solution(tmp_path, breakage):
    """`make test`'s nbval run, on a notebook in the committed form: set-up cell, attempt, %load, check.

    No expansion: the %load cell runs through the extension, as in every notebook. The intact copy must
    pass (so the check cell does run the loaded code), the broken ones must fail.
    """
    (tmp_path / "solutions").mkdir()
    (tmp_path / "notebooks").mkdir()
    solution = tmp_path / "solutions" / "replay_buffer.py"
    shutil.copy(ROOT / "solutions" / "replay_buffer.py", solution)
    with solution.open("a", encoding="utf-8") as file:
        file.write(BREAKAGES[breakage][0])
    check = (
        "from solutions.tooling.load_and_run import require_loaded\n\n"
        "require_loaded('ReplayBuffer')\n"
        "buffer = ReplayBuffer(10)\n"
        "buffer.append([0.0], [1.0], 2.0, [3.0], False)\n"
        "assert len(buffer) == 1"
    )
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [
        nbformat.v4.new_code_cell(source)
        for source in (EXTENSION_LINE, "# Your code here", "%load ../solutions/replay_buffer.py", check)
    ]
    path = tmp_path / "notebooks" / "tiny.ipynb"
    nbformat.write(notebook, path)
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # keep the project's config out

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = run.stdout[-3000:] + run.stderr[-2000:]
    if breakage == "intact":
        assert run.returncode == 0, report
        assert "4 passed" in run.stdout, report
    else:
        assert run.returncode == 1, report  # 1: tests ran and failed (not a usage or collection error)
        assert "failed" in run.stdout, report
        assert BREAKAGES[breakage][1] in re.sub(r"\x1b\[[0-9;]*m", "", run.stdout), report  # no colours
