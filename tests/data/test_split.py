from pipeline_lib.data.interactions import canonical_frame
from pipeline_lib.data.split import dataset_stats, split_dataset


def make_split(max_seq_len=20):
    rows = [
        ("u2", "i9", 10), ("u2", "i1", 20), ("u2", "i3", 30), ("u2", "i2", 40),
        ("u1", "i1", 5), ("u1", "i2", 6), ("u1", "i3", 6), ("u1", "i9", 7), ("u1", "i4", 8), ("u1", "i5", 9),
    ]
    users, items, stamps = zip(*rows)
    return split_dataset(canonical_frame(users, items, stamps), max_seq_len)


def test_ids_are_contiguous_in_sorted_raw_order():
    split = make_split()
    assert split.users["user"].tolist() == ["u1", "u2"]
    assert split.users["user_id"].tolist() == [0, 1]
    assert split.items["parent_asin"].tolist() == ["i1", "i2", "i3", "i4", "i5", "i9"]
    assert split.items["item_id"].tolist() == list(range(6))


def test_sequences_are_chronological_with_stable_ties():
    split = make_split()
    seq = dict(zip(split.sequences.user_id, split.sequences.item_ids))
    assert list(seq[0]) == [0, 1, 2, 5, 3, 4]  # i1 i2 i3 (tie at 6 keeps file order) i9 i4 i5
    assert list(seq[1]) == [5, 0, 2, 1]


def test_leave_one_out():
    split = make_split()
    train = dict(zip(split.train.user_id, split.train.item_ids))
    assert list(train[0]) == [0, 1, 2, 5] and list(train[1]) == [5, 0]
    valid = split.valid.set_index("user_id")
    test = split.test.set_index("user_id")
    assert valid.loc[0, "target"] == 3 and list(valid.loc[0, "history"]) == [0, 1, 2, 5]
    assert test.loc[0, "target"] == 4 and list(test.loc[0, "history"]) == [0, 1, 2, 5, 3]
    assert test.loc[1, "target"] == 1 and list(test.loc[1, "history"]) == [5, 0, 2]


def test_history_truncated_to_most_recent():
    split = make_split(max_seq_len=2)
    test = split.test.set_index("user_id")
    valid = split.valid.set_index("user_id")
    assert list(test.loc[0, "history"]) == [5, 3]
    assert list(valid.loc[0, "history"]) == [2, 5]
    assert list(dict(zip(split.train.user_id, split.train.item_ids))[0]) == [0, 1, 2, 5]  # train kept whole


def test_stats():
    stats = dataset_stats(make_split())
    assert stats["users"] == 2 and stats["items"] == 6 and stats["interactions"] == 10
    assert stats["sparsity"] == 1 - 10 / 12
    assert stats["train_interactions"] == 10 - 2 * 2
