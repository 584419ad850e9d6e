"""Notebook 1 as a student runs it: JupyterLab in a real browser, "Restart Kernel and Run All Cells".

The test starts JupyterLab on a free port of 127.0.0.1 (a token, no browser of its own) over a copy of
notebook 1 and of solutions/*.py (the server autosaves; the committed notebook stays clean), drives
Debian's Chromium headless with Selenium (`make browser` installs Chromium and its driver), runs the command
`notebook:restart-run-all` in quick mode (COURSE_QUICK=1), waits until the kernel is idle and every
code cell has run, and asserts that no cell shows an error and that each `%load` cell now holds the
text of its file: the front end applied the replace request of solutions/tooling/load_and_run.py, and the code
ran. It saves a screenshot in build/browser_01_dpg_ddpg.png (the first %load cell, or the first error)
and stops the server.

A broken solution file fails it: copy the repository, append `raise RuntimeError("broken")` to its
solutions/replay_buffer.py and run this test there.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "01_dpg_ddpg.ipynb"
RUN_ALL_LIMIT_S = 1200  # quick mode takes a few minutes; the machine may be busy
SCREENSHOT = ROOT / "build" / "browser_01_dpg_ddpg.png"

# The notebook as the front end holds it, read from JupyterLab's own model (window.jupyterapp, exposed
# by --LabApp.expose_app_in_browser): cells are virtualised in the page, the model holds them all.
READ_NOTEBOOK_JS = """
if (!window.jupyterapp || !window.jupyterapp.shell) { return null; }
const panel = Array.from(window.jupyterapp.shell.widgets('main'))
  .find(w => w.context && w.context.path.endsWith(arguments[0]));
if (!panel || !panel.content || !panel.content.model || !panel.sessionContext.session) { return null; }
const kernel = panel.sessionContext.session.kernel;
const cells = [];
for (const cell of panel.content.model.cells) {
  cells.push({type: cell.type, source: cell.sharedModel.getSource(),
              execution_count: cell.type === 'code' ? cell.executionCount : null,
              outputs: cell.type === 'code' ? cell.outputs.toJSON() : []});
}
return JSON.stringify({kernel: kernel ? kernel.status : null, cells: cells});
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def lab_server(tmp_path):
    """JupyterLab over a copy of notebook 1 and the solution files; yields (url, token); stops it after."""
    for folder in ("notebooks", "solutions", "videos"):
        (tmp_path / folder).mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, tmp_path / "notebooks" / NOTEBOOK)
    for path in (ROOT / "solutions").glob("*.py"):
        shutil.copy(path, tmp_path / "solutions" / path.name)
    port, token = free_port(), "browser-test-token"
    env = dict(
        os.environ,
        COURSE_QUICK="1",
        OMP_NUM_THREADS="1",
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
    )
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={tmp_path}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=", "--allow-root", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n" + (tmp_path / "server.log").read_text()) from None
                time.sleep(1)
        yield url, token
    finally:
        stop(server)
        log.close()


def stop(server):
    """Stop the server and the kernels it started (its process group)."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def wait_for(condition, limit_s, what, state=lambda: "", poll_s=2):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {limit_s} s waiting for {what}; {state()}")


SCROLL_TO_CELL_JS = """
const panel = Array.from(window.jupyterapp.shell.widgets('main'))
  .find(w => w.context && w.context.path.endsWith(arguments[0]));
