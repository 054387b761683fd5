"""Every permission rule of supplycoord.permissions, for every role.

The world: Lanzhou with a prefecture warehouse (LZ01), a producer whose commissioner is
`reporter`, and a batch to a Lanzhou destination; the provincial reserve (SZ01). The users:
office staff, leadership, an admin, Lanzhou's officer, Tianshui's officer (the outsider),
Lanzhou's lead, the county officer of 榆中县 (a county of Lanzhou), the producer's
commissioner, and an anonymous visitor. Three-level dispatch (issue 15) adds a batch Lanzhou
issues from LZ01 to 榆中县, and one the province sends to 榆中县 directly. Each row of the table names a rule
and the roles for which it says yes; every other role must get no.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template, TemplateSyntaxError
from django.utils import timezone

from allocation.models import Destination, DestinationKind, DispatchBatch, SupplyRequest
from inventory.models import StockEvent, StockEventKind, WarehouseKind
from production.models import Producer
from supplycoord import permissions
from supplycoord.models import County, Prefecture
from tests.factories import WarehouseFactory

ROLES = (
    "office",
    "leader",
    "admin",
    "officer",
    "outsider",
    "lead",
    "county",
    "reporter",
    "requester",
    "anonymous",
)
EVERYONE_SIGNED_IN = {
    "office",
    "leader",
    "admin",
    "officer",
    "outsider",
    "lead",
    "county",
    "reporter",
    "requester",
}
OFFICE = {"office", "admin"}
PROVINCE = {"office", "leader", "admin"}


@pytest.fixture
def requester(db):
    from supplycoord.models import Role
    from tests.factories import UserFactory

    return UserFactory(username="requester", role=Role.UNIT_REQUESTER)


@pytest.fixture
def users(office, leader, admin_user, officer, outsider, lead, county_officer, reporter, requester):
    return {
        "requester": requester,
        "lead": lead,
        "county": county_officer,
        "office": office,
        "leader": leader,
        "admin": admin_user,
        "officer": officer,
        "outsider": outsider,
        "reporter": reporter,
        "anonymous": AnonymousUser(),
    }


@pytest.fixture
def world(lanzhou, tianshui, yuzhong, reporter, requester):
    lz01 = WarehouseFactory(code="LZ01", kind=WarehouseKind.PREFECTURE, prefecture=lanzhou)
    held = WarehouseFactory(code="DC09", kind=WarehouseKind.PRODUCER_HELD, prefecture=lanzhou)
    producer = Producer.objects.create(
        name="兰州防护用品厂",
        credit_code="91350100M000100Y43",
        prefecture=lanzhou,
        held_reserve_warehouse=held,
    )
    producer.reporters.add(reporter)
    destination = Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="兰州市", prefecture=lanzhou
    )
    # Claimants (issue 15): Lanzhou itself, a county of Lanzhou, a hospital naming `requester`,
    # an inactive hospital naming them too, and Tianshui.
    county = Destination.objects.create(
        kind=DestinationKind.COUNTY,
        name_zh="榆中县",
        prefecture=lanzhou,
        county=yuzhong,
        code="620123",
    )
    hospital = Destination.objects.create(
        kind=DestinationKind.PROVINCIAL_INSTITUTION, name_zh="甘肃省人民医院", code="SRMYY"
    )
    hospital.requesters.add(requester)
    closed = Destination.objects.create(
        kind=DestinationKind.AID_TEAM, name_zh="撤回的医疗队", code="YLD9", active=False
    )
    closed.requesters.add(requester)
    to_tianshui = Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="天水市", prefecture=tianshui, code="620500"
    )
    return {
        "to_lanzhou": destination,
        "county": county,
        "hospital": hospital,
        "closed_unit": closed,
        "to_tianshui": to_tianshui,
        # The request rules read the request's claimant only.
        "county_request": SupplyRequest(claimant=county),
        "hospital_request": SupplyRequest(claimant=hospital),
        "lanzhou": lanzhou,
        "lz01": lz01,
        "sz01": WarehouseFactory(code="SZ01", kind=WarehouseKind.PROVINCIAL_RESERVE),
        "held": held,
        "producer": producer,
        # The rules read the batch's destination only; the batch need not be saved.
        "batch": DispatchBatch(destination=destination),
        # Lanzhou's own batch, from LZ01 to its county; the province's, to that county.
        "lanzhou_batch": DispatchBatch(destination=county, issuing_prefecture=lanzhou),
        "province_to_county": DispatchBatch(destination=county),
        # County figures (issue 15 §3): Lanzhou's 榆中县 (the county officer's) and 皋兰县.
        "yuzhong": yuzhong,
        "gaolan": County.objects.create(prefecture=lanzhou, code="620122", name_zh="皋兰县"),
    }


# (rule, the rows it is asked about, roles that get yes)
TABLE = [
    ("is_signed_in", (), EVERYONE_SIGNED_IN),
    ("is_office", (), OFFICE),
    ("is_prefecture_officer", (), {"officer", "outsider"}),
    ("is_producer_reporter", (), {"reporter"}),
    ("sees_whole_province", (), PROVINCE),
    ("can_read_prefecture_data", (), PROVINCE | {"officer", "outsider", "lead"}),
    # A unit requester (issue 15) sees its own requests, never the production; nor does a
    # county officer (its county's batches, requests and figures only).
    ("can_read_production", (), EVERYONE_SIGNED_IN - {"requester", "county"}),
    ("can_enter_daily_figures", (), OFFICE | {"officer", "outsider"}),
    ("can_report_production", (), OFFICE | {"reporter"}),
    ("can_backdate_freely", (), OFFICE),
    ("can_read_spot_checks", (), PROVINCE),
    # The big screen (issue 16 §1): office, leadership, admins.
    ("can_view_screen", (), PROVINCE),
    ("can_follow_up_spot_checks", (), OFFICE),
    ("can_edit_protected_staff", (), OFFICE),
    ("can_import_stock_events", (), OFFICE),
    ("can_change_producer_register", (), OFFICE),
    ("can_record_donation", (), OFFICE),
    ("can_create_batch", (), OFFICE | {"officer", "outsider"}),
    ("can_change_norms", (), OFFICE),
    ("can_edit_proposals", (), OFFICE),
    ("can_build_snapshots", (), OFFICE),
    ("can_settle_reconciliation", (), OFFICE),
    ("can_view_prefecture", ("lanzhou",), PROVINCE | {"officer", "lead"}),
    ("can_report_for_prefecture", ("lanzhou",), OFFICE | {"officer"}),
    ("can_view_warehouse", ("lz01",), PROVINCE | {"officer", "lead"}),
    ("can_view_warehouse", ("sz01",), PROVINCE),
    ("can_post_to_warehouse", ("lz01",), OFFICE | {"officer"}),
    ("can_post_to_warehouse", ("sz01",), OFFICE),
    # A commissioner posts nothing to the held reserve from the ledger pages...
    ("can_post_to_warehouse", ("held",), OFFICE),
    ("can_report_for_producer", ("producer",), OFFICE | {"reporter"}),
    ("can_edit_batch", ("batch",), OFFICE),
    ("can_approve_batch", ("batch",), {"leader", "admin"}),
    ("can_dispatch_batch", ("batch",), OFFICE),
    ("can_cancel_batch", ("batch",), OFFICE),
    ("can_close_batch", ("batch",), OFFICE),
    ("can_attach_to_batch", ("batch",), OFFICE),
    ("can_receive_batch", ("batch",), OFFICE | {"officer"}),
    # Three-level dispatch (issue 15): Lanzhou issues, its lead approves, the county receives;
    # the province reads it and acts on none of it (an admin may stand in to approve).
    ("is_prefecture_lead", (), {"lead"}),
    ("is_county_officer", (), {"county"}),
    ("can_read_batches", (), PROVINCE | {"officer", "outsider", "lead", "county"}),
    ("can_issue_from", ("lz01",), {"officer"}),
    ("can_issue_from", ("sz01",), OFFICE),
    ("can_issue_from", ("held",), OFFICE),
    ("can_edit_batch", ("lanzhou_batch",), {"officer"}),
    ("can_approve_batch", ("lanzhou_batch",), {"lead", "admin"}),
    ("can_dispatch_batch", ("lanzhou_batch",), {"officer"}),
    ("can_cancel_batch", ("lanzhou_batch",), {"officer"}),
    ("can_close_batch", ("lanzhou_batch",), {"officer"}),
    ("can_attach_to_batch", ("lanzhou_batch",), {"officer"}),
    ("can_receive_batch", ("lanzhou_batch",), {"officer", "county"}),
    ("can_receive_batch", ("province_to_county",), OFFICE | {"officer", "county"}),
    ("can_read_procurement", (), PROVINCE),
    ("can_change_suppliers", (), OFFICE),
    ("can_edit_purchase_order", (), OFFICE),
    ("can_record_order_arrival", (), OFFICE),
    ("can_request_national_allocation", (), OFFICE),
    ("can_record_national_allocation", (), OFFICE),
    # Distribution enterprises (the distribution reporters have their own test below).
    ("is_distribution_reporter", (), set()),
    ("can_read_distribution", (), PROVINCE | {"officer", "outsider"}),
    ("can_read_distribution_rollup", (), PROVINCE),
    ("can_report_distribution", (), OFFICE),
    ("can_change_distribution_register", (), OFFICE),
    # Requests from below (issue 15).
    ("is_unit_requester", (), {"requester"}),
    ("can_read_requests", (), PROVINCE | {"officer", "outsider", "lead", "county", "requester"}),
    ("can_submit_requests", (), OFFICE | {"officer", "outsider", "county", "requester"}),
    ("can_triage_requests", (), OFFICE | {"officer", "outsider"}),
    ("can_triage_request", ("county_request",), OFFICE | {"officer"}),
    ("can_triage_request", ("hospital_request",), OFFICE),
    ("can_read_claimants", (), PROVINCE),
    ("can_change_claimants", (), OFFICE),
    ("can_request_for", ("to_lanzhou",), OFFICE | {"officer"}),
    ("can_request_for", ("county",), OFFICE | {"officer", "county"}),
    ("can_request_for", ("hospital",), OFFICE | {"requester"}),
    ("can_request_for", ("closed_unit",), set()),
    ("can_request_for", ("to_tianshui",), OFFICE | {"outsider"}),
    ("can_view_request", ("county_request",), PROVINCE | {"officer", "lead", "county"}),
    ("can_view_request", ("hospital_request",), PROVINCE | {"requester"}),
    ("can_withdraw_request", ("county_request",), OFFICE | {"officer", "county"}),
    ("can_withdraw_request", ("hospital_request",), OFFICE | {"requester"}),
    # County figures (issue 15 §3): the office and a county officer for its own county enter
    # them; the province and a prefecture's officers and lead read them; the office switches a
    # prefecture to reporting as the sum of its counties.
    ("can_enter_county_figures", (), OFFICE | {"county"}),
    ("can_report_for_county", ("yuzhong",), OFFICE | {"county"}),
    ("can_report_for_county", ("gaolan",), OFFICE),
    ("can_read_county_figures", (), PROVINCE | {"officer", "outsider", "lead"}),
    ("can_set_reports_as_sum", (), OFFICE),
    # Notifications (issue 16 §3): the office connects the messaging gateways.
    ("can_manage_webhooks", (), OFFICE),
]


@pytest.mark.parametrize(
    ("rule", "rows", "allowed"), TABLE, ids=[f"{r}-{'-'.join(rows)}" for r, rows, _a in TABLE]
)
def test_each_rule_says_yes_to_exactly_its_roles(users, world, rule, rows, allowed):
    check = getattr(permissions, rule)
    answers = {role: check(users[role], *(world[row] for row in rows)) for role in ROLES}

    assert {role for role, yes in answers.items() if yes} == allowed
    assert all(isinstance(yes, bool) for yes in answers.values())


def test_every_rule_of_the_module_is_in_the_table():
    named = {
        name
        for name in dir(permissions)
        if name.startswith(("can_", "is_", "sees_")) and callable(getattr(permissions, name))
    }
    # can_reverse_stock_event needs a stored event, can_report_for_distribution_enterprise a
    # stored enterprise; each has its own test below.
    assert named - {rule for rule, _rows, _allowed in TABLE} == {
        "can_reverse_stock_event",
        "can_report_for_distribution_enterprise",
    }


def test_a_commissioner_books_output_into_their_held_reserve_only_through_a_report(
    users, world, outsider_reporter
):
    receipt = {"kind": StockEventKind.RECEIPT, "for_production_report": True}

    assert permissions.can_post_to_warehouse(users["reporter"], world["held"], **receipt)
    assert not permissions.can_post_to_warehouse(outsider_reporter, world["held"], **receipt)
    assert not permissions.can_post_to_warehouse(
        users["reporter"], world["held"], kind=StockEventKind.RECEIPT
    )
    assert not permissions.can_post_to_warehouse(
        users["reporter"], world["held"], kind=StockEventKind.ISSUE, for_production_report=True
    )
    assert permissions.can_post_to_warehouse(
        users["reporter"],
        world["held"],
        kind=StockEventKind.REVERSAL,
        reverses_kind=StockEventKind.RECEIPT,
        for_production_report=True,
    )


@pytest.fixture
def outsider_reporter(db):
    from supplycoord.models import Role
    from tests.factories import UserFactory

    return UserFactory(username="outsider_reporter", role=Role.PRODUCER_REPORTER)


def test_an_officer_cannot_post_to_an_inactive_warehouse_of_their_prefecture(users, world):
    world["lz01"].active = False

    assert not permissions.can_post_to_warehouse(users["officer"], world["lz01"])
    assert permissions.can_post_to_warehouse(users["office"], world["lz01"])


def test_the_confirming_officer_of_a_destination_elsewhere_may_receive(users, world):
    hospital = Destination.objects.create(
        kind=DestinationKind.PROVINCIAL_INSTITUTION,
        name_zh="甘肃省人民医院",
        confirming_officer=users["outsider"],
    )
    batch = DispatchBatch(destination=hospital)

    assert permissions.can_receive_batch(users["outsider"], batch)
    assert not permissions.can_receive_batch(users["officer"], batch)


def test_a_reversal_or_a_reversed_event_cannot_be_reversed(users, world):
    receipt = StockEvent(kind=StockEventKind.RECEIPT, warehouse=world["lz01"])
    reversal = StockEvent(kind=StockEventKind.REVERSAL, warehouse=world["lz01"])
    may = {role for role in ROLES if permissions.can_reverse_stock_event(users[role], receipt)}

    assert may == OFFICE | {"officer"}
    assert not permissions.can_reverse_stock_event(users["office"], reversal)
    assert not permissions.can_reverse_stock_event(users["office"], receipt, reversed_by=reversal)


# --- Row scopes ----------------------------------------------------------------------------


def test_the_prefecture_scope_gives_the_province_an_officer_home_and_others_nothing(
    users, world, tianshui
):
    seen = {
        role: set(
            permissions.scope_to_prefecture(
                users[role], Prefecture.objects.all(), "pk"
            ).values_list("code", flat=True)
        )
        for role in ROLES
    }

    assert seen == {
        "office": {"620100", "620500"},
        "leader": {"620100", "620500"},
        "admin": {"620100", "620500"},
        "officer": {"620100"},
        "outsider": {"620500"},
        "lead": {"620100"},
        "county": set(),
        "reporter": set(),
        "requester": set(),
        "anonymous": set(),
    }


def test_the_producer_scope_adds_a_reporters_own(users, world):
    seen = {
        role: permissions.scope_producers(users[role], Producer.objects.all()).count()
        for role in ROLES
    }

    assert seen == {
        "office": 1,
        "leader": 1,
        "admin": 1,
        "officer": 1,
        "outsider": 0,
        "lead": 1,
        "county": 0,
        "reporter": 1,
        "requester": 0,
        "anonymous": 0,
    }
    assert {role for role in ROLES if permissions.producers_reportable_by(users[role])} == (
        OFFICE | {"reporter"}
    )


def test_the_batch_scope_follows_the_destination(users, world, office, leader):
    batch = world["batch"]
    batch.source_warehouse = world["sz01"]
    batch.created_by = office
    batch.year, batch.number, batch.created_at = 2020, "2020-001", timezone.now()
    batch.save()

    seen = {
        role: permissions.scope_batches(users[role], DispatchBatch.objects.all()).count()
        for role in ROLES
    }

    assert seen == {
        "office": 1,
        "leader": 1,
        "admin": 1,
        "officer": 1,
        "outsider": 0,
        "lead": 1,
        "county": 0,
        "reporter": 0,
        "requester": 0,
        "anonymous": 0,
    }


def test_the_request_and_claimant_scopes_follow_the_claimant(users, world, office):
    """Issue 15: the province sees every request; an officer its prefecture's and counties';
    a unit requester its units'. Claimants: what each may request for (leadership: none)."""
    for claimant in ("to_lanzhou", "county", "hospital", "to_tianshui"):
        SupplyRequest.objects.create(
            number=f"XQ-2020-{claimant}"[:16],
            claimant=world[claimant],
            urgency="routine",
            needed_by=timezone.localdate(),
            justification="j",
            submitted_by=office,
            submitted_at=timezone.now(),
        )

    requests = {
        role: sorted(
            permissions.scope_requests(users[role], SupplyRequest.objects.all()).values_list(
                "claimant__name_zh", flat=True
            )
        )
        for role in ROLES
    }
    claimants = {
        role: sorted(
            permissions.scope_claimants(users[role], Destination.objects.all()).values_list(
                "name_zh", flat=True
            )
        )
        for role in ROLES
    }

    everything = sorted(["兰州市", "榆中县", "甘肃省人民医院", "天水市"])
    assert requests == {
        "office": everything,
        "leader": everything,
        "admin": everything,
        "officer": sorted(["兰州市", "榆中县"]),
        "outsider": ["天水市"],
        "lead": sorted(["兰州市", "榆中县"]),
        "county": ["榆中县"],
        "reporter": [],
        "requester": ["甘肃省人民医院"],
        "anonymous": [],
    }
    assert claimants["officer"] == sorted(["兰州市", "榆中县"])
    # A county officer asks for its county only; a lead reads but asks for nobody.
    assert claimants["county"] == ["榆中县"]
    assert claimants["lead"] == []
    # The inactive aid team is in the requester's scope; `can_request_for` refuses it.
    assert claimants["requester"] == sorted(["甘肃省人民医院", "撤回的医疗队"])
    assert claimants["leader"] == claimants["reporter"] == claimants["anonymous"] == []
    assert len(claimants["office"]) == 5


