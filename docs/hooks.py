"""The site's math, rendered when the site is built so that pages need no network.

mkdocs runs this file as a hook (``hooks:`` in ``mkdocs.yml``). After each page is
rendered to HTML, ``on_post_page`` converts its LaTeX to MathML with ``latex2mathml``
(browsers draw MathML themselves, no script needed):

- Markdown pages: ``pymdownx.arithmatex`` (``generic: true``) wraps ``$...$`` in
  ``<span class="arithmatex">\\(...\\)</span>`` and ``$$...$$`` in
  ``<div class="arithmatex">\\[...\\]</div>``;
- the notebook page (mkdocs-jupyter) keeps ``$...$`` and ``$$...$$`` as they were
  written, and loads MathJax from an empty ``<script src="">``: that block is removed.

Text inside ``<pre>``, ``<code>``, ``<script>`` and ``<style>`` is never touched. The
functions take and return HTML text, so ``tests/test_docs.py`` checks them directly.
"""

from __future__ import annotations

import html
import re

from latex2mathml.converter import convert

# mkdocs-jupyter's MathJax loader and configuration, from its first comment to its last.
MATHJAX_BLOCK = re.compile(
    r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.DOTALL
)
# What math is never looked for in.
VERBATIM = re.compile(r"(<(pre|code|script|style)\b.*?</\2>)", re.DOTALL | re.IGNORECASE)
ARITHMATEX = re.compile(
    r'<(span|div) class="arithmatex">\s*(?:\\\((.*?)\\\)|\\\[(.*?)\\\])\s*</\1>', re.DOTALL
)
DISPLAY_DOLLARS = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
# $...$ on one line, not $$, not an escaped \$, and not "$5 and $6" (no space inside the ends)
INLINE_DOLLARS = re.compile(r"(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$(?!\$)")
TEXT_ARGUMENT = re.compile(r"\\text\{([^{}]*)\}")


def mathml(latex: str, display: bool) -> str:
    """``latex`` (as it appears in HTML, with entities) as one ``<math>`` element."""
    source = html.unescape(latex).strip()
    source = TEXT_ARGUMENT.sub(lambda m: r"\text{" + m.group(1).replace(r"\_", "_") + "}", source)
    return convert(source, display="block" if display else "inline")


def _convert_text(text: str, dollars: bool) -> str:
    """Math in ``text`` (HTML outside any verbatim element) converted to MathML."""
    text = ARITHMATEX.sub(
        lambda m: (
            mathml(m.group(3), True) if m.group(3) is not None else mathml(m.group(2), False)
        ),
        text,
    )
    if dollars:
        text = DISPLAY_DOLLARS.sub(lambda m: mathml(m.group(1), True), text)
        text = INLINE_DOLLARS.sub(lambda m: mathml(m.group(1), False), text)
    return text


def render_math(page_html: str, dollars: bool = False) -> str:
    """``page_html`` with its math as MathML and no MathJax loader.

    ``dollars`` also converts bare ``$...$`` and ``$$...$$`` (the notebook page, whose
    Markdown cells nbconvert leaves for MathJax).
    """
    page_html = MATHJAX_BLOCK.sub("", page_html)
    parts = VERBATIM.split(page_html)
    # split with two groups gives [text, element, tag name, text, element, tag name, ...]
    out = []
    for i in range(0, len(parts), 3):
        out.append(_convert_text(parts[i], dollars))
        if i + 1 < len(parts):
            out.append(parts[i + 1])
    return "".join(out)


def on_post_page(output: str, page, config) -> str:
    """mkdocs's hook: every page's math rendered; bare dollars only on notebook pages."""
    return render_math(output, dollars=page.file.src_uri.endswith(".ipynb"))
