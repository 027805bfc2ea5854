"""Sphinx's markup as a reader of the rendered page sees it, for the reST and MyST readers: roles, directives, version notes.

A role reads as its shown text ("~pkg.load" as "load", "the guide <guide>" as "the guide"); a
version directive as Sphinx words it ("New in version 3.1: ..."); a directive's arguments are
text a reader sees unless :data:`NO_ARGUMENTS` names it; the content of a directive in
:data:`CODE_DIRECTIVES` is code, of one in :data:`UNSEEN_CONTENT` nothing a reader sees, of
any other (notes, warnings, tabs, dropdowns, figures' captions...: :data:`TEXT_DIRECTIVES`
names the usual ones) text in the same markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: A role's "shown text <target>" (a space before "<": "IMPORTED_LOCATION_<CONFIG>" is one name).
_TARGETED = re.compile(r"^(.*?)\s+<[^<>]*>$", re.DOTALL)
#: Sphinx's version notes, as Sphinx renders them.
VERSION_NOTES = {
    "versionadded": "New in version",
    "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version",
    "versionremoved": "Removed in version",
}
#: Directives whose arguments are not text a reader sees (a table of contents, an index entry,
#: a condition, a file to include, a language to highlight).
NO_ARGUMENTS = frozenset(
    {"toctree", "contents", "index", "only", "include", "literalinclude", "highlight", "code-block",
     "sourcecode", "currentmodule", "module", "default-role", "tabularcolumns", "image", "figure", "raw",
     "code", "code-cell", "eval-rst"}
)
#: Directives whose content is code: its lines are joined as a code block's.
CODE_DIRECTIVES = frozenset(
    {"code-block", "sourcecode", "code", "code-cell", "parsed-literal", "productionlist", "math", "mermaid", "graphviz"}
)
#: Directives whose content is not text a reader sees (paths, index entries, raw output).
UNSEEN_CONTENT = frozenset({"toctree", "index", "literalinclude", "raw", "include"})
#: Directives whose content is text in the document's own markup (admonitions, tabs, cards,
#: asides, figures' and tables' captions, glossaries): where a fence could also be a code
#: cell ("```{r}" in R Markdown and Quarto), only these are read as text.
TEXT_DIRECTIVES = frozenset(
    {"attention", "caution", "danger", "error", "hint", "important", "note", "seealso", "tip", "warning",
     "admonition", "todo", "tab", "tab-set", "tab-item", "tabbed", "dropdown", "card", "grid", "grid-item",
     "grid-item-card", "sidebar", "topic", "margin", "epigraph", "pull-quote", "highlights", "compound",
     "container", "div", "rubric", "glossary", "figure", "table", "list-table", "hlist", "centered", "only",
     "exercise", "solution", "proof", "theorem", "definition", "example", "remark", "aside", *VERSION_NOTES}
)


def role_text(inner: str) -> str:
    """What a reader sees of a role's text: "~pkg.load" -> "load", "the guide <guide>" -> "the guide"."""
    targeted = _TARGETED.match(inner)
    if targeted and targeted.group(1):
        return targeted.group(1)
    inner = inner.lstrip("!")
    return inner.rsplit(".", 1)[-1] if inner.startswith("~") else inner


def directive_name(name: str) -> str:
    """A directive's name without its domain, lower-cased ("py:function" -> "function")."""
    return name.lower().rsplit(":", 1)[-1]


def version_note(name: str, arguments: str, content: Sequence[str]) -> list[str] | None:
    """A version directive's blocks ("New in version 3.1: <its first block>", then the rest);
    None when ``name`` is not one (:data:`VERSION_NOTES`)."""
    prefix = VERSION_NOTES.get(directive_name(name))
    if prefix is None:
        return None
    head = f"{prefix} {arguments}:" if arguments else f"{prefix}:"
    if content:
        return [f"{head} {content[0]}", *content[1:]]
    return [head.rstrip(":") + "."]


__all__ = ["CODE_DIRECTIVES", "NO_ARGUMENTS", "TEXT_DIRECTIVES", "UNSEEN_CONTENT", "VERSION_NOTES", "directive_name", "role_text", "version_note"]