# --- The template tag ----------------------------------------------------------------------


def test_the_can_tag_answers_with_the_rule(users, world):
    template = Template(
        '{% load rules %}{% can "receive_batch" batch as may %}{{ may|yesno:"yes,no" }}'
    )

    def shown(role):
        return template.render(Context({"user": users[role], "batch": world["batch"]}))

    assert {role: shown(role) for role in ROLES} == {
        role: "yes" if role in OFFICE | {"officer"} else "no" for role in ROLES
    }


def test_the_can_tag_refuses_an_unknown_rule(users):
    template = Template('{% load rules %}{% can "fly" as may %}')

    with pytest.raises(TemplateSyntaxError, match="can_fly"):
        template.render(Context({"user": users["office"]}))


def test_distribution_reporters_see_and_report_for_their_own_enterprises_only(
    users, world, tianshui
):
    from procurement.models import DistributionEnterprise
    from supplycoord.models import Role
    from tests.factories import UserFactory

    mine = UserFactory(username="dist_mine", role=Role.DISTRIBUTION_REPORTER)
    other = UserFactory(username="dist_other", role=Role.DISTRIBUTION_REPORTER)
    lanzhou_one = DistributionEnterprise.objects.create(
        name="兰州医药", credit_code="91350100M000100Y43", prefecture=world["lanzhou"]
    )
    lanzhou_one.reporters.add(mine)
    everyone = {**users, "mine": mine, "other": other}

    def scope(user):
        return permissions.scope_distribution_enterprises(
            user, DistributionEnterprise.objects.all()
        ).count()

    assert {role for role, user in everyone.items() if scope(user)} == (
        PROVINCE | {"officer", "lead", "mine"}
    )
    assert {
        role
        for role, user in everyone.items()
        if permissions.can_report_for_distribution_enterprise(user, lanzhou_one)
    } == OFFICE | {"mine"}
    assert {
        role
        for role, user in everyone.items()
        if permissions.distribution_enterprises_reportable_by(user).exists()
    } == OFFICE | {"mine"}
    assert permissions.is_distribution_reporter(other)
    assert permissions.can_report_distribution(other)
    assert not permissions.can_read_distribution_rollup(mine)
    # A reporter's scope is part of what an export is kept for.
    assert f"distribution_enterprises={lanzhou_one.pk}" in permissions.access_scope(mine)
    assert permissions.access_scope(other).endswith("distribution_enterprises=")


def test_the_county_scope_gives_the_province_a_prefectures_readers_and_a_county_its_own(
    users, world
):
    """Issue 15 §3: Lanzhou's counties to its officer and lead, 榆中县 alone to its county
    officer, none to Tianshui's officer or anyone else."""
    seen = {
        role: set(
            permissions.scope_counties(users[role], County.objects.all()).values_list(
                "code", flat=True
            )
        )
        for role in ROLES
    }

    lanzhou = {"620122", "620123"}
    assert seen == {
        "office": lanzhou,
        "leader": lanzhou,
        "admin": lanzhou,
        "officer": lanzhou,
        "outsider": set(),
        "lead": lanzhou,
        "county": {"620123"},
        "reporter": set(),
        "requester": set(),
        "anonymous": set(),
    }
