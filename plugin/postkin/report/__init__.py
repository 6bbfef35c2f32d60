"""`postkin report`: a topic map of the blog an editor can read at a glance (one offline HTML file).

    inp = glue.report_input(build.stages, settings)              # or ReportInput(posts=..., topics=..., ...)
    data = analyse(inp)                                          # ReportData; data.to_dict() is the --json form
    html = render_html(data)                                     # str: one self-contained page

    glue.write_report(build.stages, settings, cache_dir, out)    # all of it, for a host after its build

The analysis and the page read only ReportInput; `glue` is the one module that knows the pipeline.
Needs the `report` extra (scikit-learn, Bokeh, rapidfuzz).
"""

from .analysis import analyse
from .html import render_html
from .model import ReportData, ReportInput, ReportPost, Snapshot, Thresholds
from .requirements import INSTALL_HINT

__all__ = ["analyse", "render_html", "ReportData", "ReportInput", "ReportPost", "Snapshot", "Thresholds",
           "INSTALL_HINT"]
