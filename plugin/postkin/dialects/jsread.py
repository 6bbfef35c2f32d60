"""Reading literal values out of JavaScript and TypeScript files without running them.

Eleventy's configuration (`eleventy.config.js`), its JavaScript data files (`blog/blog.11tydata.js`) and
Astro's (`astro.config.mjs`, `src/content.config.ts`) are programs: postkin cannot evaluate them, but
what sites write there is nearly always literal (`dir: {input: "content"}`, `tags: ["posts"]`,
`glob({base: './src/content/blog', pattern: '**/*.md'})`). Those files are parsed with tree-sitter's
JavaScript and TypeScript grammars (a real parser: comments, strings and nesting are never mistaken for
one another, as a regular expression would) and only values written as literals are read; anything
computed raises NotLiteral, and the dialect then says which value it could not read and what to do.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import PostkinError

Node = Any  # tree_sitter.Node (typed loosely: the bindings are an optional extra)


class NotLiteral(ValueError):
    """A value that is computed (a call, a variable, a template with ${...}), not written literally."""


def require(generator: str, extra: str, typescript: bool = False) -> None:
    """Raise PostkinError (one line, with the install command) when the parsers or wcmatch are missing."""
    needed = ["tree_sitter", "tree_sitter_javascript", "wcmatch"] + (["tree_sitter_typescript"] if typescript else [])
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise PostkinError(f"reading a {generator} site's JavaScript configuration needs {', '.join(missing)}: "
                           f"pip install 'postkin[{extra}]'")


@cache
def _parser(typescript: bool) -> Any:
    import tree_sitter

    if typescript:
        import tree_sitter_typescript

        language = tree_sitter.Language(tree_sitter_typescript.language_typescript())
    else:
        import tree_sitter_javascript

        language = tree_sitter.Language(tree_sitter_javascript.language())
    return tree_sitter.Parser(language)


def parse(source: bytes, typescript: bool = False) -> Node:
    """The syntax tree's root node of JavaScript (or TypeScript) source. tree-sitter recovers from
    syntax errors, so a file that does not parse still yields the parts that do."""
    return _parser(typescript).parse(source).root_node


def parse_file(path: Path) -> Node:
    """The root node of a .js/.mjs/.cjs/.ts/.mts file (TypeScript grammar for .ts/.mts).
    Raises PostkinError when the file cannot be read."""
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise PostkinError(f"{path}: cannot read ({exc.strerror})") from None
    return parse(source, typescript=path.suffix in (".ts", ".mts", ".cts"))


def text(node: Node) -> str:
    """The source text of a node."""
    return bytes(node.text).decode("utf-8", "replace")


def walk(node: Node) -> Iterator[Node]:
    """Every node below `node` (itself first), in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


_WRAPPERS = ("parenthesized_expression", "as_expression", "satisfies_expression", "non_null_expression")


def unwrap(node: Node) -> Node:
    """The expression inside parentheses and TypeScript `as const` / `satisfies T` / `x!`."""
    while node is not None and node.type in _WRAPPERS:
        node = node.named_children[0]
    return node


def _string(node: Node) -> str:
    parts = []
    for child in node.named_children:
        if child.type == "template_substitution":
            raise NotLiteral(text(node))
        if child.type == "escape_sequence":
            import json

            raw = text(child)
            try:
                parts.append(json.loads(f'"{raw}"'))
            except ValueError:
                parts.append(raw[1:])  # \' \` and the like: the character itself
        elif child.type == "string_fragment":
            parts.append(text(child))
    return "".join(parts)


def key_of(pair: Node) -> str | None:
    """The key of an object `pair` (`input:`, `"input":`, `'input':`), None for a computed key."""
    key = pair.child_by_field_name("key")
    if key is None:
        return None
    if key.type in ("property_identifier", "identifier", "number"):
        return text(key)
    if key.type == "string":
        return _string(key)
    return None


def literal(node: Node) -> Any:
    """The Python value of a literal expression: strings (and templates without ${...}), numbers, true,
    false, null/undefined (None), arrays and objects of literals. Raises NotLiteral otherwise."""
    node = unwrap(node)
    if node is None:
        raise NotLiteral("")
    kind = node.type
    if kind in ("string", "template_string"):
        return _string(node)
    if kind == "number":
        raw = text(node).replace("_", "")
        try:
            return int(raw, 0)
        except ValueError:
            return float(raw)
    if kind == "true":
        return True
    if kind == "false":
        return False
    if kind in ("null", "undefined"):
        return None
    if kind == "unary_expression" and text(node).startswith("-"):
        value = literal(node.named_children[0])
        if isinstance(value, (int, float)):
            return -value
    if kind == "array":
        return [literal(child) for child in node.named_children if child.type != "comment"]
    if kind == "object":
        out: dict[str, Any] = {}
        for child in node.named_children:
            if child.type == "comment":
                continue
            if child.type == "shorthand_property_identifier":
                raise NotLiteral(text(child))
            key = key_of(child) if child.type == "pair" else None
            if key is None:
                raise NotLiteral(text(child))
            out[key] = literal(child.child_by_field_name("value"))
        return out
    raise NotLiteral(text(node))


