"""The one URL normaliser: every place that compares URLs (links between posts, page views from an
analytics export or an access log, pins, exclusions, host adapters) compares `url_key`s.

Two spellings of one page give one key:

    https://blog.example/2024/01/02/%E7%8C%AB/index.html?utm=x#top  ->  2024/01/02/猫
    /2024/01/02/猫/                                                 ->  2024/01/02/猫
    /Posts/Cat.html                                                 ->  posts/cat

Rules, in order: the fragment and query go; an absolute URL loses its scheme and host (`is_absolute`
tells callers that want to treat other hosts differently); percent-escapes are decoded (browsers and
analytics exports write non-ASCII paths encoded, authors type them plain); a final `index.html` /
`index.htm` goes, then a `.html` / `.htm` suffix (`/x.html` and `/x/` are the same post on every
generator postkin reads); a site's base path (`/blog/` when the site is served below it) goes; outer
slashes go; the result is case-folded (generators lower-case slugs by default, and analytics tools
report whatever case the reader typed).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

_SCHEME_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://[^/?#]*", re.I)
# `//host/path` names another host only when the host looks like one: Jekyll posts write
# `{{ "//2015/07/17/x/" | url }}` (18F) and mean a path of their own site.
_PROTOCOL_RELATIVE = re.compile(r"^//(?:[^/?#]*\.[^/?#]*|localhost)(?=[/?#:]|$)")
_INDEX = re.compile(r"(?:^|(?<=/))index\.html?$", re.I)
_HTML = re.compile(r"\.html?$", re.I)


def is_absolute(url: str) -> bool:
    """True for `scheme://host/...` and `//host/...` URLs (which may name another site)."""
    url = url.strip()
    return bool(_SCHEME_HOST.match(url) or _PROTOCOL_RELATIVE.match(url))


def path_of(url: str) -> str:
    """The path of a URL as written: no scheme, host, query or fragment (percent-escapes kept)."""
    url = url.strip().split("#", 1)[0].split("?", 1)[0]
    return _PROTOCOL_RELATIVE.sub("", _SCHEME_HOST.sub("", url))


def url_key(url: str, base_path: str = "") -> str:
    """The comparable form of a post URL or path (see the module docstring); '' for the site root.

    `base_path` is the path the site is served below ('/blog/'); it is removed when the URL starts
    with it, so '/blog/2024/x/' and '2024/x' give the same key for a site at https://host/blog/.
    """
    path = unquote(path_of(url))
    path = _INDEX.sub("", path)
    path = _HTML.sub("", path)
    key = path.strip("/").casefold()
    base = unquote(base_path).strip("/").casefold()
    if base and (key == base or key.startswith(base + "/")):
        key = key[len(base):].lstrip("/")
    return key
