"""Data and valid bodies for every write endpoint of the API, shared by the boundary tests.

`build_world()` makes one of everything a write needs (a stocked warehouse, batches in each
state, a producer with a problem, tokens); `request_for(world, operation_id)` gives the user,
the path arguments and a valid body of that operation.
"""

import copy
import datetime as dt
import uuid

from django.utils import timezone
from rest_framework.authtoken.models import Token

from allocation.models import Destination, DestinationKind, DispatchBatch, SupplyRequest
from allocation.requests import request_submit, request_triage
from allocation.services import batch_approve, batch_create, batch_dispatch, batch_receive
from inventory.models import ReceiptSource
from inventory.services import stock_receive
from procurement.models import DistributionEnterprise, NationalRequest, PurchaseOrder
from procurement.services import (
    national_allocation_announce,
    national_request_create,
    order_arrival_record,
    order_create,
    order_place,
    reserve_unit_create,
    supplier_create,
)
from production.models import LineStatus, Producer, ProductionLine
from production.services import problem_report
from supplycoord.lib.credit_code import check_character
from supplycoord.models import County, Role
from tests.conftest import PASSWORD
from tests.factories import ItemFactory, PrefectureFactory, UserFactory, WarehouseFactory

CREDIT_CODE = "91350100M000100Y43"
DISTRIBUTION_CODE = "91620100MA7000501" + check_character("91620100MA7000501")
SUPPLIER_CODE = "91620100MA7000001" + check_character("91620100MA7000001")


