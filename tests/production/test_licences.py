import datetime as dt

from production.models import Licence, LicenceKind
from production.selectors import licences_flagged

TODAY = dt.date(2020, 2, 10)


def add(producer, number, expires):
    return Licence.objects.create(
        producer=producer,
        kind=LicenceKind.EMERGENCY_APPROVAL,
        number=number,
        issued=dt.date(2020, 1, 1),
        expires=expires,
    )


def test_it_flags_expired_and_expiring_within_14_days(producer):
    add(producer, "expired", TODAY - dt.timedelta(days=1))
    add(producer, "today", TODAY)
    add(producer, "day-14", TODAY + dt.timedelta(days=14))
    add(producer, "day-15", TODAY + dt.timedelta(days=15))
    add(producer, "open-ended", None)

    flagged = [lic.number for lic in licences_flagged(today=TODAY)]

    assert flagged == ["expired", "today", "day-14"]


def test_it_reads_the_warning_days_from_settings(producer, settings):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "LICENCE_WARNING_DAYS": 3}
    add(producer, "day-3", TODAY + dt.timedelta(days=3))
    add(producer, "day-4", TODAY + dt.timedelta(days=4))

    assert [lic.number for lic in licences_flagged(today=TODAY)] == ["day-3"]


def test_it_takes_within_days_from_the_caller(producer):
    add(producer, "day-20", TODAY + dt.timedelta(days=20))
    assert [lic.number for lic in licences_flagged(today=TODAY, within_days=30)] == ["day-20"]


def test_it_does_not_flag_the_licences_of_a_producer_off_the_register(producer):
    add(producer, "expired", TODAY - dt.timedelta(days=1))
    producer.active = False
    producer.save()

    assert list(licences_flagged(today=TODAY)) == []
