import pandas as pd

from pipeline_lib.data.interactions import canonical_frame, chronological, deduplicate, k_core


def frame(rows):
    users, items, stamps = zip(*rows)
    return canonical_frame(users, items, stamps)


def test_deduplicate_keeps_earliest_interaction():
    df = frame([("u", "a", 5), ("u", "b", 1), ("u", "a", 2), ("v", "a", 9)])
    out = deduplicate(df)
    assert sorted(zip(out.user, out.item, out.timestamp)) == [("u", "a", 2), ("u", "b", 1), ("v", "a", 9)]


def test_deduplicate_tie_keeps_first_in_source_order():
    df = frame([("u", "a", 3), ("u", "a", 3)]).assign(marker=[1, 2])
    assert deduplicate(df)["marker"].tolist() == [1]


def test_k_core_needs_more_than_one_pass():
    # k=2. Item "x" has one interaction: dropping it leaves user "c" with one interaction,
    # and dropping "c" leaves item "y" with one, which then drops user "b" below 2 ...
    rows = [
        ("a", "p", 1), ("a", "q", 2),
        ("d", "p", 1), ("d", "q", 2),
        ("b", "q", 3), ("b", "y", 4),
        ("c", "y", 5), ("c", "x", 6),
    ]
    df = frame(rows)
    one_pass = df[df.user.map(df.user.value_counts()).ge(2) & df.item.map(df.item.value_counts()).ge(2)]
    assert set(one_pass.user) == {"a", "b", "c", "d"}  # a single pass keeps c (and y) – not a core yet
    out = k_core(df, 2)
    assert set(out.user) == {"a", "d"}
    assert set(out.item) == {"p", "q"}
    assert (out.user.value_counts() >= 2).all() and (out.item.value_counts() >= 2).all()


def test_k_core_of_a_core_is_identity():
    df = frame([(u, i, t) for t, (u, i) in enumerate((u, i) for u in "abc" for i in "xyz")])
    pd.testing.assert_frame_equal(k_core(df, 3), df)


def test_k_core_can_empty_everything():
    assert k_core(frame([("a", "x", 1), ("b", "y", 2)]), 5).empty


def test_chronological_is_stable_on_ties():
    df = frame([("u", "c", 2), ("u", "a", 1), ("u", "b", 1)])
    assert chronological(df)["item"].tolist() == ["a", "b", "c"]
