"""The student's path: code written from the exercise statements alone goes through every check and the
whole notebook.

tests/students/<folder>/ holds, for each coding exercise of a notebook, at least two correct
implementations written from the statement in different styles, and one wrong one; a `manifest*.py`
file there names the notebook (NOTEBOOK) and lists them (EXERCISES, one dict per exercise with the
fields of `Exercise` below); several manifests may share a notebook. Three kinds of test:

- every correct implementation passes its check (every property PASS, no FAIL), run after the first
  correct implementation of each earlier exercise of its notebook, as the notebook runs them;
- every wrong implementation gets exactly one FAIL, and that FAIL names its mistake;
- per notebook, one quick-mode run (COURSE_QUICK=1) in which each exercise's attempt cell holds a
  correct implementation (the first of each list) and each exercise's `%load` cells are removed: every
  check passes and the notebook runs to its end, later cells included, on the student's classes.
"""

import contextlib
import importlib.util
import io
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from solutions import checks

ROOT = Path(__file__).resolve().parents[1]
STUDENTS = Path(__file__).resolve().parent / "students"


@dataclass
class Exercise:
    """One coding exercise of a notebook, and the students' implementations of it.

    attempt_cell: the id of the cell where the student writes; load_cells: the ids of the exercise's
    `%load` cells, which the student does not run; check: the check to call, as Python code evaluated
    after a file's code (e.g. "check_td3_agent(td3_agent, QNetwork, policyNetwork)"); correct: files that
    answer the statement, in different styles; wrong: name -> what its one FAIL line must contain, where
    the name is a file of its own, or, for a correct file with one mistake put in, the name of that mistake
    and dict(base=the correct file, replace={correct text: wrong text}, fail=what its FAIL line contains).
    """

    name: str
    attempt_cell: str
    load_cells: list
    check: str
    correct: list
    wrong: dict = field(default_factory=dict)
    folder: Path = None  # the manifest's folder


def manifests():
    """[(notebook file name, its exercises)], from every tests/students/*/manifest*.py; each exercise's
    files are read from its manifest's folder (`exercise.folder`)."""
    by_notebook = {}
    for manifest in sorted(STUDENTS.glob("*/manifest*.py")):
        name = f"students_{manifest.parent.name}_{manifest.stem}"
        spec = importlib.util.spec_from_file_location(name, manifest)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        exercises = [Exercise(**fields, folder=manifest.parent) for fields in module.EXERCISES]
        by_notebook.setdefault(module.NOTEBOOK, []).extend(exercises)
    return sorted(by_notebook.items())


MANIFESTS = manifests()
CASES = [(notebook, exercise) for notebook, exercises in MANIFESTS for exercise in exercises]


def earlier_files(exercise):
    """The first correct file of each exercise before `exercise` in its notebook: what the notebook's
    earlier attempt cells define (a student's networks, before the agent that uses them)."""
    for _, exercises in MANIFESTS:
        if exercise in exercises:
            return [(earlier, earlier.correct[0]) for earlier in exercises[:exercises.index(exercise)]]
    return []


def source_of(exercise, name):
    """The code of an implementation: its file's, or, for a mistake put into a correct file, that file's
    code with the mistake's replacements made (each must be found, so a changed file cannot hide one)."""
    mistake = exercise.wrong.get(name)
    if not isinstance(mistake, dict):
        return (exercise.folder / name).read_text()
    code = (exercise.folder / mistake["base"]).read_text()
    for correct, wrong in mistake["replace"].items():
        assert correct in code, f"{name}: {correct!r} is not in {mistake['base']}"
        code = code.replace(correct, wrong)
    return code


def run_check(exercise, name):
    """(result, printed lines) of the exercise's check after the code of the earlier exercises' first
    correct files and of the implementation `name`, in one namespace, as a notebook would run them."""
    namespace = {"__name__": "__main__"}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        for earlier, file_name in [*earlier_files(exercise), (exercise, name)]:
            code = source_of(earlier, file_name)
            exec(compile(code, str(earlier.folder / file_name), "exec"), namespace)
        result = eval(exercise.check, {**vars(checks), **namespace})
    return result, output.getvalue().splitlines()


def correct_cases():
    return [(exercise, name) for _, exercise in CASES for name in exercise.correct]


def wrong_cases():
    return [(exercise, name, text["fail"] if isinstance(text, dict) else text) for _, exercise in CASES
            for name, text in exercise.wrong.items()]


def test_every_exercise_has_two_correct_implementations_and_a_wrong_one():
    assert MANIFESTS, "no tests/students/*/manifest.py found"
    for notebook, exercise in CASES:
        assert len(exercise.correct) >= 2 and len(exercise.wrong) >= 1, f"{notebook}: {exercise.name}"
        for name in [*exercise.correct, *exercise.wrong]:
            mistake = exercise.wrong.get(name)
            file_name = mistake["base"] if isinstance(mistake, dict) else name
            assert (exercise.folder / file_name).is_file(), f"{exercise.folder / file_name} is missing"


@pytest.mark.parametrize("exercise, name", correct_cases(),
                         ids=[f"{exercise.folder.name}/{name}" for exercise, name in correct_cases()])
def test_a_correct_implementation_passes_its_check(exercise, name):
    result, lines = run_check(exercise, name)
    failures = [line for line in lines if line.startswith("FAIL")]
    assert result is True and not failures, "\n".join(lines)
    assert any(line.startswith("PASS") for line in lines), "\n".join(lines)


@pytest.mark.parametrize("exercise, name, text", wrong_cases(),
                         ids=[f"{exercise.folder.name}/{name}" for exercise, name, _ in wrong_cases()])
def test_a_wrong_implementation_gets_one_fail_that_names_its_mistake(exercise, name, text):
    result, lines = run_check(exercise, name)
    failures = [line for line in lines if line.startswith("FAIL")]
    assert result is False and len(failures) == 1, "\n".join(lines)
    assert text in failures[0], failures[0]


def notebook_with_student_code(notebook, exercises):
    """The committed notebook, each attempt cell holding the first correct implementation, no %load cell."""
    nb = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
    cells = {cell.get("id"): cell for cell in nb.cells}
    removed = set()
    for exercise in exercises:
        assert exercise.attempt_cell in cells, f"{notebook}: no cell {exercise.attempt_cell} ({exercise.name})"
        cells[exercise.attempt_cell].source = (exercise.folder / exercise.correct[0]).read_text()
        for cell_id in exercise.load_cells:
            assert cell_id in cells and cells[cell_id].source.startswith("%load"), f"{notebook}: {cell_id}"
            removed.add(cell_id)
    nb.cells = [cell for cell in nb.cells if cell.get("id") not in removed]
    return nb


@pytest.mark.parametrize("notebook, exercises", MANIFESTS, ids=[notebook for notebook, _ in MANIFESTS])
def test_the_notebook_runs_to_its_end_on_the_students_classes(notebook, exercises, monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = notebook_with_student_code(notebook, exercises)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on the first error
    printed = "".join(output.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                      for output in cell.get("outputs", []) if output.get("output_type") == "stream")
    assert "FAIL " not in printed, printed[-5000:]
    for exercise in exercises:  # each exercise's check cell ran
        assert exercise.check.split("(")[0] in "".join(cell.source for cell in nb.cells), exercise.name
