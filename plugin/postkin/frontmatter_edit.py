"""Add tags to a post's front matter as a text edit: every byte outside the tags entry stays as it was.

A YAML round-trip would reorder keys, drop comments, change quoting and re-wrap long lines, which
turns "add two tags" into a diff of the whole header. So the tags entry is found in the text and
extended in the style it already has:

    tags:            block list   -> one more `- item` line per tag, same indent and quoting
      - a
    tags: [a, b]     flow list    -> `, c` before the closing bracket
    tags: a, b       comma string -> `, c` at the end (inside the quotes if quoted)
    tags: a          one string   -> a flow list `[a, c]` (a space in a string means a space, not a list)
    tags:            empty        -> `tags: [c]`
    (no tags key)                 -> a `tags: [c]` line at the end of the front matter
    tags = ["a"]     TOML (+++)   -> `, "c"` before the closing bracket; a missing key goes before the
                                     first [table], where a top-level key must be

The result is parsed again and must give the old tags plus the new ones and every other key unchanged;
otherwise the edit raises ValueError and the file is not touched.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .metadata import TAG_KEYS, as_list, split_front_matter, tags_value

_YAML_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)[ \t]*:(?=[ \t]|\r?\n|$)")
_TOML_KEY = re.compile(r"^[ \t]*(?P<key>[A-Za-z_][\w-]*)[ \t]*=")
_TOML_TABLE = re.compile(r"^[ \t]*\[")


def add_tags(text: str, new_tags: list[str]) -> str:
    """`text` (a whole post) with `new_tags` appended to its front-matter tags; ValueError if impossible."""
    metadata, _ = split_front_matter(text)
    old = as_list(tags_value(metadata))
    have = {t.casefold() for t in old}
    wanted = [t for t in dict.fromkeys(t.strip() for t in new_tags) if t and t.casefold() not in have]
    if not wanted:
        return text
    head, fm, tail = _split(text)
    newline = "\r\n" if "\r\n" in fm or "\r\n" in head else "\n"
    lines = fm.splitlines(keepends=True)
    edited = _edit_toml(lines, wanted, newline) if head.lstrip("\ufeff").startswith("+++") \
        else _edit_yaml(lines, wanted, newline)
    result = head + "".join(edited) + tail
    _check(text, result, old + wanted)
    return result


def _split(text: str) -> tuple[str, str, str]:
    """(opening fence line, front-matter lines, closing fence and body) of a post with front matter."""
    match = re.match(r"^(\ufeff?(---|\+\+\+)[ \t]*\r?\n)(.*?)(^\2[ \t]*(\r?\n|$).*)\Z", text, re.S | re.M)
    if not match:
        raise ValueError("no front matter to add tags to")
    return match.group(1), match.group(3), match.group(4)


def _entry(lines: list[str], key_pattern: re.Pattern[str], is_yaml: bool) -> tuple[int, int] | None:
    """(first, end) line indexes of the top-level tags entry, or None when there is none."""
    start = None
    for key in TAG_KEYS:
        for i, line in enumerate(lines):
            match = key_pattern.match(line)
            if match and match.group("key").lower() == key and (not is_yaml or not line[0].isspace()):
                start = i
                break
        if start is not None:
            break
    if start is None:
        return None
    end = start + 1
    while end < len(lines):
        line = lines[end]
        stripped = line.strip()
        if is_yaml:
            # Continuation: indented, blank, a comment, or a block item at column 0 (`- a` under `tags:`).
            if stripped and not line[0].isspace() and not line.startswith("#") and not line.startswith("-"):
                break
        elif stripped and (key_pattern.match(line) or _TOML_TABLE.match(line)):
            break
        end += 1
    # Blank lines and comments after the entry belong to what follows.
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return start, end


def _yaml_scalar(tag: str, flow: bool, quote: str = "") -> str:
    """A tag as YAML: plain when it reads back as the same string, else quoted."""
    import yaml

    if not quote:
        try:
            plain_ok = yaml.safe_load(f"k: {tag}") == {"k": tag}
            if flow:
                plain_ok = plain_ok and yaml.safe_load(f"k: [{tag}]") == {"k": [tag]}
        except yaml.YAMLError:
            plain_ok = False
        if plain_ok and "#" not in tag:
            return tag
    if quote == "'" and "\n" not in tag:
        return "'" + tag.replace("'", "''") + "'"
    return json.dumps(tag, ensure_ascii=False)


def _split_comment(value: str) -> tuple[str, str]:
    """(value, ' # comment') of a YAML line's value part; a '#' inside quotes is not a comment."""
    quote = ""
    for i, ch in enumerate(value):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'" and (i == 0 or value[i - 1] in " [,"):
            quote = ch
        elif ch == "#" and (i == 0 or value[i - 1] in " \t"):
            return value[:i].rstrip(), value[len(value[:i].rstrip()):]
    return value, ""


