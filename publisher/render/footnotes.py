"""What `check` says about a post's footnotes: a marker with no note, a note never referred
to, a note written twice or inside another. Each would show the page other than as written
(a "[^2]" as it is, or a note left out), so each is a problem to fix, at its line."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from publisher.render.markdown import _NOTES_IN_NOTES, _parser
from publisher.render.markdown_tree import _NOTE_LABEL, _NOTE_NOT_FIRST

if TYPE_CHECKING:
    from markdown_it.token import Token

_MARKER = re.compile(r"\[\^([^\]\s]+)\]")


def footnotes_need_checking(source: str, html: str) -> bool:
    """Tell whether footnote_problems could find a problem in source, rendered as html
    (without raw HTML), or else save its parse (a few milliseconds): a text whose notes all
    start their lines, each written once and each on the page, with no marker left as text."""
    labels = _NOTE_LABEL.findall(source)
    return (
        "[^" in html  # a marker with no note, or a note not read as one (in code: checked too)
        or "^[" in source  # a note in the text is on the page without a line of its own
        or len(set(labels)) != len(labels)
        or html.count('class="footnote-item"') != len(labels)  # one never referred to
        or _NOTE_NOT_FIRST.search(source) is not None  # in a list, a quote or another note
        # a marker in a photo's alt text: its note links back to a marker not on the page
        or html.count('class="footnote-ref"') != html.count('class="footnote-backref"')
    )


def footnote_problems(source: str, *, allow_html: bool = False) -> list[tuple[int, str]]:
    """The footnote problems of a post's text: (line of the text, from 0; what to do)."""
    env: dict[str, Any] = {}
    tokens = _parser(bool(allow_html), checking=True).parse(source, env)
    lines = source.split("\n")
    problems: list[tuple[int, str]] = []
    written: dict[str, list[int]] = {}  # the lines of each note
    notes = env.get("footnotes", {})
    for token in tokens:
        if token.type == "footnote_reference_open" and token.map:
            written.setdefault(token.meta["label"], []).append(token.map[0])
        elif token.type == "inline" and token.map:
            for label, line in _markers_in_alt_text(token.children or (), lines, token.map):
                problems.append(
                    (
                        line,
                        f"footnote [^{label}] is in a photo's description (its alt text, "
                        f"between ![ and ]), where the page cannot show it and its note would "
                        f"link back to nothing: move [^{label}] into the text, after the "
                        f"sentence it belongs to, and keep the description plain words",
                    )
                )
            for label, line in _markers_left_as_text(token.children or (), notes, lines, token.map):
                problems.append(
                    (
                        line,
                        f"footnote [^{label}] has no note, so the page would show [^{label}] as "
                        f"written: add the note at the end, on a line of its own at the left "
                        f"margin (after a blank line):  [^{label}]: the source or remark  "
                        f"(or take [^{label}] out of the text)",
                    )
                )
    for label, at in written.items():
        if notes.get("refs", {}).get(":" + label, -1) < 0:  # -1: written, never referred to
            problems.append(
                (
                    at[0],
                    f"note [^{label}] is never referred to in the text, so the page would not "
                    f"show it: put [^{label}] in the text where the note belongs (right after "
                    "the word or sentence), or delete the note",
                )
            )
        for first, again in zip(at, at[1:], strict=False):
            problems.append(
                (
                    again,
                    f"note [^{label}] is written a second time here ({again - first} lines "
                    "below the first): the page would show only the last: give each note "
                    f"its own label, like [^{label}b], or delete one",
                )
            )
    for line in env.get(_NOTES_IN_NOTES, ()):
        label = _MARKER.match(lines[line].lstrip(" \t>-+*0123456789.)"))
        name = f"[^{label[1]}]" if label else "this note"
        # said once: not also as a marker with no note
        problems = [p for p in problems if p[0] != line or not p[1].startswith(f"footnote {name}")]
        problems.append(
            (
                line,
                f"note {name} is indented under the note above it, so it is read as part of "
                "that note: start it at the left margin, after a blank line",
            )
        )
    return sorted(problems)


def _markers_left_as_text(
    children: Sequence[Token], notes: dict[str, Any], lines: list[str], where: list[int]
) -> list[tuple[str, int]]:
    """Each marker of a block (its inline tokens; lines `where`) that is text, not a footnote:
    (label, line)."""
    found: list[tuple[str, int]] = []
    searched_from = 0
    block = "\n".join(lines[where[0] : where[1]])
    for child in _inline_tokens(children, notes):
        if child.type != "text":
            continue
        for marker in _MARKER.finditer(child.content):
            at = block.find(marker[0], searched_from)
            if at == -1:
                at = max(block.find(marker[0]), 0)
            else:
                searched_from = at + 1
            found.append((marker[1], where[0] + block.count("\n", 0, at)))
    return found


def _markers_in_alt_text(
    children: Sequence[Token], lines: list[str], where: list[int]
) -> list[tuple[str, int]]:
    """Each footnote marker of a block (its inline tokens; lines `where`) that is in an
    image's alt text: (label, line of the image)."""
    found: list[tuple[str, int]] = []
    block = "\n".join(lines[where[0] : where[1]])
    for child in children:
        if child.type == "image":
            labels = [t.meta["label"] for t in child.children or () if t.type == "footnote_ref"]
            at = max(block.find(f"![{child.content}"), 0)
            found += [(label, where[0] + block.count("\n", 0, at)) for label in labels]
        if child.children:
            found += _markers_in_alt_text(child.children, lines, where)
    return found


def _inline_tokens(children: Sequence[Token], notes: dict[str, Any]) -> list[Token]:
    """Inline tokens in order, with those of an image's alt text and of a note written in
    the text ("^[...]")."""
    out: list[Token] = []
    for child in children:
        out.append(child)
        if child.children:
            out.extend(_inline_tokens(child.children, notes))
        if child.type == "footnote_ref":
            note = notes.get("list", {}).get(child.meta["id"], {})
            out.extend(_inline_tokens(note.get("tokens", ()), notes))
    return out
