"""The admin lists the records of production and decision support, and changes none of them:
they move only through their services (ledger receipts, history, versions)."""

import pytest
from django.urls import reverse

from allocation.models import Proposal, ProposalItem, ReserveFloor
from production.models import Problem, ProductionReport
from reports.models import Alert, SpotCheckFlag

READ_ONLY = [ProductionReport, Problem, Proposal, ProposalItem, ReserveFloor, SpotCheckFlag, Alert]


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m.__name__)
def test_the_admin_lists_them_and_offers_no_add(client, admin_user, model):
    client.force_login(admin_user)
    meta = model._meta
    assert (
        client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")).status_code
        == 200
    )
    assert client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_add")).status_code == 403


def test_a_problem_opens_read_only_with_its_history(client, admin_user, office, lanzhou):
    from production.models import Producer
    from production.services import problem_report

    producer = Producer.objects.create(
        name="兰州防护用品厂", credit_code="91350100M000100Y43", prefecture=lanzhou
    )
    problem = problem_report(user=office, producer=producer, category="labour", description="缺工")
    client.force_login(admin_user)
    page = client.get(reverse("admin:production_problem_change", args=[problem.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    history = client.get(reverse("admin:production_problem_history", args=[problem.pk]))
    assert history.status_code == 200
