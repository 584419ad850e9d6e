"""The course website (`make book`): the quick-mode site builds, and every page works in a real browser.

The module builds the site from quick-mode runs (`book/build.py --quick`; executed notebooks already in
build/cache/quick are reused while their key holds) into build/test_book/, so that a full-mode site in
build/book/ is left alone. It serves the site from 127.0.0.1 on a free port (stopped at the end of the
module), and checks:

- a page per notebook, each with its links to Colab and to the notebook's file in the repository;
- every link, image, script and stylesheet inside the site resolves, fragment included;
- no equation holds prose (a `$` paired with the wrong one);
- in headless Chromium, each page loads with no console error, every equation is typeset by MathJax
  (served by the site itself), every image has loaded and every video can play (its metadata loaded, a duration, no
  media error).

Screenshots of each page, and of a learning curve, an equation block and a video player, are written
under build/test_book_screenshots/. `COURSE_BOOK_SITE=build/book pytest tests/test_book.py` checks the
site that `make book` built instead (screenshots under build/book_screenshots/).
"""

import functools
import html
import http.server
import json
import os
import re
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book"))
import build as book  # noqa: E402  (book/build.py)

# COURSE_BOOK_SITE=build/book checks a site already built (the full-mode one of `make book`) instead.
BUILT_SITE = os.environ.get("COURSE_BOOK_SITE")
SITE = ROOT / (BUILT_SITE or "build/test_book")
SCREENSHOTS = SITE.parent / f"{SITE.name}_screenshots"
NOTEBOOKS = book.notebook_names()
PAGES = ["index.html"] + [name.replace(".ipynb", ".html") for name in NOTEBOOKS]


def test_only_a_change_of_code_or_package_re_executes_a_notebook(tmp_path):
    import nbformat

    path = tmp_path / "part.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Part"),
                                                   nbformat.v4.new_code_cell("x = 1")]), path)
    key = book.cache_key(path, "full", "package")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[0].source = "# Part, reworded"
    nbformat.write(notebook, path)
    assert book.cache_key(path, "full", "package") == key, "a change of text must reuse the executed copy"
    assert book.cache_key(path, "quick", "package") != key
    assert book.cache_key(path, "full", "package, changed") != key
    notebook.cells[1].source = "x = 2"
    nbformat.write(notebook, path)
    assert book.cache_key(path, "full", "package") != key


@pytest.fixture(scope="module")
def site():
    if BUILT_SITE is None:
        book.build("quick", jobs=2, site=SITE)
    assert (SITE / "index.html").is_file(), f"no site in {SITE}: run `make book` first"
    return SITE


@pytest.fixture(scope="module")
def server(site):
    """The site over HTTP on 127.0.0.1; yields its address; stopped after the module's tests."""
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class References(HTMLParser):
    """The ids of a page, and what it points at: (attribute, value) of href and src."""

    def __init__(self):
        super().__init__()
        self.ids, self.targets = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key):
                self.targets.append((tag, attrs[key]))


@functools.cache
def references(path):
    parser = References()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_a_page_per_notebook_with_its_colab_and_repository_links(site):
    for name in NOTEBOOKS:
        page = site / name.replace(".ipynb", ".html")
        assert page.is_file(), f"no page for notebooks/{name}"
        hrefs = {value for tag, value in references(page).targets if tag == "a"}
        colab = book.colab_url(name)
        github = f"{book.REPOSITORY_URL}/blob/{book.BRANCH}/notebooks/{name}"  # solutions/tooling/repository.py
        assert colab in hrefs, f"{page.name} does not link to its notebook on Colab ({colab})"
        assert github in hrefs, f"{page.name} does not link to its notebook in the repository ({github})"
    index_links = {value for tag, value in references(site / "index.html").targets if tag == "a"}
    missing = [page for page in PAGES[1:] if page not in index_links]
    assert not missing, f"the landing page does not link to {missing}"


