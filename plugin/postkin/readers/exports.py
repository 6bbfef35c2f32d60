"""Analytics exports -> page views per path. They give counts per page, never sessions, so they feed
the "most popular" lists and not the co-view model.

Recognised by their header (a ZIP is searched for the file named):

| product | file | page column | count column |
|---|---|---|---|
| Google Analytics 4, "Pages and screens" report, Share > Download CSV | `# ...` comment lines, then | \
  `Page path and screen class` (or `Page path`, `Page path + query string`) | `Views` |
| Plausible, Settings > Imports & exports > Export | `imported_pages_*.csv` | `page` | `pageviews` |
| Plausible, dashboard Top Pages download | `pages.csv` | `name` | `pageviews` |
| Umami, website Data > Export | `pages.csv` (in the ZIP) | `x` | `y` (visitors: distinct sessions per path) |
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

from ..metadata import number
from ..urls import url_key
from .logs import LogData

# (product, page column, count column), header names compared in lower case
HEADERS = (
    ("GA4", ("page path and screen class", "page path", "page path + query string"), ("views",)),
    ("Plausible", ("page", "name"), ("pageviews",)),
    ("Umami", ("x",), ("y",)),
)
_ZIP_MEMBERS = ("imported_pages", "pages.csv")


def _export_text(path: Path) -> str:
    """The CSV text of an export file, or of the pages table inside an export ZIP."""
    raw = path.read_bytes()
    if raw.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = sorted(n for n in archive.namelist() if n.rsplit("/", 1)[-1].startswith(_ZIP_MEMBERS))
            if not names:
                raise ValueError("a ZIP without a pages table (imported_pages_*.csv or pages.csv)")
            raw = archive.read(names[0])
    return raw.decode("utf-8-sig", errors="replace")


def _columns(header: list[str]) -> tuple[str, int, int]:
    """(product, page column, count column) of an export's header (lower case); ValueError if unknown."""
    for product, pages, counts in HEADERS:
        page_col = next((header.index(c) for c in pages if c in header), None)
        count_col = next((header.index(c) for c in counts if c in header), None)
        if page_col is not None and count_col is not None:
            return product, page_col, count_col
    raise ValueError(f"not an access log, nor a GA4, Plausible or Umami export (header: {','.join(header)[:80]})")


def read_export(path: Path, keep: Callable[[str], bool] | None = None) -> tuple[LogData, str]:
    """(page views per path (url_key), product name) of a GA4, Plausible or Umami export, over the
    paths for which `keep` is true (default: all).

    Raises ValueError (message for the user) when the header is none of the known ones; rows without a
    page or with a count that is not a number are counted as malformed.
    """
    lines = _export_text(path).splitlines()
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].startswith("#")):
        start += 1  # GA4 opens with '# ----' lines naming the report, account and dates
    reader = csv.reader(lines[start:])
    header = [h.strip().lower() for h in next(reader, [])]
    product, page_col, count_col = _columns(header)
    data = LogData()
    report = data.report
    for line_number, row in enumerate(reader, start + 2):
        if not any(cell.strip() for cell in row):
            continue
        report.lines += 1
        try:
            page, count = row[page_col].strip(), number(row[count_col], header[count_col]) or 0.0
        except (IndexError, ValueError):
            page, count = "?", 0.0
        if not page.startswith(("/", "http://", "https://")):
            if page.lower() not in ("", "(not set)", "total", "grand total"):  # totals rows are no page
                report.malformed += 1
                report.first_malformed = report.first_malformed or line_number
            continue
        key = url_key(page)
        if keep is not None and not keep(key):
            report.skipped += 1
            continue
        data.views[key] = data.views.get(key, 0.0) + count
        report.views += int(count)
    return data, product
