import pandas as pd
import pytest
import torch

from pipeline_lib.data.attributes import attribute_table
from pipeline_lib.data.meta import ItemMeta

META = {
    "a": ItemMeta("A", brand="Acme", main_category="Sci", categories=("Sci", "Lab", "Glass")),
    "b": ItemMeta("B", brand="Lab", categories=("Sci", "Lab")),  # brand "Lab" is not the level "Lab"
    "c": ItemMeta("C"),  # no attributes at all
    "d": ItemMeta("D", brand=" Acme ", categories=("Tools",)),
}


def items(order: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"item_id": range(len(order)), "parent_asin": order})


def test_vocabulary_is_contiguous_sorted_and_zero_pads():
    table = attribute_table(items(["a", "b", "c", "d"]), META)
    assert table.vocabulary == ("brand:Acme", "brand:Lab", "category:Glass", "category:Lab", "category:Sci",
                                "category:Tools")
    assert table.n_attributes == 6
    named = [[table.vocabulary[k - 1] for k in row if k] for row in table.ids.tolist()]
    assert named == [
        ["category:Sci", "category:Lab", "category:Glass", "brand:Acme"],  # main_category de-duplicated
        ["category:Sci", "category:Lab", "brand:Lab"],
        [],
        ["category:Tools", "brand:Acme"],
    ]
    assert table.ids.shape == (4, 4) and table.ids.dtype == torch.long
    assert set(table.ids.unique().tolist()) == set(range(table.n_attributes + 1))  # every id used, 0 = padding
    assert (table.ids[1:2, 3:] == 0).all() and (table.ids[2] == 0).all()


def test_deterministic_and_independent_of_row_order():
    first = attribute_table(items(["a", "b", "c", "d"]), META)
    again = attribute_table(items(["a", "b", "c", "d"]), META)
    shuffled = attribute_table(items(["a", "b", "c", "d"]).iloc[[2, 0, 3, 1]], META)
    assert first.vocabulary == again.vocabulary == shuffled.vocabulary
    assert torch.equal(first.ids, again.ids) and torch.equal(first.ids, shuffled.ids)


def test_no_attributes_anywhere_gives_one_padding_column():
    table = attribute_table(items(["c"]), META)
    assert table.n_attributes == 0 and table.ids.tolist() == [[0]]


def test_item_ids_must_be_contiguous():
    with pytest.raises(ValueError, match="item ids"):
        attribute_table(pd.DataFrame({"item_id": [0, 2], "parent_asin": ["a", "b"]}), META)


def test_of_kind_keeps_one_kinds_ids_in_order_left_aligned():
    table = attribute_table(items(["a", "b", "c", "d"]), META)
    name = lambda k: table.vocabulary[k - 1] if k else None  # noqa: E731
    categories, brands = table.of_kind("category"), table.of_kind("brand")
    assert [[name(k) for k in row] for row in categories.tolist()] == [
        ["category:Sci", "category:Lab", "category:Glass"],
        ["category:Sci", "category:Lab", None],
        [None, None, None],
        ["category:Tools", None, None],
    ]
    assert [name(k) for k in brands[:, 0].tolist()] == ["brand:Acme", "brand:Lab", None, "brand:Acme"]
    assert brands.shape == (4, 1) and categories.dtype == brands.dtype == torch.long
    empty = attribute_table(items(["c"]), META)
    assert empty.of_kind("category").tolist() == empty.of_kind("brand").tolist() == [[0]]
    with pytest.raises(ValueError, match="attribute kind"):
        table.of_kind("title")
