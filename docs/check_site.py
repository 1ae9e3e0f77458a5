"""Build the site and check what a reader sees: ``python docs/check_site.py [SITE_DIR]``.

1. ``mkdocs build --strict`` into SITE_DIR (a temporary folder by default), with the
   third-party notices of Material and the mkdocs plugins switched off by their own
   environment variables (``NO_MKDOCS_2_WARNING``, ``DISABLE_MKDOCS_2_WARNING``);
2. every built HTML page checked for math left raw (``$$``, ``\\(``, ``\\[`` outside
   code) and for an empty ``<script src="">`` (a loader that fetches nothing);
3. when Chromium is installed (``apt-get install chromium``), headless screenshots of
   three pages (the walkthrough with its math, an API page, getting started) into
   SITE_DIR/screenshots; without a browser this step says so and is skipped.

Exits 1 naming each page and problem found, 0 otherwise. ``tests/test_docs.py`` uses
``problems`` on the site it builds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUIET_ENV = {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
# name: (page, window height in pixels). The walkthrough's is tall enough to reach its
# first display math (Sigmoid); Chromium's headless screenshot of an #anchor comes out blank.
SCREENSHOTS = {
    "walkthrough": ("learn/notebook/index.html", 8000),
    "api": ("reference/api/layers/index.html", 1600),
    "getting-started": ("getting-started/index.html", 1600),
}
BROWSERS = ("chromium", "chromium-browser", "google-chrome")

VERBATIM = re.compile(r"<(pre|code|script|style|textarea)\b.*?</\1>", re.DOTALL | re.IGNORECASE)
RAW_MATH = re.compile(r"\$\$|\\\(|\\\[")
EMPTY_SCRIPT = re.compile(r"<script\s+src=(\"\"|'')", re.IGNORECASE)


def page_problems(text: str) -> list[str]:
    """What is wrong with one built page's HTML (empty when nothing)."""
    found = []
    if EMPTY_SCRIPT.search(text):
        found.append('an empty <script src="">')
    outside = VERBATIM.sub("", text)
    raw = RAW_MATH.search(outside)
    if raw:
        start = max(0, raw.start() - 40)
        found.append(f"raw math {outside[start : raw.end() + 40]!r}")
    return found


def problems(site: Path) -> list[str]:
    """``"PAGE: PROBLEM"`` for every problem of every HTML page under ``site``."""
    return [
        f"{page.relative_to(site).as_posix()}: {problem}"
        for page in sorted(site.rglob("*.html"))
        for problem in page_problems(page.read_text(encoding="utf-8"))
    ]


def build(site: Path) -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` of this tree's site into ``site``, notices off."""
    env = dict(os.environ, **QUIET_ENV)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)


def browser() -> str | None:
    """The path of an installed Chromium, or None."""
    return next(filter(None, map(shutil.which, BROWSERS)), None)


def screenshot(chrome: str, page: str, png: Path, height: int) -> None:
    """A headless screenshot, 1280 pixels wide, of the URL ``page`` into ``png``."""
    command = [
        chrome,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size=1280,{height}",
        f"--screenshot={png}",
        page,
    ]
    subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)


def main(argv: list[str]) -> int:
    site = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="barenet-site-"))
    result = build(site)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        print(f"mkdocs build --strict failed (exit {result.returncode})", file=sys.stderr)
        return 1
    found = problems(site)
    for line in found:
        print(line, file=sys.stderr)
    chrome = browser()
    if chrome is None:
        print("no Chromium found: screenshots skipped (apt-get install chromium)")
    else:
        shots = site / "screenshots"
        shots.mkdir(exist_ok=True)
        for name, (page, height) in SCREENSHOTS.items():
            screenshot(chrome, (site / page).resolve().as_uri(), shots / f"{name}.png", height)
        print(f"screenshots of {', '.join(SCREENSHOTS)} in {shots}")
    print(f"site built in {site}: {len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