def build_world():
    lanzhou = PrefectureFactory(code="620100", name_zh="兰州市", name_en="Lanzhou")
    n95 = ItemFactory(code="FH001", name_zh="N95口罩", name_en="N95 respirator")
    office = UserFactory(username="office", role=Role.OFFICE_STAFF)
    leader = UserFactory(username="leader", role=Role.LEADERSHIP)
    sz01 = WarehouseFactory(code="SZ01", name_zh="省级储备一库")
    receipt = stock_receive(
        user=office, warehouse=sz01, lines=[(n95, 10_000)], source=ReceiptSource.PURCHASE
    )
    destination = Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="兰州市", prefecture=lanzhou
    )

    def draft():
        return batch_create(
            user=office,
            source_warehouse=sz01,
            destination=destination,
            lines=[{"item": n95, "quantity": 10, "channel": "reserve"}],
        )

    def approved():
        batch = draft()
        return batch_approve(user=leader, batch=batch, expected_version=batch.version)

    def dispatched():
        batch = approved()
        return batch_dispatch(user=office, batch=batch, expected_version=batch.version)

    received = dispatched()
    received = batch_receive(
        user=office,
        batch=received,
        expected_version=received.version,
        received={received.lines.get().pk: 10},
    )
    in_transit = dispatched()

    producer = Producer.objects.create(
        name="兰州防护用品厂", credit_code=CREDIT_CODE, prefecture=lanzhou
    )
    ProductionLine.objects.create(
        producer=producer, item=n95, daily_capacity=100_000, status=LineStatus.COMMISSIONED
    )
    problem = problem_report(
        user=office, producer=producer, category="logistics", description="No trucks."
    )
    # Procurement: a supplier, a unit keeping SZ01, and orders in each state a write needs.
    supplier = supplier_create(
        user=office,
        name="兰州康泰医疗用品有限公司",
        credit_code=SUPPLIER_CODE,
        origin="in_province",
    )
    unit = reserve_unit_create(
        user=office, name="国药控股甘肃有限公司", capital_granted="20000000.00", warehouses=[sz01]
    )

    def order(state):
        made = order_create(
            user=office,
            supplier=supplier,
            buyer_unit=unit,
            funding_source="working_capital",
            lines=[
                {
                    "item": n95,
                    "quantity": 100,
                    "unit_price": "3.50",
                    "expected_arrival": timezone.localdate(),
                }
            ],
        )
        if state == "draft":
            return made
        made = order_place(user=office, order=made, expected_version=made.version)
        if state == "arrived":
            order_arrival_record(
                user=office,
                order=made,
                warehouse=sz01,
                lines=[{"line": made.lines.get().pk, "quantity": 100}],
            )
            made.refresh_from_db()
        return made

    # National allocation: a request still sent, and an announcement with goods outstanding.
    national_request = national_request_create(
        user=office, item=n95, quantity=5000, justification="短缺", net_requirement=4000
    )
    national_allocation = national_allocation_announce(
        user=office,
        item=n95,
        quantity=1000,
        expected_arrival=timezone.localdate(),
        warehouse=sz01,
        reference="国调〔2020〕1号",
    )

    # A prefecture reporting as the sum of its counties (issue 15 §3), with one county; the
    # office enters the county's figures. Lanzhou still enters its own.
    baiyin = PrefectureFactory(
        code="620400", name_zh="白银市", name_en="Baiyin", reports_as_sum_of_counties=True
    )
    County.objects.create(prefecture=baiyin, code="620402", name_zh="白银区", name_en="Baiyin")

    # A distribution enterprise (医药流通企业) reporting every key item; the office reports for it.
    DistributionEnterprise.objects.create(
        name="国药控股兰州有限公司", credit_code=DISTRIBUTION_CODE, prefecture=lanzhou
    )

    # Requests from below (issue 15): a hospital's request awaiting triage, one accepted.
    hospital = Destination.objects.create(
        kind=DestinationKind.PROVINCIAL_INSTITUTION, name_zh="甘肃省人民医院", code="SRMYY"
    )

    def supply_request():
        made, _created = request_submit(
            user=office,
            claimant=hospital,
            urgency="emergency",
            needed_by=timezone.localdate() + dt.timedelta(days=3),
            justification="ICU",
            lines=[{"item": n95, "quantity": 100}],
        )
        return made

    accepted_request = supply_request()
    accepted_request = request_triage(
        user=office,
        request=accepted_request,
        expected_version=accepted_request.version,
        decisions=[{"line": accepted_request.lines.get().pk, "decision": "accepted"}],
    )

    return {
        "office": office,
        "leader": leader,
        "supply_request": supply_request(),
        "accepted_request_line": accepted_request.lines.get(),
        "national_request": national_request,
        "national_allocation": national_allocation,
        "supplier": supplier,
        "unit": unit,
        "order_draft": order("draft"),
        "order_placed": order("placed"),
        "order_arrived": order("arrived"),
        "destination": destination,
        "receipt": receipt,
        "draft": draft(),
        "approved": approved(),
        "in_transit": in_transit,
        "received": received,
        "problem": problem,
        "tokens": {u.username: Token.objects.create(user=u).key for u in (office, leader)},
    }


def _now_iso():
    return timezone.localtime().replace(microsecond=0).isoformat()


