from pipeline_lib.data.meta import from_lcrec


def test_lcrec_category_levels_keep_their_inner_commas():
    meta = from_lcrec(
        {"title": "Glue", "categories": "Industrial & Scientific,Tapes, Adhesives & Sealants,Cyanoacrylate Adhesives"}
    )
    assert meta.categories == ("Industrial & Scientific", "Tapes, Adhesives & Sealants", "Cyanoacrylate Adhesives")
    assert meta.main_category == "Industrial & Scientific"


def test_lcrec_categories_blank_levels_dropped_and_missing_is_empty():
    assert from_lcrec({"title": "t", "categories": "A,,B, C,"}).categories == ("A", "B, C")
    assert from_lcrec({"title": "t"}).categories == ()
