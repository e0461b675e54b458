"""What `ic3sync sync --batch` says it left: the count, and the command of the next batch with
the same filters (the run of each is tested end to end in tests/e2e/test_cli.py)."""

from __future__ import annotations

from ic3sync.cli.sync import left_after_batch
from ic3sync.model import AssetSelection

NOTHING = "Nothing left after this batch."


def test_the_next_batch_starts_where_this_one_ended_with_the_same_customer():
    told = left_after_batch(10, AssetSelection(batch=4, offset=2, customer_id=24463), 4)
    assert told == (
        "4 assets left after this batch; the next batch: "
        "ic3sync sync --batch 4 --offset 6 --customer-id 24463"
    )


def test_one_asset_left_is_one_thousands_are_grouped_and_none_left_says_so():
    one = left_after_batch(5, AssetSelection(batch=4), 4)
    assert one.startswith("1 asset left after this batch;"), one
    many = left_after_batch(3_000, AssetSelection(batch=100), 100)
    assert many.startswith("2,900 assets left after this batch;"), many
    assert left_after_batch(5, AssetSelection(batch=4, offset=4), 1) == NOTHING
    # A batch that took fewer than it was allowed reached the end of the register.
    assert left_after_batch(3, AssetSelection(batch=10), 3) == NOTHING
