from production.selectors import producers_visible_to


def names(user):
    return set(producers_visible_to(user).values_list("name", flat=True))


def test_it_shows_a_reporter_only_their_producers(producer, other_producer, reporter):
    assert names(reporter) == {producer.name}


def test_it_shows_an_outsider_reporter_nothing(producer, other_producer, outsider_reporter):
    assert names(outsider_reporter) == set()


def test_it_shows_an_officer_their_prefecture(producer, other_producer, officer, outsider):
    assert names(officer) == {producer.name}
    assert names(outsider) == {other_producer.name}


def test_it_shows_the_office_leadership_and_admin_everything(
    producer, other_producer, office, leader, admin_user
):
    for user in (office, leader, admin_user):
        assert names(user) == {producer.name, other_producer.name}
