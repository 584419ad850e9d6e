"""`%load` that also runs what it loads: an IPython extension for the course notebooks.

Each notebook's set-up cell turns it on with `%load_ext solutions.tooling.load_and_run`. From then on, a cell
`%load ../solutions/ddpg.py`
1. shows the file's code, highlighted, in the cell's output (so the student sees what ran even where
   the cell's text cannot be replaced);
2. asks the front end to replace the cell's text by `# %load ../solutions/ddpg.py` and the code, as
   IPython's own `%load` does (the same text: this extension lets IPython's magic compute it, so its
   options -r, -s, -n and its other sources, URLs and history ranges, keep working);
3. runs the code in the notebook's namespace, so that "Run all" and every kernel without a front end
   go through. An error in the loaded code fails the cell, with a traceback into the file.

Running the replaced cell again runs the plain code again, as before. Without the extension (the
student skipped the set-up cell) `%load` is IPython's, which only replaces the text; the check cell
that follows calls `require_loaded(...)`, which then says in one line what to do instead of a
`NameError` traceback.

What each front end does with the `%load` request (looked up for this module, December 2026; the
behaviour of this extension does not depend on any of it):
- IPython's `%load` (IPython/core/magics/code.py) calls `shell.set_next_input(text, replace=True)`
  (the `replace` argument: ipython/ipython#6994); ipykernel sends it as a payload
  {"source": "set_next_input", "text": ..., "replace": true} of the execute_reply, whether the cell
  succeeded or failed (a deprecated part of the messaging protocol that front ends still honour or
  not, one by one). Nothing in it asks to run the text.
- Jupyter Notebook 7 and JupyterLab 4 (the same cell code) replace the cell's text in place, also
  during "Run all", and keep the cell's outputs (jupyterlab/jupyterlab#16626; Notebook 6 cleared
  them). tests/test_browser.py checks this in JupyterLab: after "Restart Kernel and Run All Cells"
  every %load cell holds its file's text and every cell ran.
- VS Code's Jupyter extension did nothing with the payload at first (microsoft/vscode-jupyter#1082,
  #1602: "%load does not work"); it has applied set_next_input since microsoft/vscode-jupyter#4715
  (2021), and with replace=True it replaces the cell's text and keeps its outputs
  (microsoft/vscode-jupyter#15886). Like every front end it does not run the new text.
- Google Colab: `%load` "doesn't seem to do anything" (googlecolab/colabtools#42; #2360, closed as its
  duplicate in 2021, "nothing happens"): the payload is dropped, the cell keeps `%load ...`.
- nbclient, nbconvert --execute, nbval and papermill keep only the outputs: the payload is dropped.
So the code runs in all of them, and its text is in the output wherever the cell is not replaced; in
Jupyter, JupyterLab and VS Code the output shows it a second time, under the replaced cell.
"""

import html
import sys

from IPython import get_ipython
from IPython.core.error import UsageError

_original_load = None  # IPython's %load, kept to compute the text and to restore on unload


def _highlighted(code, title):
    """An HTML block (inline styles: no stylesheet is needed in Colab or VS Code) and a plain-text one."""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        body = highlight(code, PythonLexer(), HtmlFormatter(noclasses=True, style="default"))
    except ImportError:  # pygments comes with IPython; stay readable without it all the same
        body = f"<pre>{html.escape(code)}</pre>"
    lines = code.count("\n") + (not code.endswith("\n"))
    summary = f"Loaded and ran <code>{html.escape(title)}</code> ({lines} lines)"
    return {
        "text/html": f"<details open><summary>{summary}</summary>{body}</details>",
        "text/plain": f"# Loaded and ran {title}\n{code}",
    }


def load_and_run(line):
    """%load [options] source: replace the cell by the source's text (as IPython does) and run it."""
    shell = get_ipython()
    requested = []
    set_next_input = shell.set_next_input
    shell.set_next_input = lambda text, replace=False: requested.append(text)
    try:
        _original_load(line)  # reads the source and builds the text; it asks to replace the cell with it
    finally:
        shell.set_next_input = set_next_input
    if not requested:  # IPython printed why (a symbol not found, a refusal to load a large file)
        return
    text = requested[-1]
    header, _, code = text.partition("\n")  # header: "# %load <line>"
    source = line.split()[-1] if line.split() else "<history>"

    from IPython.display import display

    display(_highlighted(code, source), raw=True)
    set_next_input(text, replace=True)
    # Compiled under the file's name, so a traceback shows the file's own lines and line numbers.
    exec(compile(code, source, "exec"), shell.user_ns)


def require_loaded(*names):
    """Stop the cell with a one-line message if a name that a `%load` cell defines is missing."""
    shell = get_ipython()
    namespace = shell.user_ns if shell is not None else sys.modules["__main__"].__dict__
    missing = [name for name in names if name not in namespace]
    if not missing:
        return
    message = (
        f"{', '.join(missing)} not defined yet: plain %load only shows the solution's code. Run the %load "
        "cell above a second time, or run the set-up cell at the top of the notebook (it makes %load also "
        "run the code)."
    )
    if shell is None:
        raise NameError(message)
    raise UsageError(message)  # IPython shows a UsageError as this one line, with no traceback


def load_ipython_extension(shell):
    global _original_load
    if _original_load is None:
        _original_load = shell.find_line_magic("load")
    shell.register_magic_function(load_and_run, "line", "load")


def unload_ipython_extension(shell):
    if _original_load is not None:
        shell.register_magic_function(_original_load, "line", "load")
