import pytest

from pipeline_lib.data.meta import from_amazon2023, from_lcrec
from pipeline_lib.text.config import EmbedConfig
from pipeline_lib.text.template import clean_text, item_text

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
    meta = from_lcrec(
        {
            "title": "x",
            "categories": "Industrial & Scientific,Tapes, Adhesives & Sealants,Cyanoacrylate Adhesives",
            "description": "d",
        }
    )
    assert item_text(meta, ["categories", "description"], 1000) == (
        "Categories: Industrial & Scientific > Tapes, Adhesives & Sealants > Cyanoacrylate Adhesives. "
        "Description: d."
    )


def test_clean_text():
    assert clean_text("a<br/>b&nbsp;&lt;c&gt;\n\n d") == "a b <c> d"


def test_clean_text_keeps_comparison_signs_between_tags():
    # The former regex tag stripper deleted everything from "< 0.5%" to "> 400".
    description = (
        "<p>Accuracy < 0.5% of reading. Range -50 to 300 C. Stores > 400 readings.<br>"
        "Waterproof &amp; easy to clean.</p>"
    )
    assert clean_text(description) == (
        "Accuracy < 0.5% of reading. Range -50 to 300 C. Stores > 400 readings. Waterproof & easy to clean."
    )


@pytest.mark.parametrize(
    ("source", "visible"),
    [
        ("a<b", "a<b"),
        ("x > y", "x > y"),
        ("CV <= 0.01% + 2 mV, CC <= 0.2% + 2 mA> Load", "CV <= 0.01% + 2 mV, CC <= 0.2% + 2 mA> Load"),
        ("FEATURES: <> Zero setting", "FEATURES: <> Zero setting"),
        ("&lt;b&gt; is escaped &amp;amp; shown", "<b> is escaped &amp; shown"),
        ("R&D and B&K Precision", "R&D and B&K Precision"),
        ("It&rsquo;s 5&#176;C &#x2013; fine", "It\u2019s 5\u00b0C \u2013 fine"),
        ("<b>Bold</b>ed <span class='x'>text</span>", "Bolded text"),
        ("one<br>two<br/>three<p>four</p><div>five</div>", "one two three four five"),
        ("<ul><li>first</li><li>second</li></ul>", "first second"),
        ("<table><tr><td>a</td><td>b</td></tr></table>", "a b"),
        ("kept <!-- a comment --> text", "kept text"),
        ("<!--[if lte IE 8]> <![endif]--> <!--[if gt IE 8]><!--><!----> Visible", "Visible"),
        ("before<script>var s = '<p>' + 1;</script> after", "before after"),
        ("<style>p { color: red }</style>styled", "styled"),
        ("ends with an open <i", "ends with an open <i"),
        ("  spaced\n\tout\u00a0words  ", "spaced out words"),
    ],
)
def test_clean_text_is_the_visible_text(source, visible):
    assert clean_text(source) == visible


def test_unknown_field_rejected():
    with pytest.raises(ValueError, match="subset"):
        EmbedConfig(fields=["title", "colour"])