def _edit_yaml(lines: list[str], wanted: list[str], newline: str) -> list[str]:
    found = _entry(lines, _YAML_KEY, is_yaml=True)
    if found is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += newline
        return lines + [f"tags: [{', '.join(_yaml_scalar(t, True) for t in wanted)}]{newline}"]
    start, end = found
    first = lines[start]
    ending = first[len(first.rstrip("\r\n")):]
    key_part, value_part = first.rstrip("\r\n").split(":", 1)
    value, comment = _split_comment(value_part.strip())
    body = lines[start + 1:end]

    if not value and any(line.lstrip().startswith("-") for line in body):  # block list
        items = [line for line in body if line.lstrip().startswith("-")]
        last = items[-1]
        indent = last[:len(last) - len(last.lstrip())]
        after_dash = re.match(r"-([ \t]+)(\S?)", last.lstrip())
        gap = after_dash.group(1) if after_dash else " "
        quote = after_dash.group(2) if after_dash and after_dash.group(2) in "\"'" else ""
        new = [f"{indent}-{gap}{_yaml_scalar(t, False, quote)}{newline}" for t in wanted]
        last_index = start + 1 + max(i for i, line in enumerate(body) if line.lstrip().startswith("-"))
        if not lines[last_index].endswith("\n"):
            lines[last_index] += newline
        # New items go after the last item and its continuation lines, before any trailing comment.
        return lines[:end] + new + lines[end:]
    if body:
        raise ValueError("the tags entry spans several lines in a form postkin does not edit; add the tags by hand")
    if not value or value in ("~", "null", "[]", '""', "''"):
        value = f"[{', '.join(_yaml_scalar(t, True) for t in wanted)}]"
    elif value.startswith("[") and value.endswith("]"):  # flow list
        joined = ", ".join(_yaml_scalar(t, True) for t in wanted)
        inner = value[1:-1].rstrip()
        value = f"[{inner}{', ' if inner.strip() else ''}{joined}]"
    elif "," in value:  # comma-separated string: keep the convention
        quote = value[0] if value[0] in "\"'" and value.endswith(value[0]) else ""
        inner = value[1:-1] if quote else value
        addition = ", ".join(wanted)
        if quote == '"':
            addition = json.dumps(addition, ensure_ascii=False)[1:-1]
        elif quote == "'":
            addition = addition.replace("'", "''")
        value = f"{quote}{inner.rstrip()}, {addition}{quote}"
        if not quote and _yaml_scalar(value, False) != value:  # e.g. a new tag holds ': '
            value = json.dumps(value, ensure_ascii=False)
    else:  # one string: a list says "several tags" in every generator
        value = f"[{value}, {', '.join(_yaml_scalar(t, True) for t in wanted)}]"
    lines[start] = f"{key_part}: {value}{comment}{ending}"
    return lines


def _edit_toml(lines: list[str], wanted: list[str], newline: str) -> list[str]:
    found = _entry(lines, _TOML_KEY, is_yaml=False)
    quoted = [json.dumps(t, ensure_ascii=False) for t in wanted]
    if found is None:
        table = next((i for i, line in enumerate(lines) if _TOML_TABLE.match(line)), len(lines))
        while table > 0 and not lines[table - 1].strip():
            table -= 1
        if table > 0 and not lines[table - 1].endswith("\n"):
            lines[table - 1] += newline
        return lines[:table] + [f"tags = [{', '.join(quoted)}]{newline}"] + lines[table:]
    start, end = found
    entry = "".join(lines[start:end])
    key, value = entry.split("=", 1)
    close = value.rfind("]")
    if value.lstrip().startswith("["):
        inner = value[:close].rstrip()
        comma = "" if inner.endswith(("[", ",")) else ","
        value = f"{inner}{comma} {', '.join(quoted)}{value[close:]}"
    else:
        match = re.match(r"^(\s*)([\"'])(.*)\2(.*)$", value, re.S)
        if not match:
            raise ValueError("the TOML tags value is neither a list nor a string; add the tags by hand")
        lead, quote, inner, rest = match.groups()
        if "," in inner:
            addition = ", ".join(wanted)
            if quote == '"':
                addition = json.dumps(addition, ensure_ascii=False)[1:-1]
            value = f"{lead}{quote}{inner}, {addition}{quote}{rest}"
        else:
            value = f"{lead}[{quote}{inner}{quote}, {', '.join(quoted)}]{rest}"
    return lines[:start] + [f"{key}={value}"] + lines[end:]


def _check(before: str, after: str, expected_tags: list[str]) -> None:
    """The edit must read back as the expected tags with every other key unchanged."""
    old, old_body = split_front_matter(before)
    try:
        new, new_body = split_front_matter(after)
    except ValueError as exc:
        raise ValueError(f"adding tags would break the front matter ({exc}); add them by hand") from None
    got = as_list(tags_value(new))
    if got != expected_tags or _without_tags(old) != _without_tags(new) or old_body != new_body:
        raise ValueError("could not add tags without changing other front matter; add them by hand")


def _without_tags(metadata: dict[str, Any]) -> dict[str, Any]:
    key = next((k for name in TAG_KEYS for k in metadata if str(k).strip().lower() == name), None)
    return {k: v for k, v in metadata.items() if k != key}
