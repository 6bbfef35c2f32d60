"""Hugo's path and URL functions, ported so postkin writes the URLs Hugo writes.

Each function names the Hugo (gohugoio/hugo, v0.165-0.168) or Go standard-library function it follows;
the Hugo dialect (`hugo.py`) puts them together the way `hugolib/page__paths.go` and
`resources/page/page_paths.go` do. Nothing here reads files.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from urllib.parse import unquote

# Go's unicode.IsSpace: ASCII white space, U+0085, U+00A0 and the Unicode White_Space characters.
_GO_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B))
_PATH_PUNCTUATION = frozenset("./\\_#+~-@")
_HEX = frozenset("0123456789abcdefABCDEF")


def _allowed(s: str, i: int, ch: str) -> bool:
    """paths.isAllowedPathCharacter: letters, digits, marks, `. / \\ _ # + ~ - @` and a `%XX` escape."""
    if ch == " ":
        return False
    cat = unicodedata.category(ch)
    if cat[0] in "LM" or cat == "Nd" or ch in _PATH_PUNCTUATION:
        return True
    return ch == "%" and i + 2 < len(s) and s[i + 1] in _HEX and s[i + 2] in _HEX


def sanitize(s: str) -> str:
    """Hugo's `paths.Sanitize` (common/paths/path.go): characters other than letters, digits, marks and
    `. / \\ _ # + ~ - @` are dropped; a run of white space after a kept character becomes one `-` (none at
    the start or the end). `"Using <details> & 2*3"` -> `"Using-details-23"`."""
    out: list[str] = []
    prepend_hyphen = was_hyphen = False
    for i, ch in enumerate(s):
        if _allowed(s, i, ch):
            was_hyphen = ch == "-"
            if prepend_hyphen:
                if not was_hyphen:
                    out.append("-")
                prepend_hyphen = False
            out.append(ch)
        elif out and not was_hyphen and ch in _GO_SPACE:
            prepend_hyphen = True
    return "".join(out)


def remove_accents(s: str) -> str:
    """Hugo's `text.RemoveAccentsString`: NFD, drop non-spacing marks (Mn), NFC (`café` -> `cafe`)."""
    decomposed = unicodedata.normalize("NFD", s)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def make_path_sanitized(s: str, *, lower: bool = True, accents: bool = True) -> str:
    """Hugo's `PathSpec.MakePathSanitized`: sanitize, accents removed when `removePathAccents` is set
    (`accents=False`), lower-cased unless `disablePathToLower` (`lower=False`)."""
    s = sanitize(s)
    if not accents:
        s = remove_accents(s)
    return s.lower() if lower else s


def token_value(s: str, *, lower: bool = True, accents: bool = True) -> str:
    """A permalink token's value as Hugo puts it into the path: `URLize` (sanitize, then URL-escape),
    then the `url.QueryUnescape` that `createTargetPathDescriptor` applies to the expanded pattern. The
    round trip gives back the sanitized text, except that a `+` comes out as a space (Go's query
    unescaping), which the next sanitize drops: `C++` gives `c`."""
    return unquote(make_path_sanitized(s, lower=lower, accents=accents).replace("+", " "))


# -- Go's net/url path escaping -------------------------------------------------------------------
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_PATH_KEEP = frozenset(b"$&+,/:;=@")
_VALID_ENCODED_EXTRA = frozenset(b"!$&'()*+,;=:@[]%")


def _should_escape(c: int) -> bool:
    """url.shouldEscape in encodePath mode."""
    return not (c in _UNRESERVED or c in _PATH_KEEP)


def _escape(path: str) -> str:
    return "".join(chr(c) if not _should_escape(c) else f"%{c:02X}" for c in path.encode("utf-8"))


def _valid_encoded(s: str) -> bool:
    return all(c in _VALID_ENCODED_EXTRA or not _should_escape(c) for c in s.encode("utf-8"))


def escaped_path(path: str) -> str:
    """Go's `url.Parse(path).EscapedPath()` (Hugo's `paths.PathEscape`): the path as written when that
    is a valid encoding of it, else percent-encoded (non-ASCII as UTF-8 bytes, upper-case hex)."""
    decoded = unquote(path, errors="strict") if "%" in path else path
    escaped = _escape(decoded)
    if escaped == path:
        return path
    if _valid_encoded(path) and (unquote(path) if "%" in path else path) == decoded:
        return path
    return escaped


