"""CSP without 'unsafe-inline' for styles (style-src 'self' + a per-response nonce): nothing of ours puts an
inline style on a page.

A scan of the sources themselves, so that a page no crawl reaches (a preview, an error branch, an htmx
fragment) is covered too:

* no template has a `style="…"` attribute (an attribute cannot carry a nonce: use a class in our static CSS,
  `hidden`, or Bootstrap's `d-none`);
* a `<style>` element in a template carries the response's nonce (`{% csp_nonce_attr %}`);
* every template that loads htmx turns off htmx's injected indicator `<style>` (it includes
  `backupchecks/inc/htmx.html`, whose `<meta name="htmx-config">` says `"includeIndicatorStyles": false`);
* no Python module of ours builds HTML with a style attribute or element (format_html, mark_safe);
* no script of ours sets a style attribute or writes markup with one (CSSOM, `element.style.x = …`, is
  allowed by CSP and fine).

tests/e2e/test_csp_no_inline_style.py watches the browser console on every kind of page;
tests/security/test_login_and_headers.py checks the header and the rendered HTML.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("backupchecks", "customers", "runs", "integrations")
TEMPLATES = sorted(path for folder in APPS for path in (ROOT / folder).rglob("templates/**/*.html"))
PYTHON = sorted(
    path
    for folder in APPS
    for path in (ROOT / folder).rglob("*.py")
    if "migrations" not in path.parts and "tests" not in path.parts
)
SCRIPTS = sorted(
    path for folder in APPS for path in (ROOT / folder).rglob("static/**/*.js") if "vendor" not in path.parts
)

#: a style attribute inside a tag, however quoted (style="…", style='…', style=…)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*?\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style\b[^>]*>", re.I)
NONCE = re.compile(r"\{%\s*csp_nonce_attr\s*%\}|nonce=\"\{\{\s*csp_nonce\s*\}\}\"")
LOADS_HTMX = re.compile(r"htmx(\.min)?\.js")
HTMX_WITHOUT_INDICATOR_STYLES = re.compile(
    r"<meta name=\"htmx-config\" content='\{[^']*\"includeIndicatorStyles\":\s*false[^']*\}'>"
)
HTMX_INCLUDE = "backupchecks/inc/htmx.html"
#: markup with a style attribute or element in a Python or JavaScript string literal
STYLE_IN_MARKUP = re.compile(r"""\sstyle\s*=\s*\\?["'{]|<style\b""", re.I)
#: DOM calls that set a style attribute (CSP refuses them); CSSOM (`el.style.display = …`) is allowed
SET_STYLE_ATTRIBUTE = re.compile(r"""setAttribute\(\s*["']style["']|\.attr\(\s*["']style["']""")


def _label(path):
    return str(path.relative_to(ROOT))


def test_the_scan_sees_the_projects_sources():
    assert {"base.html", "run_checks.html", "change_form.html", "htmx.html"} <= {p.name for p in TEMPLATES}
    assert {"views.py", "admin.py"} <= {p.name for p in PYTHON}
    assert {"app.js", "customer_search.js"} <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("path", TEMPLATES, ids=_label)
def test_no_style_attribute_and_no_style_element_without_the_nonce(path):
    text = path.read_text()
    match = STYLE_ATTRIBUTE.search(text)
    assert not match, f"style attribute in {_label(path)}: {match.group(0)!r} — use a class in our static CSS"
    for tag in STYLE_ELEMENT.findall(text):
        assert NONCE.search(tag), f"<style> without {{% csp_nonce_attr %}} in {_label(path)}: {tag!r}"


def test_htmx_is_loaded_only_through_the_include_that_turns_off_its_indicator_style():
    loaders = [_label(p) for p in TEMPLATES if LOADS_HTMX.search(p.read_text())]
    assert loaders == [f"backupchecks/templates/{HTMX_INCLUDE}"], "include backupchecks/inc/htmx.html instead"
    include = ROOT / "backupchecks/templates" / HTMX_INCLUDE
    assert HTMX_WITHOUT_INDICATOR_STYLES.search(include.read_text()), f"{HTMX_INCLUDE} lost its htmx-config"


def test_htmx_indicator_rules_are_in_our_static_css():
    """With the injected <style> off, `.htmx-indicator` must still be hidden until a request runs."""
    for css in (
        "backupchecks/static/backupchecks/app.css",
        "integrations/autotask/static/autotask/mapping.css",
    ):
        text = (ROOT / css).read_text()
        assert re.search(r"\.htmx-indicator\s*\{[^}]*visibility:\s*hidden", text), css
        assert re.search(r"\.htmx-request \.htmx-indicator[^{]*\{[^}]*visibility:\s*visible", text), css


@pytest.mark.parametrize("path", PYTHON, ids=_label)
def test_no_python_module_builds_markup_with_an_inline_style(path):
    match = STYLE_IN_MARKUP.search(path.read_text())
    assert not match, f"inline style in markup built by {_label(path)}: {match.group(0)!r}"


@pytest.mark.parametrize("path", SCRIPTS, ids=_label)
def test_no_script_of_ours_sets_a_style_attribute(path):
    text = path.read_text()
    for pattern in (SET_STYLE_ATTRIBUTE, STYLE_IN_MARKUP):
        match = pattern.search(text)
        assert not match, f"{_label(path)} sets an inline style: {match.group(0)!r} — toggle a class instead"


@pytest.mark.parametrize(
    "snippet",
    [
        '<div class="x" style="display:none">',
        "<span\n  style='color: red'>",
        "<style>.x{}</style>",
        "<style media=screen>",
    ],
)
def test_the_scan_catches_an_inline_style(snippet):
    """The patterns themselves: each of these must be refused (so a green scan means something)."""
    found = STYLE_ATTRIBUTE.search(snippet) or any(
        not NONCE.search(tag) for tag in STYLE_ELEMENT.findall(snippet)
    )
    assert found
    assert not STYLE_ATTRIBUTE.search('<link rel="stylesheet" href="x.css">')
    assert NONCE.search("<style {% csp_nonce_attr %}>")
