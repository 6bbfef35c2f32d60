"""Pelican settings for the postkin example blog ("Field Notes").

Build locally with the plugin off (works before postkin is installed):

    pelican content -s pelicanconf.py -o output -e 'PLUGINS=[]'

and with it on:

    pelican content -s pelicanconf.py -o output
"""

from pathlib import Path

AUTHOR = "Field Notes team"
SITENAME = "Field Notes"
SITESUBTITLE = "Engineering notes from the Kestrel Labs platform team"
SITEURL = ""

PATH = "content"
PAGE_PATHS = ["pages"]
ARTICLE_EXCLUDES = ["pages"]
STATIC_PATHS = []

TIMEZONE = "Asia/Tokyo"
DEFAULT_LANG = "en"
DEFAULT_DATE_FORMAT = "%b %d, %Y"
DATE_FORMATS = {
    "en": "%b %d, %Y",
    "ja": "%Y-%m-%d",
}

THEME = "theme"
CSS_FILE = "site.css"

# The theme's templates escape everything they print (autoescape), so a title, tag or topic label
# holding "<" is shown as text; what Pelican gives as HTML (article titles, summaries and content,
# SITENAME) is marked |safe in the templates, as Pelican's own themes print it. Templates Pelican
# takes from its 'simple' theme keep Pelican's behaviour. Lower-case names are not Pelican settings.
_theme_templates = frozenset(p.name for p in (Path(__file__).parent / THEME / "templates").glob("*.html"))
JINJA_ENVIRONMENT = {
    "trim_blocks": True,
    "lstrip_blocks": True,
    "extensions": [],
    "autoescape": lambda name: name in _theme_templates,
}

# Document-relative URLs so output/index.html can be opened straight from disk.
RELATIVE_URLS = True

ARTICLE_URL = "posts/{slug}.html"
ARTICLE_SAVE_AS = "posts/{slug}.html"
# Pelican sends every article whose Lang differs from DEFAULT_LANG through the
# *_LANG_URL settings, even when it is not a translation of anything. Posts here
# are single-language with slugs unique across languages, so Japanese posts use
# the same URL pattern as English ones.
ARTICLE_LANG_URL = "posts/{slug}.html"
ARTICLE_LANG_SAVE_AS = "posts/{slug}.html"
DRAFT_URL = "drafts/{slug}.html"
DRAFT_SAVE_AS = "drafts/{slug}.html"
DRAFT_LANG_URL = "drafts/{slug}.html"
DRAFT_LANG_SAVE_AS = "drafts/{slug}.html"
PAGE_URL = "{slug}.html"
PAGE_SAVE_AS = "{slug}.html"
TAG_URL = "tag/{slug}.html"
TAG_SAVE_AS = "tag/{slug}.html"
CATEGORY_URL = "category/{slug}.html"
CATEGORY_SAVE_AS = "category/{slug}.html"
AUTHOR_URL = "author/{slug}.html"
AUTHOR_SAVE_AS = "author/{slug}.html"

# Feeds are not needed for the example site.
FEED_ALL_ATOM = None
FEED_ALL_RSS = None
CATEGORY_FEED_ATOM = None
CATEGORY_FEED_RSS = None
TAG_FEED_ATOM = None
TAG_FEED_RSS = None
TRANSLATION_FEED_ATOM = None
TRANSLATION_FEED_RSS = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None

DEFAULT_PAGINATION = 8
SUMMARY_MAX_LENGTH = 60

DISPLAY_PAGES_ON_MENU = True
DISPLAY_CATEGORIES_ON_MENU = False
MENUITEMS = [
    ("Archives", "archives.html"),
    ("Categories", "categories.html"),
    ("Tags", "tags.html"),
]

MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.codehilite": {"css_class": "highlight", "guess_lang": False},
        "markdown.extensions.extra": {},
        "markdown.extensions.meta": {},
    },
    "output_format": "html5",
}

# --- postkin -------------------------------------------------------------
PLUGINS = ["postkin"]
# recommend_for_you: postkin writes output/postkin/vectors.json and recommend.js, and the theme's
# _postkin_recommend.html shows "Recommended for you" from what the reader read (kept in their browser).
POSTKIN = {"popularity_file": "pageviews.json", "recommend_for_you": True}
# Authoring aid: show the "Suggested tags" box on article pages.
# Turn on only for local previews, e.g. -e POSTKIN_SHOW_SUGGESTED_TAGS=true
POSTKIN_SHOW_SUGGESTED_TAGS = False
