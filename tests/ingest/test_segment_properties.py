"""Property tests for segmentation: random Unicode documents keep exact, complete offsets."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pysbd.lang.english import English
from pysbd.processor import Processor

from citeqa.ingest import segment
from citeqa.schema import Document
from citeqa.ingest.segment import segment_document

# Pieces that stress segmentation and offsets: line endings, NBSP and other
# white space, combining marks, emoji with modifiers and joiners, right-to-left
# text and bidi controls, C0/C1 controls, pysbd's own mark symbols, abbreviations,
# quotes, brackets, list markers and runs of punctuation.
_PIECES = [
    "\r\n", "\n", "\r", "\n\n", " ", "  ", "\t", "\xa0", "\u2028", "\u2029", "\x85", "\x0b", "\x0c",
    "\x00", "\x1c", "\x1f", "\x7f", "\x9b", "\u200b", "\u200d", "\ufeff",
    "e\u0301", "\u0301", "👍🏽", "👨\u200d👩\u200d👧", "🇹🇷", "שלום. ", "مرحبا؟ ", "\u202e", "\u2066",
    "∯", "♭", "ȸ", "ȹ", "ƪ", "☏", "&ᓴ&", "&⎋&", "♨", "☝",
    ". ", ".", "!", "?", "?!", "...", " . . . ", "。", "！", "？",
    "Mr. ", "Dr. Smith", "e.g. ", "U.S. ", "No. 5", "p. 3", "a.m. ", "Sept. 7", "Jan. ",
    '"', "'", "“", "”", "(", ")", "[", "]", "(AA Photo)", "--", "-",
    "1. ", "2) ", "a. ", "iv. ", "(ii) ",
    "The", "word", "lower", "Capital", "İstanbul", "ǃXũ", "{mr} ", "42", "3.5",
]
_documents = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.text(max_size=6)),
    max_size=60,
).map("".join)


def _segment(text: str):
    return segment_document(Document(doc_id="d", text=text, path="d", sha256=""))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents)
def test_random_documents_keep_exact_ordered_complete_offsets(text):
    sentences = _segment(text)
    previous_end = 0
    covered = 0
    for s in sentences:
        assert text[s.start : s.end] == s.text
        assert s.text and s.text == s.text.strip()
        assert previous_end <= s.start < s.end
        assert s.paragraph_start <= s.start and s.end <= s.paragraph_end
        previous_end = s.end
        covered += sum(not ch.isspace() for ch in s.text)
    # nothing lost: every visible character is in exactly one sentence
    assert covered == sum(not ch.isspace() for ch in text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents)
def test_fast_pysbd_path_returns_pysbd_s_own_sentences(text):
    # _Processor/_English (linear abbreviations, literal replaces) must equal pysbd 0.3.4
    flat = text.translate(segment._FLAT)
    assert segment._Processor(flat, segment._English).process() == Processor(flat, English).process()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), min_size=20, max_size=150).map("".join))
def test_small_windows_keep_offsets_exact(text):
    # long paragraphs are read in windows; with tiny windows every cut path is taken
    original = segment._CHUNK
    segment._CHUNK = 64
    try:
        sentences = _segment(text)
    finally:
        segment._CHUNK = original
    previous_end = 0
    for s in sentences:
        assert text[s.start : s.end] == s.text
        assert s.text and s.text == s.text.strip() and previous_end <= s.start
        previous_end = s.end
    assert sum(not ch.isspace() for s in sentences for ch in s.text) == sum(not ch.isspace() for ch in text)
