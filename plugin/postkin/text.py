"""Plain text from Markdown: headings, first paragraph, and the text that is embedded.

Blogs mix Markdown with raw HTML, Liquid/Hugo shortcodes and fenced code. None of that says what a
post is about, so it is stripped before a post is embedded or indexed.
"""

from __future__ import annotations

import hashlib
import re

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_HTML_TAG = re.compile(r"<[^>\n]{1,400}>")
_SHORTCODE = re.compile(r"\{\{[<%].*?[%>]\}\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_LINK_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+.*$", re.M)
_INLINE_CODE = re.compile(r"`([^`\n]*)`")
_EMPHASIS = re.compile(r"(\*{1,3}|_{2,3})(\S(?:.*?\S)?)\1")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SPACES = re.compile(r"[ \t\u3000]+")
_ENTITY = re.compile(r"&(nbsp|amp|lt|gt|quot|#39);")
_ENTITIES = {"nbsp": " ", "amp": "&", "lt": "<", "gt": ">", "quot": '"', "#39": "'"}
_URL = re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.\S+\.\S+")


def inline_text(text: str) -> str:
    """Markdown/HTML inline markup reduced to its words."""
    # Each pattern needs a literal that most paragraphs lack: testing for it first (in C) skips
    # most regex passes; reading a 500-post blog spent half its time here.
    if "<!--" in text:
        text = _HTML_COMMENT.sub(" ", text)
    if "{{" in text or "{%" in text:
        text = _SHORTCODE.sub(" ", text)
    if "![" in text:
        text = _IMAGE.sub(r"\1", text)
    if "](" in text:
        text = _LINK.sub(r"\1", text)
    if "][" in text:
        text = _REF_LINK.sub(r"\1", text)
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    if "`" in text:
        text = _INLINE_CODE.sub(r"\1", text)
    if "*" in text or "__" in text:
        text = _EMPHASIS.sub(r"\2", text)
    if "&" in text:
        text = _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)
    return _SPACES.sub(" ", text).strip()


def split_markdown(body: str) -> tuple[list[str], list[str]]:
    """(headings, prose lines) of a Markdown body, leaving out fenced code blocks."""
    headings: list[str] = []
    prose: list[str] = []
    fence: str | None = None
    previous = ""
    for line in body.splitlines():
        match = _FENCE.match(line)
        if fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            continue
        if match:
            fence = match.group(1)
            previous = ""
            continue
        atx = _ATX.match(line)
        if atx:
            heading = inline_text(atx.group(2))
            if heading:
                headings.append(heading)
            previous = ""
            continue
        if _SETEXT.match(line) and previous.strip() and prose and prose[-1] == previous:
            if line.strip().startswith("=") or len(line.strip()) >= 2:
                prose.pop()
                heading = inline_text(previous)
                if heading:
                    headings.append(heading)
                previous = ""
                continue
        if line.startswith("    ") or line.startswith("\t"):
            prose.append("")  # indented code block: not prose
            previous = ""
            continue
        prose.append(line)
        previous = line
    return headings, prose


def paragraphs(prose_lines: list[str]) -> list[str]:
    """Plain-text paragraphs from prose lines (blank lines separate paragraphs)."""
    text = "\n".join(prose_lines)
    text = _LINK_DEF.sub("", text)
    out = []
    for block in re.split(r"\n\s*\n", text):
        plain = inline_text(" ".join(line.strip().lstrip(">*-+ ").strip() for line in block.splitlines()))
        if plain and re.search(r"\w", plain):
            out.append(plain)
    return out


def first_paragraph(paras: list[str], limit: int = 400) -> str:
    """The lede of a post that has none in its front matter: its first real paragraph, shortened."""
    for para in paras:
        if len(para) >= 20 or para is paras[-1]:
            return para if len(para) <= limit else para[:limit].rsplit(" ", 1)[0]
    return ""


def strip_urls(text: str) -> str:
    """Text without bare URLs: their host and path words are noise to a bag-of-words model."""
    return _URL.sub(" ", text)


def text_hash(text: str) -> str:
    """sha256 of the exact text embedded: the embedding cache key (with the encoder id)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
