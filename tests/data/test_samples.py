import pandas as pd

from pipeline_lib.data.samples import evaluation_samples, prefix_samples


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


def test_bucketed_batches_cover_every_sample_once_with_tight_widths():
    import torch

    from pipeline_lib.data.samples import bucketed_batches, history_lengths

    histories = torch.full((100, 8), -1)
    lengths = torch.randint(1, 9, (100,), generator=torch.Generator().manual_seed(0))
    for row, n in enumerate(lengths.tolist()):
        histories[row, 8 - n :] = row
    assert torch.equal(history_lengths(histories), lengths)
    batches = bucketed_batches(lengths, 10, torch.Generator().manual_seed(1), bucket_batches=5)
    seen = torch.cat([index for index, _ in batches])
    assert sorted(seen.tolist()) == list(range(100))
    for index, width in batches:
        assert width == lengths[index].max()
        assert (histories[index][:, : 8 - width] == -1).all()  # the columns cut off are padding only
    spread = sum(int(lengths[i].max() - lengths[i].min()) for i, _ in batches) / len(batches)
    assert spread < 3  # sorted within buckets: batches are far tighter than random ones
    again = bucketed_batches(lengths, 10, torch.Generator().manual_seed(1), bucket_batches=5)
    assert all(torch.equal(a, b) for (a, _), (b, _) in zip(batches, again))