def go_clean(path: str) -> str:
    """Go's `path.Clean`: one slash between elements, `.` and `..` resolved, no trailing slash; "" -> "."."""
    if not path:
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    out = ("/" if rooted else "") + "/".join(parts)
    return out or ("/" if rooted else ".")


def join_base(base_path: str, link: str) -> str:
    """Hugo's `PathSpec.PrependBasePath`: the baseURL's path joined to a link (Go `path.Join`), the
    link's trailing slash kept."""
    base = base_path.strip("/")
    if not base:
        return link
    joined = go_clean(f"/{base}/{link}")
    return joined + "/" if link.endswith("/") and not joined.endswith("/") else joined


# -- Go's time.Format, for permalink date tokens --------------------------------------------------
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
# Go layout elements, longest first where one is a prefix of another (as time.nextStdChunk tries them).
_LAYOUT = re.compile(r"January|Jan|Monday|Mon|MST|2006|002|__2|_2|06|01|02|03|04|05|15|1|2|3|4|5|PM|pm"
                     r"|Z07:00|Z0700|-07:00|-0700|-07")


def _offset(when: dt.datetime, colon: bool, z: bool) -> str:
    delta = when.utcoffset() or dt.timedelta(0)
    if z and not delta:
        return "Z"
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if colon else ''}{mins:02d}"


def go_format(when: dt.datetime, layout: str) -> str:
    """`when.Format(layout)` for Go's common layout elements (year, month, day, weekday, day of year,
    hour, minute, second, AM/PM, zone offset), as Hugo's permalink date tokens use them (`:06`, `:2006`)."""

    def chunk(m: re.Match[str]) -> str:
        e = m.group(0)
        weekday = (when.weekday() + 1) % 7
        hour12 = when.hour % 12 or 12
        table = {
            "January": _MONTHS[when.month - 1], "Jan": _MONTHS[when.month - 1][:3],
            "Monday": _DAYS[weekday], "Mon": _DAYS[weekday][:3], "MST": when.tzname() or "UTC",
            "2006": f"{when.year:04d}", "06": f"{when.year % 100:02d}", "01": f"{when.month:02d}",
            "1": str(when.month), "02": f"{when.day:02d}", "2": str(when.day), "_2": f"{when.day:>2d}",
            "002": f"{when.timetuple().tm_yday:03d}", "__2": f"{when.timetuple().tm_yday:>3d}",
            "15": f"{when.hour:02d}", "03": f"{hour12:02d}", "3": str(hour12), "04": f"{when.minute:02d}",
            "4": str(when.minute), "05": f"{when.second:02d}", "5": str(when.second),
            "PM": "PM" if when.hour >= 12 else "AM", "pm": "pm" if when.hour >= 12 else "am",
            "Z07:00": _offset(when, True, True), "Z0700": _offset(when, False, True),
            "-07:00": _offset(when, True, False), "-0700": _offset(when, False, False),
            "-07": _offset(when, False, False)[:3],
        }
        return table.get(e, e)

    return _LAYOUT.sub(chunk, layout)


_REFERENCE = dt.datetime(2019, 11, 9, 23, 1, 42, 1, tzinfo=dt.timezone.utc)


def is_go_layout(text: str) -> bool:
    """Hugo's test for a permalink attribute that is a Go date layout: formatting a reference time with
    it changes it (`permalinks.go`, `callback`)."""
    return go_format(_REFERENCE, text) != text


# -- gobwas/glob with '/' as separator, as Hugo's page matchers use it ----------------------------
@functools.lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A compiled regex for a Hugo path glob: `*` within a path segment, `**` across segments, `?` one
    character, `{a,b}` alternatives, `[...]` character classes."""
    out: list[str] = []
    i = 0
    depth = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "{":
            out.append("(?:")
            depth += 1
        elif ch == "}" and depth:
            out.append(")")
            depth -= 1
        elif ch == "," and depth:
            out.append("|")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z")


def pluralize(word: str) -> str:
    """English plural of a section name, for the title Hugo gives a section without an `_index` file
    (`pluralizeListTitles`; Hugo uses the flect library). Regular rules only: `blog` -> `blogs`,
    `category` -> `categories`, `news` and `posts` unchanged."""
    lower = word.lower()
    if not lower or lower.endswith("s") or lower in ("news", "series", "species", "media", "data", "info"):
        return word
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return word[:-1] + "ies"
    if lower.endswith(("ch", "sh", "x", "z")):
        return word + "es"
    return word + "s"
