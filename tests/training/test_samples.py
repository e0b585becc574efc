import pandas as pd

from pipeline_lib.training.samples import evaluation_samples, prefix_samples


def test_prefix_samples_every_prefix_right_aligned_and_truncated():
    train = pd.DataFrame({"user_id": [4, 9], "item_ids": [[1, 2, 3, 4], [7, 8]]})
    s = prefix_samples(train, max_len=2)
    assert s.histories.tolist() == [[-1, 1], [1, 2], [2, 3], [-1, 7]]
    assert s.targets.tolist() == [2, 3, 4, 8]
    assert s.users.tolist() == [4, 4, 4, 9]


def test_prefix_samples_single_item_sequence_gives_none():
    s = prefix_samples(pd.DataFrame({"user_id": [0, 1], "item_ids": [[5], [6, 7, 8]]}), max_len=3)
    assert s.histories.tolist() == [[-1, -1, 6], [-1, 6, 7]]
    assert s.users.tolist() == [1, 1]


def test_evaluation_samples():
    frame = pd.DataFrame({"user_id": [0, 1], "history": [[1, 2, 3], [4]], "target": [9, 8]})
    s = evaluation_samples(frame, max_len=2)
    assert s.histories.tolist() == [[2, 3], [-1, 4]]
    assert s.targets.tolist() == [9, 8] and s.users.tolist() == [0, 1]
    assert len(s.select(s.targets == 8)) == 1
