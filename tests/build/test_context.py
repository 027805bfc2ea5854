"""The corpus-wide arrays computed at build time: mean vectors read block by block, BM25 tokens of many texts at once."""

from __future__ import annotations

import json
import random
import re
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import Stemmer

from citeqa import text as text_module
from citeqa.answer import focus
from citeqa.answer.focus import Vocabulary
from citeqa.build import context
from citeqa.build.pipeline import _join
from citeqa.store.lexical import BM25Index
from citeqa.text import STOPWORDS, Tokenizer, _places, place_table, tokenize

SQUAD = Path(__file__).resolve().parents[1] / "data" / "squad-extract.json"
#: Texts where tokenizing many at once could go wrong: names over several words (and
#: inside one another), a capital's two tokens, apostrophes, accents and other folding,
#: the chunk separator inside a text, texts without a word.
TRICKY = [
    "South Korean and North Korean officials met in New Delhi, then in Sri Lanka's capital.",
    "The United Arab Emirates, the United States and the United Kingdom; united we stand.",
    "Erdoğan visited Türkiye, Ankara and Baku; the Turkish lira fell.",
    "rock''n roll, don't, students' books, Qur'an and l’Oréal",
    "ǅungla ΣΑΣ Straße œuvre Øresund İstanbul",
    "a text\x00with the separator\x00New Zealand",
    "",
    "  ... !!! ",
    "the of and a",
    "New",
    "South",
    "as as as Saudi",
    "Saudi Arabia",
    "Bosnia and Herzegovina's Sarajevo",
]


def _texts() -> list[str]:
    data = json.loads(SQUAD.read_text(encoding="utf-8"))
    paragraphs = [p["context"] for article in data["data"] for p in article["paragraphs"]]
    sentences = [s for paragraph in paragraphs for s in paragraph.split(". ")]
    return TRICKY + sentences + TRICKY + paragraphs


def _fuzz_texts(count: int = 3000, seed: int = 0) -> list[str]:
    """Random texts of the characters tokenizing and folding treat apart (apostrophes,
    hyphens, underscores, the separator, accents precomposed and combining, letters that
    fold to two, capitals) and of words that start names of several words."""
    rng = random.Random(seed)
    pieces = list("aAbZ09'’-_ .,\x00") + ["é", "e\u0301", "İ", "ß", "ﬁ", "Σ", "ı", "²", "\u00a0", "New", " York", " Zealand", "South", " Korean", " Arab", " Emirates", "United", "Ankara", "don't", "the", "--"]
    return [
        "".join(rng.choice(pieces) for _ in range(rng.randint(0, 24)))
        for _ in range(count)
    ]


# the reference: the rules as first written (bm25s-style word by word: fold with
# unicodedata, the word pattern, PyStemmer's English Snowball, stop words, then the
# longest place name at each word), independent of citeqa.text.Tokenizer
_REFERENCE_FOLD = str.maketrans({"ı": "i", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ł": "l", "Ł": "l", "æ": "ae", "œ": "oe", "ß": "ss", "’": "'"})
_REFERENCE_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_REFERENCE_STEMMER = Stemmer.Stemmer("english")


def _reference_fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_REFERENCE_FOLD))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def _reference_tokens(text: str, table=None) -> list[str]:
    if table is None:
        table = _places()[0]
    longest = max(len(key) for key in table)
    folded = [w.replace("'", "") for w in _REFERENCE_WORD.findall(_reference_fold(text))]
    stems = _REFERENCE_STEMMER.stemWords(folded)
    out: list[str] = []
    i = 0
    while i < len(stems):
        for length in range(min(longest, len(stems) - i), 0, -1):
            tokens = table.get(tuple(stems[i : i + length]))
            if tokens is not None:
                out.extend(tokens)
                i += length
                break
        else:
            if folded[i] not in STOPWORDS:
                out.append(stems[i])
            i += 1
    return out


def test_folding_by_runs_of_non_ascii_characters_folds_the_whole_text():
    texts = TRICKY + _fuzz_texts(seed=4) + ["Ǆ\u0316\u0301e\u0301\u0316 Σ ΣΑΣ ꭰ Ꭰ ﬃ ½ ＡＢ"]
    assert [text_module.fold(t) for t in texts] == [_reference_fold(t) for t in texts]
    assert text_module.fold("Erdoğan ALTI Altı") == "erdogan alti alti"


