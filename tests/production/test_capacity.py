from production.models import LineStatus, ProductionLine
from production.selectors import capacity_by_item
from tests.factories import ItemFactory


def make_lines(producer, item, *capacities_and_statuses):
    for capacity, status in capacities_and_statuses:
        ProductionLine.objects.create(
            producer=producer, item=item, daily_capacity=capacity, status=status
        )


def test_it_sums_commissioned_and_when_all_built_capacity(producer, other_producer, n95):
    surgical = ItemFactory(code="FH002")
    make_lines(
        producer,
        n95,
        (100_000, LineStatus.COMMISSIONED),
        (50_000, LineStatus.BUILDING),
        (20_000, LineStatus.PLANNED),
        (999_999, LineStatus.STOPPED),
    )
    make_lines(other_producer, n95, (30_000, LineStatus.COMMISSIONED))
    make_lines(other_producer, surgical, (7_000, LineStatus.BUILDING))

    rows = {item.code: (item.commissioned, item.when_all_built) for item in capacity_by_item()}

    # 100k + 30k commissioned; + 50k building + 20k planned; the stopped line counts nowhere.
    assert rows == {"FH001": (130_000, 200_000), "FH002": (0, 7_000)}


def test_it_sums_one_producer(producer, other_producer, n95):
    make_lines(producer, n95, (100_000, LineStatus.COMMISSIONED), (50_000, LineStatus.BUILDING))
    make_lines(other_producer, n95, (30_000, LineStatus.COMMISSIONED))

    rows = [(i.code, i.commissioned, i.when_all_built) for i in capacity_by_item(producer=producer)]

    assert rows == [("FH001", 100_000, 150_000)]


def test_it_leaves_out_items_with_only_stopped_lines(producer, n95):
    make_lines(producer, n95, (5_000, LineStatus.STOPPED))
    assert list(capacity_by_item()) == []


def test_it_uses_one_query(producer, n95, django_assert_num_queries):
    make_lines(producer, n95, (1, LineStatus.COMMISSIONED), (2, LineStatus.BUILDING))
    with django_assert_num_queries(1):
        list(capacity_by_item())


def test_producers_taken_off_the_register_no_longer_count_in_the_province(
    producer, other_producer, n95
):
    """Tianshui's factory (30k) is marked inactive: the province has Lanzhou's 100k only, but
    the factory's own page still shows what its lines can make."""
    make_lines(producer, n95, (100_000, LineStatus.COMMISSIONED))
    make_lines(other_producer, n95, (30_000, LineStatus.COMMISSIONED))
    other_producer.active = False
    other_producer.save()

    (province,) = capacity_by_item()
    assert (province.commissioned, province.when_all_built) == (100_000, 100_000)
    (own,) = capacity_by_item(producer=other_producer)
    assert own.commissioned == 30_000
