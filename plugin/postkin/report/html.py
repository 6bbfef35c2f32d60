"""ReportData -> one self-contained HTML file: Jinja2 (autoescape) for the page, Bokeh for the plots.

Why Bokeh: its standalone output carries the map's interactions we need (hover tooltips, a tap that
opens a URL, wheel zoom, pan, a legend that hides topics) and inlines its JavaScript, so the file opens
offline with no request. Only the core bundle is inlined (bokeh.min.js, 1.27 MB); Bokeh's default
INLINE resources add the widgets, tables, WebGL and MathJax bundles (3.9 MB) that the report does not
use. Plotly would inline plotly.min.js (~4.6 MB, nearly the whole 5 MB budget); Vega-Lite needs three
libraries (vega, vega-lite, vega-embed) that its Python package does not ship. Page text goes
through Jinja2's autoescape, plot text through Bokeh's JSON document (titles are data, never markup).
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from .model import ReportData
from .requirements import require

MAP_HEIGHT = 640
MAP_ALPHA = 0.85  # points' fill opacity: overlapping points stay visible


def palette(k: int) -> list[str]:
    """k distinct colours, one per topic in dendrogram order: Category20 with its dark shades first
    (neighbouring topics get different hues), Turbo beyond 20 topics."""
    palettes = require("bokeh.palettes", "bokeh")
    if k <= 20:
        dark_first = list(palettes.Category20[20][::2]) + list(palettes.Category20[20][1::2])
        return dark_first[:k]
    return list(palettes.turbo(k))


def render_html(data: ReportData, title: str = "postkin report") -> str:
    """The report page; raises PostkinError naming the `report` extra when Bokeh is missing."""
    require("bokeh", "bokeh")
    import jinja2
    from bokeh.embed import components
    from bokeh.resources import Resources
    from markupsafe import Markup

    colours = dict(zip([t.id for t in data.topics], palette(len(data.topics))))
    plots = {"map": map_figure(data, colours), "dendrogram": dendrogram_figure(data, colours)}
    if not data.posts:
        del plots["map"]  # nothing to draw (Bokeh would warn of a plot without renderers)
    script, divs = stable_ids(*components(plots))
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    template = env.from_string(resources.files(__package__).joinpath("report.html.j2").read_text(encoding="utf-8"))
    return template.render(
        title=title, data=data, posts=data.posts, colours=colours, topic_label={t.id: t.label for t in data.topics},
        bokeh_js=Markup(Resources(mode="inline", components=["bokeh"]).render_js()),
        bokeh_script=Markup(script),
        plots={name: Markup(div) for name, div in divs.items()})


def stable_ids(script: str, divs: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Bokeh's components() with the document and each plot's element named by role, not by a random
    UUID, so a report of the same data is the same bytes from run to run (and write_if_changed leaves
    it alone). Bokeh's model ids count up per process: the same in every fresh `postkin` process."""
    found = [(re.search(r'"docid":"([^"]+)"', script), "postkin-report"),
             *((re.search(r'\bid="([^"]+)"', div), f"postkin-{name}") for name, div in divs.items())]
    for match, new in found:
        if match is None:  # a Bokeh that writes them otherwise: random ids, nothing else changes
            continue
        old = f'"{match[1]}"'
        script = script.replace(old, f'"{new}"')
        divs = {name: div.replace(old, f'"{new}"') for name, div in divs.items()}
    return script, divs


def map_figure(data: ReportData, colours: dict[int, str]) -> Any:
    """Every post at its t-SNE position, one renderer (and legend entry) per topic; drafts as triangles.
    Hover: title, topic, date; tap: opens the post's URL; wheel zoom, pan, box zoom, reset."""
    from bokeh.models import ColumnDataSource, HoverTool, OpenURL, TapTool
    from bokeh.models.annotations import Legend, LegendItem
    from bokeh.plotting import figure

    fig = figure(name="map", title="Posts by topic (t-SNE of their embeddings)", height=MAP_HEIGHT,
                 sizing_mode="stretch_width", tools="pan,wheel_zoom,box_zoom,reset", active_scroll="wheel_zoom",
                 match_aspect=True, toolbar_location="above")
    fig.axis.visible = False
    fig.grid.visible = False
    items = []
    groups = [(t.id, t.label) for t in data.topics] + [(-1, "no topic")]
    for topic, label in groups:
        keys = [k for k, p in data.posts.items() if p["topic"] == topic]
        if not keys:
            continue
        rows = [data.posts[k] for k in keys]
        source = ColumnDataSource({
            "x": [p["x"] for p in rows], "y": [p["y"] for p in rows], "key": keys,
            "title": [p["title"] for p in rows], "url": [p["url"] for p in rows],
            "date": [(p["date"] or "")[:10] for p in rows], "topic": [label] * len(rows),
            "marker": ["triangle" if p["draft"] else "circle" for p in rows]}, name=f"map-topic-{topic}")
        renderer = fig.scatter("x", "y", source=source, marker="marker", size=9, line_color="white", line_width=0.5,
                               fill_color=colours.get(topic, "#999999"), fill_alpha=MAP_ALPHA,
                               name=f"map-points-{topic}")
        # Bokeh's annotations want GlyphRenderer[Glyph]; a list is invariant in its item type
        items.append(LegendItem(label=label, renderers=[renderer]))  # type: ignore[list-item]
    fig.add_tools(HoverTool(tooltips=[("title", "@title"), ("topic", "@topic"), ("date", "@date")]),
                  TapTool(callback=OpenURL(url="@url")))
    legend = Legend(items=items, click_policy="hide", label_text_font_size="9pt", spacing=0)
    fig.add_layout(legend, "right")
    return fig


def dendrogram_figure(data: ReportData, colours: dict[int, str]) -> Any:
    """The topics' Ward dendrogram drawn left to right, leaves top to bottom in the Topics list's order."""
    from bokeh.models import FixedTicker, Range1d
    from bokeh.plotting import figure

    tree = data.dendrogram
    k = len(tree["order"])
    fig = figure(name="dendrogram", height=max(140, 30 * k + 60), sizing_mode="stretch_width", tools="",
                 toolbar_location=None, y_range=Range1d(start=10 * max(k, 1), end=0), x_axis_label="Ward distance")
    fig.ygrid.visible = False
    fig.multi_line(xs=tree["dcoord"], ys=tree["icoord"], line_color="#444444", line_width=2, name="dendrogram-links")
    leaves = [5 + 10 * i for i in range(k)]
    labels = {t.id: f"{t.label} ({t.size})" for t in data.topics}
    fig.scatter(x=[0.0] * k, y=leaves, size=11, fill_color=[colours[c] for c in tree["order"]], line_color="#444444",
                name="dendrogram-leaves")
    fig.yaxis.ticker = FixedTicker(ticks=leaves)
    fig.yaxis.major_label_overrides = {y: labels[c] for y, c in zip(leaves, tree["order"])}
    return fig