def test_tokens_are_the_reference_ones_on_known_texts():
    expected = {
        TRICKY[0]: ["south_korea", "north_korea", "offici", "met", "new", "delhi", "india", "sri_lanka", "capit"],
        TRICKY[2]: ["erdogan", "visit", "turkey", "ankara", "turkey", "baku", "azerbaijan", "turkey", "lira", "fell"],
        TRICKY[3]: ["rock", "n", "roll", "dont", "student", "book", "quran", "loreal"],
        TRICKY[5]: ["text", "separ", "new_zealand"],
        "Running runners ran; the UNITED STATES": ["run", "runner", "ran", "united_states"],
        "": [],
    }
    for text, tokens in expected.items():
        assert _reference_tokens(text) == tokens, text
        assert tokenize(text) == tokens, text


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_token_ids_of_many_texts_are_the_reference_tokens_of_each_alone(monkeypatch, chunk):
    texts = _texts() + _fuzz_texts()
    monkeypatch.setattr(text_module, "TOKEN_CHUNK", chunk)
    found = context.corpus_token_ids(texts)
    reference = [_reference_tokens(t) for t in texts]
    assert found.texts() == reference
    assert [tokenize(t) for t in texts] == reference  # one text at a time: the same
    assert sorted(found.vocabulary) == sorted({t for t in found.texts() for t in t})  # each occurs
    assert found.ids.dtype == np.int32 and found.offsets.shape == (len(texts) + 1,)


def test_a_tokenizer_reads_its_own_place_table_and_keeps_what_it_learnt():
    table = place_table(["Turkey\tname\tturkey", "Turkey\tdemonym\tturkish", "South Korea\tname\tsouth korea"])
    tokenizer = Tokenizer(table)
    texts = ["Turkish South Korea ships", "south korean korea"] + _fuzz_texts(200, seed=1)
    assert [tokenizer.tokens(t) for t in texts] == [_reference_tokens(t, table) for t in texts]
    assert tokenizer.token_ids(texts).texts() == [_reference_tokens(t, table) for t in texts]  # after learning them
    assert tokenizer.tokens("Turkish South Korea ships") == ["turkey", "south_korea", "ship"]


def test_the_vocabulary_read_from_plain_pieces_is_the_vocabulary_of_the_texts():
    texts = _texts() + _fuzz_texts(seed=2) + ["state-of-the-art rock'n-roll a--b -x- 'tis x'-y X-Ray"]
    tokens = [_reference_tokens(t) for t in texts]
    stems = {t for words in tokens for t in words}
    lexical = context.lexical_arrays(np.zeros((len(texts), 4), dtype=np.int64), texts)
    assert lexical.vocabulary == Vocabulary.from_texts(texts, stems).word_lists()
    assert "stateoftheart" in lexical.vocabulary["words"] and "xray" in lexical.vocabulary["words"]


def test_compounds_found_from_where_a_word_starts_are_those_of_the_first_pattern():
    first = re.compile(r"[^\W_]+(?:-[^\W_]+)+")  # the pattern before its lookbehind
    texts = _fuzz_texts(seed=3) + ["well-known x-ray co-op's a_b-c 9-11 ab-é-d"]
    assert [focus._COMPOUND.findall(t) for t in texts] == [first.findall(t) for t in texts]
    assert sum(len(first.findall(t)) for t in texts) > 100


def test_bm25_from_token_ids_equals_bm25s_from_tokens():
    texts = _texts()
    tokens = [tokenize(t) for t in texts]
    found = context.corpus_token_ids(texts)
    ours = BM25Index.from_token_ids(found.ids, found.offsets, found.vocabulary)._model
    theirs = BM25Index.from_tokens(tokens)._model
    assert set(ours.vocab_dict) == set(theirs.vocab_dict) and ours.scores["num_docs"] == theirs.scores["num_docs"]
    for name in ("data", "indices", "indptr"):
        assert ours.scores[name].dtype == theirs.scores[name].dtype
    for word, number in theirs.vocab_dict.items():
        if word == "":
            assert ours.vocab_dict[word] == len(ours.scores["indptr"]) - 1  # the placeholder, numbered last
            continue
        mine = ours.vocab_dict[word]
        a, b = theirs.scores["indptr"][number : number + 2]
        c, d = ours.scores["indptr"][mine : mine + 2]
        assert ours.scores["indices"][c:d].tolist() == theirs.scores["indices"][a:b].tolist(), word
        assert ours.scores["data"][c:d].tobytes() == theirs.scores["data"][a:b].tobytes(), word  # bit for bit


