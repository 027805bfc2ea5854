"""PowerPoint extraction (citeqa.ingest.slides) on a deck written as PowerPoint writes one, and its variants."""

from __future__ import annotations

import random

import pytest

from citeqa.errors import SourceError
from citeqa.ingest import archive as containers
from citeqa.ingest.extract import current_extractor_version, extract, sniff
from zips import FORMATS, pptx_parts, needing_zip_version, zip_bytes

DECK = FORMATS / "budget.pptx"


def test_the_committed_deck_is_what_its_writer_writes() -> None:
    assert DECK.read_bytes() == zip_bytes(pptx_parts())


def test_slides_are_read_in_order_titles_first_notes_after_their_slide() -> None:
    extracted = extract(DECK.read_bytes(), "budget.pptx")
    assert extracted.text.split("\n\n") == [
        "Harbour Budget 2027",  # the first slide's title: the properties' "PowerPoint Presentation" is no title of this deck
        "Board meeting, 3 March",  # its subtitle; its slide number "1" left out
        "Where the money goes",
        "Dredging the north channel",
        "New pontoons at the fish dock",
        "Approved by the board on 3 March.",  # a text box inside a group
        "Item: Dredging; Cost: 180,000 pounds.",  # a table row with its column heads
        "Item: Pontoons; Cost: 65,000 pounds.",
        "The dredging contract goes to tender in April, and work starts in September.",  # the speaker notes
        "Questions",
        "Contact the harbour office",  # a line break kept
        "Monday to Friday, 8:00 to 16:00",
    ]
    assert "slipway" not in extracted.text  # the hidden slide
    assert extracted.title == "Harbour Budget 2027"
    assert extracted.extractor == "pptx" and extracted.extractor_version == current_extractor_version("pptx")


def test_a_deck_is_told_by_its_parts_whatever_its_name() -> None:
    data = DECK.read_bytes()
    assert [sniff(data, name) for name in ("budget.pptx", "download", "BUDGET.PPTX")] == ["pptx"] * 3
    with pytest.raises(SourceError, match=r"budget\.pptx is not a PowerPoint deck: a \.pptx is a zip file"):
        extract(b"plain words, not a zip", "budget.pptx")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"PK\x03\x04" + bytes(range(256)) * 4, r"budget\.pptx cannot be read: its zip is damaged; save it again from PowerPoint"),
        (needing_zip_version(DECK.read_bytes(), 131), r"budget\.pptx cannot be read: its zip is damaged"),
        (zip_bytes(pptx_parts(), {"ppt/presentation.xml": None}), r"not a PowerPoint deck \(no readable ppt/presentation\.xml\)"),
        (
            zip_bytes(pptx_parts(), {f"ppt/slides/slide{n}.xml": None for n in (1, 2, 4)}),
            r"this deck has no text on its shown slides",  # the hidden slide's text is not read either
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), r"old Office file \(\.doc, \.xls, \.ppt\) or a password-protected one"),
    ],
)
def test_damaged_old_or_empty_decks_are_refused_with_what_to_do(data, says) -> None:
    with pytest.raises(SourceError, match=says):
        extract(data, "budget.pptx")


def test_relationships_outside_the_deck_are_not_followed() -> None:
    rels = pptx_parts()["ppt/_rels/presentation.xml.rels"]
    assert isinstance(rels, str)
    outside = rels.replace('Target="slides/slide4.xml"', 'Target="../../../etc/passwd"').replace(
        'Target="slides/slide1.xml"', 'Target="https://example.org/slide.xml" TargetMode="External"'
    )
    text = extract(zip_bytes(pptx_parts(), {"ppt/_rels/presentation.xml.rels": outside}), "budget.pptx").text
    assert "Where the money goes" in text and "Harbour Budget 2027" not in text and "Questions" not in text


def test_the_properties_title_serves_when_its_words_are_the_deck_s() -> None:
    core = pptx_parts()["docProps/core.xml"]
    assert isinstance(core, str)
    titled = zip_bytes(pptx_parts(), {"docProps/core.xml": core.replace("PowerPoint Presentation", "Harbour budget for 2027")})
    assert extract(titled, "budget.pptx").title == "Harbour budget for 2027"


def test_a_zip_bomb_is_refused_before_it_is_expanded(monkeypatch) -> None:
    monkeypatch.setattr(containers, "MAX_EXPANDED_BYTES", 1_000)
    with pytest.raises(SourceError, match=r"budget\.pptx would expand to [\d,]+ bytes, over the limit of 1,000"):
        extract(DECK.read_bytes(), "budget.pptx")


def test_a_deck_larger_than_other_formats_limit_is_read_its_pictures_unread(tmp_path) -> None:
    """Pictures make decks and books large; they are never read, so the 20 MB limit of other formats does not apply."""
    from citeqa.ingest.extracted import DEFAULT_MAX_BYTES
    from citeqa.ingest.sources import read_sources

    picture = random.Random(5).randbytes(DEFAULT_MAX_BYTES + 1_000_000)  # over 20 MB and incompressible, as pictures are
    deck = tmp_path / "budget.pptx"
    deck.write_bytes(zip_bytes(pptx_parts(), {"ppt/media/image1.png": picture}))
    assert deck.stat().st_size > DEFAULT_MAX_BYTES
    documents = read_sources([deck]).documents
    assert "Item: Pontoons; Cost: 65,000 pounds." in documents[0].text
