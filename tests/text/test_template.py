import pytest

from pipeline_lib.data.meta import from_amazon2023, from_lcrec
from pipeline_lib.text.template import clean_text, item_text, validate_fields

FIELDS = ["title", "brand", "categories", "features", "description"]


def test_full_template():
    meta = from_amazon2023(
        {
            "title": "Glass Slides",
            "store": "LabCo",
            "categories": ["Industrial & Scientific", "Lab Supplies"],
            "features": ["72 pcs", "  "],
            "description": ["Clear <b>glass</b> &amp; frosted end.<br>Pre-cleaned"],
        }
    )
    assert item_text(meta, FIELDS, 1000) == (
        "Title: Glass Slides. Brand: LabCo. Categories: Industrial & Scientific > Lab Supplies. "
        "Features: 72 pcs. Description: Clear glass & frosted end. Pre-cleaned."
    )


def test_missing_fields_are_skipped_and_brand_falls_back_to_details():
    meta = from_amazon2023({"title": "Tips", "store": None, "details": {"Brand": "Acme"}, "features": None})
    assert item_text(meta, FIELDS, 1000) == "Title: Tips. Brand: Acme."


def test_field_order_and_truncation_follow_params():
    meta = from_amazon2023({"title": "T", "store": "S"})
    assert item_text(meta, ["brand", "title"], 1000) == "Brand: S. Title: T."
    assert item_text(meta, ["brand", "title"], 5) == "Brand"


def test_lcrec_categories_path():
    meta = from_lcrec({"title": "x", "categories": "A,B , C", "brand": "b", "description": "d"})
    assert meta.categories == ("A", "B", "C")
    assert item_text(meta, ["categories", "description"], 100) == "Categories: A > B > C. Description: d."


def test_clean_text():
    assert clean_text("a<br/>b&nbsp;&lt;c&gt;\n\n d") == "a b <c> d"


def test_unknown_field_rejected():
    with pytest.raises(ValueError, match="subset"):
        validate_fields(["title", "colour"])
