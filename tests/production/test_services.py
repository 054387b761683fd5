import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from production.models import LicenceKind, LineStatus, Producer, ProducerStatus, ProductionLine
from production.services import (
    licence_add,
    producer_create,
    producer_update,
    production_line_set_status,
)


@pytest.fixture
def line(producer, n95):
    return ProductionLine.objects.create(
        producer=producer, item=n95, daily_capacity=100_000, status=LineStatus.BUILDING
    )


def test_office_creates_a_producer_with_history(office, lanzhou, reporter):
    producer = producer_create(
        user=office,
        name="新厂",
        credit_code="91440300708461136T",
        prefecture=lanzhou,
        product_categories=["protective"],
        reporters=[reporter],
    )

    assert list(producer.reporters.all()) == [reporter]
    record = producer.history.earliest()
    assert record.history_change_reason == "producer_create"
    # Assigning the reporters adds a second record; both name who did it.
    assert {r.history_user for r in producer.history.all()} == {office}
    assert list(producer.history.latest().reporters.values_list("user", flat=True)) == [reporter.pk]


def test_producer_create_refuses_a_bad_credit_code(office, lanzhou):
    with pytest.raises(ValidationError):
        producer_create(user=office, name="x", credit_code="91440300708461136X", prefecture=lanzhou)
    assert not Producer.objects.exists()


@pytest.mark.parametrize("who", ["reporter", "officer", "leader"])
def test_only_office_creates_producers(who, request, lanzhou):
    with pytest.raises(PermissionDenied):
        producer_create(
            user=request.getfixturevalue(who),
            name="x",
            credit_code="91440300708461136T",
            prefecture=lanzhou,
        )


def test_office_updates_a_producer(office, producer):
    producer_update(user=office, producer=producer, status=ProducerStatus.STOPPED)
    producer.refresh_from_db()
    assert producer.status == ProducerStatus.STOPPED
    assert producer.history.latest().history_user == office


def test_only_reporters_are_assigned_to_a_producer(office, officer, producer):
    with pytest.raises(ValidationError):
        producer_update(user=office, producer=producer, reporters=[officer])
    assert officer not in producer.reporters.all()


def test_an_unknown_line_status_is_refused(office, line):
    with pytest.raises(ValidationError):
        production_line_set_status(user=office, line=line, status="exploded")


def test_reporter_may_not_update_the_register(reporter, producer):
    with pytest.raises(PermissionDenied):
        producer_update(user=reporter, producer=producer, name="renamed")


def test_the_producers_reporter_commissions_a_line(reporter, line):
    production_line_set_status(
        user=reporter, line=line, status=LineStatus.COMMISSIONED, on=dt.date(2020, 2, 5)
    )
    line.refresh_from_db()
    assert line.status == LineStatus.COMMISSIONED
    assert line.actual_commissioning == dt.date(2020, 2, 5)
    assert line.history.latest().history_user == reporter


def test_office_sets_a_line_status(office, line):
    production_line_set_status(user=office, line=line, status=LineStatus.STOPPED)
    line.refresh_from_db()
    assert line.status == LineStatus.STOPPED


@pytest.mark.parametrize("who", ["outsider_reporter", "officer", "leader"])
def test_others_may_not_set_a_line_status(who, request, line):
    with pytest.raises(PermissionDenied):
        production_line_set_status(
            user=request.getfixturevalue(who), line=line, status=LineStatus.COMMISSIONED
        )
    line.refresh_from_db()
    assert line.status == LineStatus.BUILDING


@pytest.mark.parametrize("who", ["reporter", "office"])
def test_reporter_and_office_add_licences(who, request, producer):
    user = request.getfixturevalue(who)
    licence = licence_add(
        user=user,
        producer=producer,
        kind=LicenceKind.PRODUCTION_LICENCE,
        number="甘食药监械生产许20200001号",
        issued=dt.date(2020, 2, 1),
        expires=dt.date(2025, 1, 31),
    )
    assert licence.history.get().history_user == user


@pytest.mark.parametrize("who", ["outsider_reporter", "officer"])
def test_others_may_not_add_licences(who, request, producer):
    with pytest.raises(PermissionDenied):
        licence_add(
            user=request.getfixturevalue(who),
            producer=producer,
            kind=LicenceKind.OTHER,
            number="1",
            issued=dt.date(2020, 2, 1),
        )
    assert not producer.licences.exists()
