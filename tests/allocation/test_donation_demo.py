"""The donation pages on the demo province: the private donation (a private person's, not
public) never shows on the public page; the ledger's figures agree with donation_remaining."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from allocation.models import Donation, DonorKind
from allocation.selectors import donation_traces
from allocation.services import donation_remaining


@pytest.mark.django_db
def test_the_demo_public_page_and_ledger(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("load_demo", "--historical", stdout=io.StringIO())
    donations = list(Donation.objects.all())
    assert len(donations) == 4
    page = client.get(reverse("allocation:public_donations")).content.decode()
    for donation in donations:
        if donation.public and donation.donor_kind == DonorKind.ORGANISATION:
            assert donation.donor_name in page
        else:
            assert donation.donor_name not in page
    for trace in donation_traces(donations):
        remaining = donation_remaining(trace["donation"])
        for row in trace["lines"]:
            assert row["received"] - row["allocated"] == remaining[row["item"].pk]
            assert 0 <= row["remaining"] <= row["received"]