panel.content.activeCellIndex = arguments[1];
panel.content.scrollToItem(arguments[1], 'start');
"""

PAGE_STATE_JS = """
const app = window.jupyterapp, widget = app && app.shell && app.shell.currentWidget;
const main = app && app.shell ? Array.from(app.shell.widgets('main')).map(w => w.title.label) : [];
const dialogs = Array.from(document.querySelectorAll('.jp-Dialog')).map(d => d.innerText.slice(0, 200));
return JSON.stringify({title: document.title, app: !!app, widget: widget ? widget.title.label : null, main, dialogs});
"""


def read_notebook(driver):
    text = driver.execute_script(READ_NOTEBOOK_JS, NOTEBOOK)
    return json.loads(text) if text else None


def error_outputs(cells):
    """(cell index, 'Name: message') of each error output."""
    return [
        (index, f"{output['ename']}: {output['evalue']}")
        for index, cell in enumerate(cells)
        for output in cell["outputs"]
        if output.get("output_type") == "error"
    ]


def run_all(browser):
    """Wait for the notebook's kernel, run "Restart Kernel and Run All Cells", return the notebook when done."""
    from selenium.webdriver.common.by import By

    page = lambda: "page: " + browser.execute_script(PAGE_STATE_JS)  # noqa: E731
    wait_for(lambda: (read_notebook(browser) or {}).get("kernel") == "idle", 60, "the notebook and its kernel", page)
    # The command acts on the current notebook: make ours current (a headless window may have no focus).
    browser.execute_script(
        "const app = window.jupyterapp;"
        "const panel = Array.from(app.shell.widgets('main'))"
        "  .find(w => w.context && w.context.path.endsWith(arguments[0]));"
        "app.shell.activateById(panel.id);"
        "app.commands.execute('notebook:restart-run-all');",
        NOTEBOOK,
    )
    accept = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".jp-Dialog .jp-mod-accept"), 30,
                      "the restart dialog", page)
    accept[0].click()

    def finished():
        notebook = read_notebook(browser)
        if not notebook or notebook["kernel"] != "idle":
            return None
        code = [cell for cell in notebook["cells"] if cell["type"] == "code"]
        if error_outputs(notebook["cells"]) or all(cell["execution_count"] for cell in code):
            return notebook  # done, or stopped at an error (Run all stops there)
        return None

    time.sleep(5)  # let the restart begin: the kernel is idle before it too
    return wait_for(finished, RUN_ALL_LIMIT_S, "Run all to finish", page)


def test_restart_and_run_all_in_jupyterlab(lab_server, browser, tmp_path):
    url, token = lab_server
    browser.get(f"{url}/lab/tree/notebooks/{NOTEBOOK}?token={token}")
    committed = nbformat.read(ROOT / "notebooks" / NOTEBOOK, as_version=4)
    load_cells = {
        index: cell.source.split()[1]
        for index, cell in enumerate(committed.cells)
        if cell.cell_type == "code" and cell.source.startswith("%load ")
    }
    assert load_cells, "notebook 1 has no %load cell left to test"
    try:
        notebook = run_all(browser)
    finally:
        SCREENSHOT.parent.mkdir(exist_ok=True)
        errors = error_outputs((read_notebook(browser) or {"cells": []})["cells"])
        shown = errors[0][0] if errors else min(load_cells)  # the first error, or the first %load cell
        browser.execute_script(SCROLL_TO_CELL_JS, NOTEBOOK, shown)
        time.sleep(1)
        browser.save_screenshot(str(SCREENSHOT))

    cells = notebook["cells"]
    assert not error_outputs(cells), f"cells with an error: {error_outputs(cells)}"
    not_run = [index for index, cell in enumerate(cells) if cell["type"] == "code" and not cell["execution_count"]]
    assert not not_run, f"code cells that did not run: {not_run}"
    counts = [cell["execution_count"] for cell in cells if cell["type"] == "code"]
    assert counts == list(range(1, len(counts) + 1)), f"not one fresh run top to bottom: {counts}"
    for index, relative_path in load_cells.items():
        text = (tmp_path / "notebooks" / relative_path).read_text(encoding="utf-8")
        assert cells[index]["source"] == f"# %load {relative_path}\n{text}", (
            f"cell {index} does not hold the text of {relative_path}: {cells[index]['source'][:200]!r}"
        )
        shown = "".join("".join(output.get("data", {}).get("text/plain", "")) for output in cells[index]["outputs"])
        assert re.sub(r"\s+", " ", text.strip())[:200] in re.sub(r"\s+", " ", shown), (
            f"cell {index}'s output does not show the code of {relative_path}"
        )
