import pytest
import torch

from pipeline_lib.tokenizer.semantic_ids import (
    CollisionOverflowError,
    assign_semantic_ids,
    collision_stats,
    semantic_id_frame,
    utilization,
)


def test_colliding_items_get_0_1_2_in_item_id_order():
    codes = torch.tensor([[1, 2, 3], [1, 2, 3], [0, 0, 0], [1, 2, 3], [0, 0, 1]])
    ids = assign_semantic_ids(codes)
    assert ids.tolist() == [[1, 2, 3, 0], [1, 2, 3, 1], [0, 0, 0, 0], [1, 2, 3, 2], [0, 0, 1, 0]]
    assert len({tuple(r) for r in ids.tolist()}) == 5


def test_a_group_may_fill_but_not_outgrow_the_collision_vocabulary():
    assert assign_semantic_ids(torch.tensor([[4, 4], [4, 4]]), suffix_vocab=2)[:, -1].tolist() == [0, 1]
    codes = torch.tensor([[0, 1], [4, 4], [4, 4], [4, 4]])
    with pytest.raises(CollisionOverflowError, match=r"3 items share the codes \(4, 4\), more than the 2 values"):
        assign_semantic_ids(codes, suffix_vocab=2)


def test_collision_stats_and_utilization():
    codes = torch.tensor([[1, 2, 3], [1, 2, 3], [0, 0, 0], [1, 2, 3], [0, 0, 1]])
    assert collision_stats(codes) == {"collision_rate": 2 / 5, "max_collision_group": 3}
    assert collision_stats(torch.tensor([[0], [1]])) == {"collision_rate": 0.0, "max_collision_group": 1}
    assert utilization(codes, codebook_size=4) == [0.5, 0.5, 0.75]


def test_semantic_id_frame_columns():
    frame = semantic_id_frame(torch.tensor([[1, 2, 3, 0], [1, 2, 3, 1]]))
    assert list(frame.columns) == ["item_id", "sid_0", "sid_1", "sid_2", "sid_3"]
    assert frame["item_id"].tolist() == [0, 1]
    assert frame["sid_3"].tolist() == [0, 1]
    assert all(str(t) == "int64" for t in frame.dtypes)