def test_every_internal_link_and_resource_resolves(site):
    """Every page's links, images, scripts and stylesheets (the theme's template files in _static excluded)."""
    broken = []
    pages = [page for page in sorted(site.rglob("*.html")) if "_static" not in page.relative_to(site).parts]
    for page in pages:
        for tag, value in references(page).targets:
            url = urlparse(value)
            if url.scheme or value.startswith("//"):
                continue  # outside the site: Colab, GitHub, the papers
            target = page if not url.path else (page.parent / unquote(url.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file() or site.resolve() not in target.resolve().parents:
                broken.append(f"{page.relative_to(site)}: <{tag}> {value} (no such file)")
            elif url.fragment and target.suffix == ".html" and unquote(url.fragment) not in references(target).ids:
                broken.append(f"{page.relative_to(site)}: <{tag}> {value} (no such anchor)")
    assert not broken, f"{len(broken)} broken references, e.g.:\n" + "\n".join(broken[:20])


MATH = re.compile(r'<(span|div) class="math notranslate nohighlight">(.*?)</\1>', re.S)
PROSE = re.compile(r"[a-z]{4,} [a-z]{3,} [a-z]{3,}")


def test_no_equation_swallows_prose(site):
    """A `$` paired with the wrong one typesets the prose between two equations as one italic formula."""
    swallowed = []
    for name in NOTEBOOKS:
        page = (site / name.replace(".ipynb", ".html")).read_text(encoding="utf-8")
        for match in MATH.finditer(page):
            formula = re.sub(r"\\(text|mathrm|operatorname|mbox)\{[^}]*\}", "", html.unescape(match.group(2)))
            if PROSE.search(formula):
                swallowed.append(f"{name}: {formula[:100]}")
    assert not swallowed, "equations holding prose (mis-paired $):\n" + "\n".join(swallowed)


WAIT_FOR_MATHJAX_JS = """
const done = arguments[arguments.length - 1];
if (!window.MathJax || !window.MathJax.startup || !window.MathJax.startup.promise) { done(false); return; }
MathJax.startup.promise.then(() => done(true), () => done(false));
"""

PAGE_REPORT_JS = """
const math = Array.from(document.querySelectorAll('span.math, div.math'));
const images = Array.from(document.querySelectorAll('img'));
const videos = Array.from(document.querySelectorAll('video'));
return JSON.stringify({
  math: math.length,
  untypeset: math.filter(m => !m.querySelector('mjx-container') || m.querySelector('mjx-merror'))
                 .map(m => m.textContent.slice(0, 80)),
  images: images.length,
  broken_images: images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src').slice(0, 80)),
  videos: videos.length,
  unplayable_videos: videos.filter(v => v.error || v.readyState < 1 || !(v.duration > 0))
                           .map(v => v.error ? v.error.code : [v.readyState, v.duration]),
});
"""


def console_errors(browser):
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def page_report(browser, limit_s=60):
    """The page's counts, once MathJax has finished and the videos have had time to load their metadata."""
    browser.set_script_timeout(limit_s)
    browser.execute_async_script(WAIT_FOR_MATHJAX_JS)
    deadline = time.monotonic() + limit_s
    while True:
        report = json.loads(browser.execute_script(PAGE_REPORT_JS))
        if not report["unplayable_videos"] or time.monotonic() > deadline:
            return report
        time.sleep(1)


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_typesets_and_shows_its_figures_and_videos(page, server, browser):
    browser.get(urljoin(server, page))
    report = page_report(browser)
    errors = console_errors(browser)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / page.replace(".html", ".png")))
    assert not errors, f"{page}: console errors: {errors}"
    assert not report["untypeset"], f"{page}: equations MathJax did not typeset: {report['untypeset'][:5]}"
    assert not report["broken_images"], f"{page}: images that did not load: {report['broken_images']}"
    assert not report["unplayable_videos"], (f"{page}: videos that cannot play (error code, or readyState and "
                                             f"duration): {report['unplayable_videos']}")
    if page != "index.html":
        assert report["math"] > 0, f"{page}: no equation on the page"
        assert report["images"] > 0, f"{page}: no figure on the page"


# The output image of the first cell that calls plot_learning_curve.
LEARNING_CURVE = ("//div[contains(@class, 'cell') and .//div[contains(@class, 'cell_input')]"
                  "[contains(., 'plot_learning_curve(')]]//div[contains(@class, 'cell_output')]//img")


DISPLAY_EQUATION = "//div[contains(@class, 'math')]"


def element_screenshot(browser, server, page, xpath, name):
    from selenium.webdriver.common.by import By

    browser.get(urljoin(server, page))
    page_report(browser)
    element = browser.find_elements(By.XPATH, xpath)
    assert element, f"{page}: nothing matches {xpath}"
    if xpath == DISPLAY_EQUATION:  # the tallest display equation of the page: a block, not a one-liner
        element = [max(element, key=lambda block: block.size["height"])]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", element[0])
    time.sleep(0.5)
    path = SCREENSHOTS / name
    element[0].screenshot(str(path))
    return path


def test_screenshots_of_a_learning_curve_an_equation_and_a_video(server, browser):
    """The three things a reader comes for, each found on its page and captured as a picture."""
    first = PAGES[1]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = [
        element_screenshot(browser, server, first, LEARNING_CURVE, "learning_curve.png"),
        element_screenshot(browser, server, first, DISPLAY_EQUATION, "equation.png"),
        element_screenshot(browser, server, first, "(//video)[last()]", "video.png"),  # the trained policy
    ]
    for shot in shots:
        assert shot.stat().st_size > 1000, f"{shot} is empty"


def test_the_readme_shows_committed_figures_of_a_few_hundred_kb_at_most():
    """The README, the repository's first page, embeds the committed curves and the policy's animation."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    images = re.findall(r'<img src="([^"]+)"', readme) + re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", readme)
    local = [image for image in images if not urlparse(image).scheme]
    assert any(image.endswith(".gif") for image in local), "the README shows no animation of a trained policy"
    assert sum(image.endswith(".png") for image in local) >= 2, "the README shows fewer than two learning curves"
    for image in local:
        path = ROOT / image
        assert path.is_file(), f"README.md embeds {image}, which is not in the repository"
        assert path.stat().st_size < 500_000, f"{image} is {path.stat().st_size / 1e3:.0f} kB; keep it under 500 kB"
