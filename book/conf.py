"""Sphinx configuration of the course website; book/build.py runs Sphinx with it on the executed notebooks."""

from solutions.tooling.repository import BRANCH, REPOSITORY_URL

project = "Continuous-action deep RL"
author = "The course's authors"
copyright = "2026, the course's authors"

extensions = ["myst_nb", "sphinx-mathjax-offline"]
myst_enable_extensions = ["dollarmath", "amsmath"]
nb_execution_mode = "off"  # book/build.py executes the notebooks, with its own cache
nb_output_stderr = "remove"  # progress bars and library warnings; the checks print to stdout
nb_ipywidgets_js = {}  # book/build.py drops the progress-bar widgets; no widget library from a CDN
exclude_patterns = ["**.ipynb_checkpoints"]

html_theme = "sphinx_book_theme"
html_title = project
html_favicon = "favicon.svg"
html_context = {"default_mode": "light"}
html_theme_options = {
    "repository_url": REPOSITORY_URL,
    "repository_branch": BRANCH,
    "path_to_docs": "notebooks",
    "use_repository_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "show_toc_level": 2,
}

# MathJax 3 from the site itself (the sphinx-mathjax-offline package copies it into _static/): the pages
# typeset their equations with no network.
