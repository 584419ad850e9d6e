"""The course repository's address, defined here once, and the tool that writes it where it must appear.

A notebook opened on Colab has nothing of the repository yet, so two places cannot import this module
and carry the address as text: each notebook's "Open in Colab" badge (markdown) and the
`REPOSITORY = "..."` line of its set-up cell, which clones the repository. After changing the address,
for instance in a fork, run from the repository root

    python -m solutions.tooling.repository https://github.com/you/your-fork

which writes it here, in every notebook's badge and set-up cell, and in README.md's badges.
tests/test_notebooks.py fails while any of them differs from `REPOSITORY_URL`.
"""

import re
import sys
from pathlib import Path

REPOSITORY_URL = "https://github.com/rl-course/continuous-control"
BRANCH = "main"

ROOT = Path(__file__).resolve().parents[2]
SETUP_LINE = re.compile(r'^REPOSITORY = "[^"]*"', re.MULTILINE)
BADGE_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^/\s)]+/[^/\s)]+/blob/[^/\s)]+/")


def colab_url(notebook_name, repository_url=REPOSITORY_URL, branch=BRANCH):
    """The address at which Colab opens notebooks/<notebook_name> of the repository."""
    owner_and_name = repository_url.removeprefix("https://github.com/").rstrip("/")
    return f"https://colab.research.google.com/github/{owner_and_name}/blob/{branch}/notebooks/{notebook_name}"


def rewrite(text, repository_url=REPOSITORY_URL, branch=BRANCH):
    """`text` (a notebook's cell or the README) with its badge links and set-up line pointing at the repository."""
    badge_prefix = colab_url("", repository_url, branch).removesuffix("notebooks/")
    text = BADGE_LINK.sub(badge_prefix, text)
    return SETUP_LINE.sub(f'REPOSITORY = "{repository_url}"', text)


def sync(repository_url, root=ROOT):
    """Write `repository_url` into this module, the notebooks and README.md under `root`; list the files changed."""
    import nbformat

    changed = []
    module = root / "solutions" / "tooling" / "repository.py"
    text = module.read_text(encoding="utf-8")
    new = re.sub(r'^REPOSITORY_URL = "[^"]*"', f'REPOSITORY_URL = "{repository_url}"', text, flags=re.MULTILINE)
    if new != text:
        module.write_text(new, encoding="utf-8")
        changed.append(module)
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    if rewrite(text, repository_url) != text:
        readme.write_text(rewrite(text, repository_url), encoding="utf-8")
        changed.append(readme)
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        touched = False
        for cell in notebook.cells:
            new = rewrite(cell.source, repository_url)
            if new != cell.source:
                cell.source, touched = new, True
        if touched:
            nbformat.write(notebook, path)
            changed.append(path)
    return changed


def main(argv):
    if len(argv) != 1 or not argv[0].startswith("https://github.com/"):
        print("usage: python -m solutions.tooling.repository https://github.com/OWNER/NAME")
        return 2
    for path in sync(argv[0].rstrip("/")):
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
