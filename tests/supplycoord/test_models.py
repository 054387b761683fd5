"""Constraints the database keeps whatever door a change comes through (admin, CSV, shell)."""

import pytest
from django.db import IntegrityError, transaction

from supplycoord.models import Role
from tests.factories import ItemFactory, UserFactory


def test_it_refuses_a_red_threshold_at_or_above_amber(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        ItemFactory(code="BAD01", red_days=7, amber_days=3)
    ItemFactory(code="OK01", red_days=2, amber_days=5)
    ItemFactory(code="OK02", red_days=2)  # amber falls back to the setting


def test_it_refuses_an_officer_without_a_prefecture(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(username="lost", role=Role.PREFECTURE_OFFICER, prefecture=None)


def test_it_shows_names_in_the_ui_language(n95):
    from django.utils import translation

    with translation.override("zh-hans"):
        assert str(n95) == "N95口罩"
    with translation.override("en"):
        assert str(n95) == "N95 respirator"