def literal_items(node: Node) -> dict[str, Any]:
    """The literal members of an object expression, leaving out those that are computed (a function,
    a variable, a spread): what can be read of `{tags: ["posts"], eleventyComputed: {...}}`."""
    node = unwrap(node)
    out: dict[str, Any] = {}
    if node is None or node.type != "object":
        return out
    for child in node.named_children:
        if child.type != "pair":
            continue
        key = key_of(child)
        if key is None:
            continue
        try:
            out[key] = literal(child.child_by_field_name("value"))
        except NotLiteral:
            continue
    return out


def get(obj: Node, key: str) -> Node | None:
    """The value node of `key` in an object expression (the last one, as JavaScript keeps), or None."""
    obj = unwrap(obj)
    found = None
    if obj is not None and obj.type == "object":
        for child in obj.named_children:
            if child.type == "pair" and key_of(child) == key:
                found = child.child_by_field_name("value")
    return found


def pairs(root: Node, key: str) -> list[Node]:
    """The value nodes of every `key: value` pair anywhere below `root`, in source order."""
    return [n.child_by_field_name("value") for n in walk(root) if n.type == "pair" and key_of(n) == key]


def callee_name(call: Node) -> str:
    """`glob` for `glob(...)`, `setInputDirectory` for `eleventyConfig.setInputDirectory(...)`."""
    function = call.child_by_field_name("function")
    if function is None:
        return ""
    if function.type == "member_expression":
        prop = function.child_by_field_name("property")
        return text(prop) if prop is not None else ""
    return text(function)


def calls(root: Node, name: str) -> list[tuple[Node, list[Node]]]:
    """(call, its argument nodes) of every call of a function or method called `name` below `root`."""
    out = []
    for node in walk(root):
        if node.type == "call_expression" and callee_name(node) == name:
            args = node.child_by_field_name("arguments")
            out.append((node, [a for a in args.named_children if a.type != "comment"] if args is not None else []))
    return out


def receiver(call: Node) -> str:
    """The source text of the object a method is called on (`eleventyConfig.ignores` for
    `eleventyConfig.ignores.add(...)`), '' for a plain function call."""
    function = call.child_by_field_name("function")
    if function is None or function.type != "member_expression":
        return ""
    obj = function.child_by_field_name("object")
    return text(obj) if obj is not None else ""


def declarations(root: Node) -> dict[str, Node]:
    """Top-level `const|let|var name = value` declarations (exported or not): name -> value node."""
    out: dict[str, Node] = {}
    for node in root.named_children:
        if node.type == "export_statement":
            node = node.child_by_field_name("declaration") or node
        if node.type in ("lexical_declaration", "variable_declaration"):
            for declarator in node.named_children:
                if declarator.type != "variable_declarator":
                    continue
                name = declarator.child_by_field_name("name")
                value = declarator.child_by_field_name("value")
                if name is not None and value is not None and name.type == "identifier":
                    out[text(name)] = value
    return out


def resolve(node: Node, names: dict[str, Node]) -> Node:
    """An identifier replaced by the value it was declared with (one level deep, as `export default
    config` after `const config = {...}`); other nodes as they are."""
    node = unwrap(node)
    if node is not None and node.type == "identifier" and text(node) in names:
        return unwrap(names[text(node)])
    return node


def default_export(root: Node) -> Node | None:
    """What the module exports by default: `export default X` or `module.exports = X` (X resolved
    through a top-level declaration), or None."""
    names = declarations(root)
    for node in root.named_children:
        if node.type == "export_statement" and any(c.type == "default" for c in node.children):
            value = node.child_by_field_name("value") or node.child_by_field_name("declaration")
            return resolve(value, names) if value is not None else None
        if node.type == "expression_statement":
            expr = unwrap(node.named_children[0]) if node.named_children else None
            if expr is not None and expr.type == "assignment_expression":
                left = expr.child_by_field_name("left")
                if left is not None and text(left) == "module.exports":
                    return resolve(expr.child_by_field_name("right"), names)
    return None


def imported_names(root: Node) -> dict[str, tuple[str, str]]:
    """Local name -> (module, imported name) of every ES import (`import {A as B} from "m"` gives
    B -> ("m", "A"); a default import gives ("m", "default"))."""
    out: dict[str, tuple[str, str]] = {}
    for node in root.named_children:
        if node.type != "import_statement":
            continue
        source = node.child_by_field_name("source")
        module = _string(source) if source is not None else ""
        for child in walk(node):
            if child.type == "import_specifier":
                name = child.child_by_field_name("name")
                alias = child.child_by_field_name("alias") or name
                if name is not None and alias is not None:
                    out[text(alias)] = (module, text(name))
            elif child.type == "import_clause":
                for part in child.named_children:
                    if part.type == "identifier":
                        out[text(part)] = (module, "default")
    return out
