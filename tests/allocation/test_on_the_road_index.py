"""The partial index the overview's overdue list reads (issue 13) covers exactly the statuses
allocation.selectors.ON_THE_ROAD lists: a status added to one and not the other would make the
list silently fall back to sorting every batch, or miss batches."""

from allocation.models import DispatchBatch
from allocation.selectors import ON_THE_ROAD


def test_the_on_the_road_index_covers_the_on_the_road_statuses():
    [index] = [i for i in DispatchBatch._meta.indexes if i.name == "batch_on_the_road"]
    [(lookup, statuses)] = index.condition.children
    assert lookup == "status__in"
    assert set(statuses) == {str(s) for s in ON_THE_ROAD}
    assert index.fields == ["expected_arrival", "number"]
