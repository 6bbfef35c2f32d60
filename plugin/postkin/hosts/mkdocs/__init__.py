"""postkin for MkDocs: related posts, the latest and most read posts of each post's topic, and
suggested tags for Material for MkDocs blogs and, if wanted, documentation pages.

    plugins:
      - blog
      - postkin

Registered as the `postkin` entry point of `mkdocs.plugins`. Reading the pages is the MkDocs dialect's
(`postkin.dialects.mkdocs`), so `postkin build` / `eval` / `report` read an MkDocs site exactly as
the plugin does; the partial `partials/postkin.html` (in templates/) is rendered after each page's
content and may be overridden in the theme's `custom_dir`.
"""

from .plugin import PostkinPlugin

__all__ = ["PostkinPlugin"]