def test_lexical_arrays_index_sentences_and_paragraphs_and_the_vocabulary_as_before():
    texts = _texts()
    tokens = [tokenize(t) for t in texts]
    rows = np.zeros((len(texts), 4), dtype=np.int64)
    rows[:, 0] = np.arange(len(texts)) // 7  # documents of 7 sentences, paragraphs of 3
    rows[:, 3] = np.arange(len(texts)) % 7 // 3
    lexical = context.lexical_arrays(rows, texts)
    paragraph = context.paragraph_numbers(rows)
    by_paragraph: list[list[str]] = [[] for _ in range(int(paragraph[-1]) + 1)]
    for number, words in zip(paragraph.tolist(), tokens):
        by_paragraph[number].extend(words)
    query = ["new_zealand", "unit", "korea", "turkey", "oeuvr", "rock"]
    for ours, expected in ((lexical.bm25, BM25Index.from_tokens(tokens)), (lexical.paragraph_bm25, BM25Index.from_tokens(by_paragraph))):
        assert ours.size == expected.size
        assert ours.scores_of_tokens(query).tobytes() == expected.scores_of_tokens(query).tobytes()
        assert np.abs(ours.scores_of_tokens(query)).sum() > 0
    assert lexical.vocabulary == Vocabulary.from_texts(texts, {t for words in tokens for t in words}).word_lists()


def test_group_means_by_blocks_equal_one_pass_whatever_the_block_size(monkeypatch):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((500, 8)).astype(np.float32)
    starts = np.unique(np.r_[0, rng.integers(1, 500, 60)])
    one_pass = context.group_means(vectors, starts)
    sums = np.add.reduceat(vectors, starts, axis=0)
    np.testing.assert_array_equal(one_pass, (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32))
    for block in (1, 7, 64, 499):  # groups cut by block ends, blocks inside a group
        monkeypatch.setattr(context, "MEAN_BLOCK", block)
        np.testing.assert_allclose(context.group_means(vectors, starts), one_pass, atol=1e-6)
        np.testing.assert_allclose(context.group_means(vectors.astype(np.float16), starts), one_pass, atol=2e-3)


def test_joined_vectors_keep_their_order_and_release_each_part():
    parts = [np.full((n, 4), i, dtype=np.float32) for i, n in enumerate((3, 0, 5, 1))]
    joined = _join(parts, 4, np.float16)
    assert joined.dtype == np.float16 and joined.shape == (9, 4)
    assert joined[:, 0].tolist() == [0, 0, 0, 2, 2, 2, 2, 2, 3]
    assert all(p.shape[0] == 0 for p in parts)


@pytest.mark.parametrize("blocks", [None, (97, 13)])
def test_paragraph_postings_summed_from_the_sentences_are_those_of_the_paragraphs_tokens(blocks, monkeypatch):
    from citeqa.store import lexical

    if blocks is not None:  # runs of postings and texts that straddle the blocks they are made in
        monkeypatch.setattr(lexical, "BUILD_BLOCK", blocks[0])
        monkeypatch.setattr(lexical, "TEXT_BLOCK", blocks[1])
    texts = _texts()
    found = context.corpus_token_ids(texts)
    rng = np.random.default_rng(0)
    group_offsets = np.unique(np.r_[0, rng.integers(0, len(texts), 300), len(texts)])  # some paragraphs of one sentence
    sentences, paragraphs = BM25Index.pair_from_token_ids(found.ids, found.offsets, group_offsets, found.vocabulary)
    alone = BM25Index.from_token_ids(found.ids, found.offsets[group_offsets], found.vocabulary)
    assert sentences.size == len(texts) and paragraphs.size == alone.size == group_offsets.shape[0] - 1
    for key in ("data", "indices", "indptr"):
        assert paragraphs._model.scores[key].dtype == alone._model.scores[key].dtype
        assert paragraphs._model.scores[key].tobytes() == alone._model.scores[key].tobytes()
    assert paragraphs._model.vocab_dict == alone._model.vocab_dict