def request_for(world, op):
    """(user, path arguments, a valid body) of one operation."""
    today = timezone.localdate().isoformat()
    in_transit = world["in_transit"]
    transition = {"expected_version": None, "note": "ok"}
    bodies = {
        "auth_token_obtain": ({"username": "office", "password": PASSWORD}, None, "office"),
        "daily_figures_submit": (
            [
                {
                    "prefecture": "620100",
                    "item": "FH001",
                    "date": today,
                    "stock": 10,
                    "received": 1,
                    "consumption": 1,
                    "demand": 1,
                    "expected_arrivals_3d": 0,
                    "reason": "first report",
                }
            ],
            None,
            "office",
        ),
        "county_figures_submit": (
            [
                {
                    "county": "620402",
                    "item": "FH001",
                    "date": today,
                    "stock": 10,
                    "received": 1,
                    "consumption": 1,
                    "demand": 1,
                    "expected_arrivals_3d": 0,
                    "reason": "first report",
                }
            ],
            None,
            "office",
        ),
        "stock_events_create": (
            {
                "warehouse": "SZ01",
                "kind": "receipt",
                "source": "purchase",
                "occurred_at": _now_iso(),
                "source_document": "CG-2026-001",
                "counterparty": "A supplier",
                "note": "first delivery",
                "client_uuid": str(uuid.uuid4()),
                "lines": [{"item": "FH001", "quantity": 5}],
            },
            None,
            "office",
        ),
        "stock_events_reverse": (
            {"reason": "typed twice"},
            {"document_number": world["receipt"].document_number},
            "office",
        ),
        "batches_create": (
            {
                "source_warehouse": "SZ01",
                "destination": str(world["destination"].pk),
                "priority": "other",
                "reason": "weekly share",
                "planned_dispatch_date": today,
                "expected_arrival": today,
                "carrier": "Carrier",
                "vehicle": "甘A12345",
                "note": "n",
                "lines": [{"item": "FH001", "quantity": 1, "channel": "reserve"}],
            },
            None,
            "office",
        ),
        "batches_approve": (transition, world["draft"], "leader"),
        "batches_cancel": (transition, world["draft"], "office"),
        "batches_dispatch": (
            {**transition, "dispatched_at": _now_iso()},
            world["approved"],
            "office",
        ),
        "batches_receive": (
            {
                **transition,
                "received": [{"line": in_transit.lines.get().pk, "quantity": 1}],
                "received_at": _now_iso(),
                "complete": False,
            },
            in_transit,
            "office",
        ),
        "batches_close": (transition, world["received"], "office"),
        "production_reports_submit": (
            {
                "rows": [
                    {
                        "producer": CREDIT_CODE,
                        "item": "FH001",
                        "date": today,
                        "output": 100,
                        "factory_stock": 50,
                        "to_reserve": 0,
                        "to_prefectures": 10,
                        "to_market": 0,
                        "held_for_province": 0,
                        "raw_material_days": 5,
                        "reason": "first report",
                    }
                ],
                "reason": "",
            },
            None,
            "office",
        ),
        "distribution_reports_submit": (
            {
                "rows": [
                    {
                        "enterprise": DISTRIBUTION_CODE,
                        "item": "FH001",
                        "date": today,
                        "purchased": 100,
                        "shipped": 40,
                        "purchase_in_transit": 200,
                        "stock": 60,
                        "reason": "first report",
                    }
                ],
                "reason": "",
            },
            None,
            "office",
        ),
        "production_problems_report": (
            {"producer": CREDIT_CODE, "category": "logistics", "description": "No trucks."},
            None,
            "office",
        ),
        "production_problems_resolve": (
            {"resolution": "Trucks found."},
            {"id": world["problem"].pk},
            "office",
        ),
        "snapshots_build": ({"date": today}, None, "office"),
        "suppliers_create": (
            {
                "name": "重庆渝防护科技有限公司",
                "credit_code": "91500000MA5000002" + check_character("91500000MA5000002"),
                "origin": "other_province",
                "contact": "李经理",
                "phone": "023-1234567",
                "note": "reliable",
            },
            None,
            "office",
        ),
        "suppliers_update": (
            {
                "name": "兰州康泰医疗用品有限公司（更名）",
                "credit_code": SUPPLIER_CODE,
                "origin": "in_province",
                "contact": "王经理",
                "phone": "0931-1234567",
                "note": "reliable",
                "active": True,
            },
            {"id": world["supplier"].pk},
            "office",
        ),
        "suppliers_items_set": (
            {
                "daily_capacity": 50000,
                "lead_time_days": 5,
                "minimum_order": 10000,
                "last_unit_price": "3.50",
            },
            {"id": world["supplier"].pk, "code": "FH001"},
            "office",
        ),
        "reserve_units_create": (
            {
                "name": "重药集团（示例）",
                "capital_granted": "20000000.00",
                "warehouses": ["SZ01"],
                "contact": "张经理",
                "phone": "023-7654321",
                "note": "n",
            },
            None,
            "office",
        ),
        "reserve_units_update": (
            {
                "name": "国药控股甘肃有限公司",
                "capital_granted": "30000000.00",
                "warehouses": ["SZ01"],
                "contact": "c",
                "phone": "p",
                "note": "n",
                "active": True,
            },
            {"id": world["unit"].pk},
            "office",
        ),
        "purchase_orders_create": (
            {
                "supplier": world["supplier"].pk,
                "buyer_unit": world["unit"].pk,
                "funding_source": "working_capital",
                "ordered_on": today,
                "note": "n",
                "lines": [
                    {
                        "item": "FH001",
                        "quantity": 10,
                        "unit_price": "3.50",
                        "expected_arrival": today,
                    }
                ],
            },
            None,
            "office",
        ),
        "purchase_orders_update_draft": (
            {
                "expected_version": None,
                "supplier": world["supplier"].pk,
                "buyer_unit": None,
                "funding_source": "fiscal",
                "ordered_on": today,
                "note": "n",
                "lines": [
                    {
                        "item": "FH001",
                        "quantity": 20,
                        "unit_price": "3.40",
                        "expected_arrival": today,
                    }
                ],
            },
            world["order_draft"],
            "office",
        ),
        "purchase_orders_payments": (
            {
                "amount": "100.00",
                "paid_on": today,
                "note": "n",
                "client_uuid": str(uuid.uuid4()),
            },
            world["order_placed"],
            "office",
        ),
        "purchase_orders_place": (transition, world["order_draft"], "office"),
        "purchase_orders_cancel": (transition, world["order_draft"], "office"),
        "purchase_orders_close": (transition, world["order_arrived"], "office"),
        "purchase_orders_arrivals": (
            {
                "expected_version": None,
                "warehouse": "SZ01",
                "lines": [{"line": world["order_placed"].lines.get().pk, "quantity": 1}],
                "arrived_at": _now_iso(),
                "note": "first part",
                "client_uuid": str(uuid.uuid4()),
            },
            world["order_placed"],
            "office",
        ),
        "national_requests_create": (
            {
                "item": "FH001",
                "quantity": 20000,
                "net_requirement": 18000,
                "justification": "N95 口罩缺口",
                "sent_on": today,
            },
            None,
            "office",
        ),
        "national_requests_refuse": (
            {"expected_version": None, "reason": "全国紧缺"},
            world["national_request"],
            "office",
        ),
        "national_allocations_create": (
            {
                "item": "FH001",
                "quantity": 3000,
                "expected_arrival": today,
                "warehouse": "SZ01",
                "request": world["national_request"].number,
                "reference": "国调〔2020〕2号",
                "announced_on": today,
                "note": "n",
            },
            None,
            "office",
        ),
        "national_allocations_arrivals": (
            {
                "quantity": 10,
                "arrived_at": _now_iso(),
                "note": "first part",
                "client_uuid": str(uuid.uuid4()),
            },
            {"id": world["national_allocation"].pk},
            "office",
        ),
        "requests_create": (
            {
                "claimant": "SRMYY",
                "urgency": "urgent",
                "needed_by": (timezone.localdate() + dt.timedelta(days=2)).isoformat(),
                "justification": "Fever clinic",
                "client_uuid": str(uuid.uuid4()),
                "lines": [{"item": "FH001", "quantity": 50}],
            },
            None,
            "office",
        ),
        "requests_triage": (
            {
                "expected_version": None,
                "decisions": [
                    {
                        "line": world["supply_request"].lines.get().pk,
                        "item": "FH001",
                        "decision": "accepted_part",
                        "accepted_quantity": 60,
                        "reason": "short",
                    }
                ],
            },
            world["supply_request"],
            "office",
        ),
        "requests_withdraw": (
            {"expected_version": None, "reason": "No longer needed"},
            world["supply_request"],
            "office",
        ),
        "requests_into_batches": (
            {
                "lines": [world["accepted_request_line"].pk],
                "warehouse": "SZ01",
                "channel": "reserve",
            },
            None,
            "office",
        ),
    }
    assert op in bodies, f"{op} is new: give it a valid body here"
    body, target, username = bodies[op]
    body = copy.deepcopy(body)
    if isinstance(target, DispatchBatch | PurchaseOrder | NationalRequest | SupplyRequest):
        body["expected_version"] = target.version
        target = {"number": target.number}
    return username, target or {}, body
