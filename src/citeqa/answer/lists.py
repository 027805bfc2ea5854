"""Lists in answers: the sentence or the list a [1] introduces, and the rest of a list the question asks for.

A list is one answer: "Which types can the parser manage?" is answered by the list after
"Here is the list of types that the parser can manage:", and "What may I bring on board?" by
the list under the heading "What you may bring on board", not by one item of either. Pure
logic over a window of one document's consecutive sentences (:class:`~citeqa.schema.Hit`
rows); :meth:`citeqa.Index.answer` supplies the window and what was ranked.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from ..schema import Hit
from ..text import is_list_item, opens_list

#: Sentences of a list that [1] brings along when the caller sets no limit (the rest are read
#: on with "Tell me more"): a list is one answer, not three sentences of it.
MAX_LIST_ITEMS = 10


def introduced_count(best: Hit, following: Sequence[Hit], limit: int, *, listed: bool = False) -> int:
    """How many of the sentences ``following`` the best hit in its document it introduces (at most ``limit``).

    A sentence ending with a colon ("Install everything the tests need and run them:", "In a
    1937 interview, he stated:") introduces the sentence after it, the command or the quotation
    the question asks for, and when that one opens a list ("• INTEGER;", "- Read the file.",
    "2. Run it."), the list's further items too, each with the sentences of its own paragraph
    ("• It's Free Software. Anybody can use ..."). A sentence holding a list's first item after
    its colon, as PDF extraction may leave it ("... the parser can manage: • INTEGER;"),
    introduces the items that follow. Anything else introduces nothing (0). ``listed``: ``best``
    is itself in a list (the last sentence an answer cited): the list's items after it.
    """
    if limit < 1 or not following or not (listed or opens_list(best.text)):
        return 0
    if not listed and best.text.rstrip().endswith(":") and not is_list_item(following[0].text):
        return 1  # a quotation or a command
    count, previous = 0, best
    for hit in following[:limit]:
        if not is_list_item(hit.text) and (hit.doc_id, hit.context_start) != (previous.doc_id, previous.context_start):
            break  # neither an item nor the rest of the one before
        count, previous = count + 1, hit
    return count


def _paragraphs(window: Sequence[Hit]) -> list[list[Hit]]:
    """``window``'s sentences grouped by paragraph, in order."""
    return [list(group) for _, group in itertools.groupby(window, key=lambda hit: (hit.doc_id, hit.context_start))]


def list_under_heading(best: Hit, window: Sequence[Hit], ranked: Sequence[Hit], is_heading: Callable[[int], bool], limit: int) -> list[Hit]:
    """The other sentences of the list ``best`` is an item of, in order, when the question asks for the list.

    It does when the heading right above the list ("What you may bring on board", then "-
    bicycles and prams", "- dogs on a lead" ...) is ranked (in ``ranked``) at least as high as
    ``best``: the question matches the list's heading as well as any one item, so the list is
    the answer. A question one item answers best ("Can I take my dog?") ranks that item far
    above the heading and gets the item alone. At most ``limit`` sentences; [] when ``best`` is
    no list's item, the window does not reach the list's head, or no heading heads it.
    """
    groups = _paragraphs(window)
    at = next((k for k, group in enumerate(groups) if any(hit.sentence_id == best.sentence_id for hit in group)), None)
    if limit < 1 or at is None or not is_list_item(groups[at][0].text):
        return []
    first = at
    while first > 0 and is_list_item(groups[first - 1][0].text):
        first -= 1
    head = groups[first - 1][-1] if first > 0 else None
    score = next((hit.score for hit in ranked if head is not None and hit.sentence_id == head.sentence_id), None)
    if head is None or score is None or score < best.score or not is_heading(head.sentence_id):
        return []
    items = itertools.takewhile(lambda group: is_list_item(group[0].text), groups[first:])
    return [hit for group in items for hit in group if hit.sentence_id != best.sentence_id][:limit]


def brought_along(
    best: Hit, window: Sequence[Hit], ranked: Sequence[Hit], is_heading: Callable[[int], bool], limit: int, *, listed: bool = False
) -> list[Hit]:
    """What [1] (``best``) brings along, cited right after it: the sentences it introduces
    (:func:`introduced_count`; ``listed``: the list's items after it), else the rest of the list
    whose heading the question matched (:func:`list_under_heading`). A sentence keeps its ranked
    score when ``ranked`` holds it, else 0. ``window``: ``best``'s document's consecutive sentences
    around it (``best`` among them), scored 0.
    """
    at = next((k for k, hit in enumerate(window) if hit.sentence_id == best.sentence_id), None)
    if at is None or limit < 1:
        return []
    after = list(window[at + 1 :])
    count = introduced_count(best, after, limit, listed=listed)
    chosen = after[:count] if count or listed else list_under_heading(best, window, ranked, is_heading, limit)
    scored = {hit.sentence_id: hit for hit in ranked}
    return [scored.get(hit.sentence_id, hit) for hit in chosen]
