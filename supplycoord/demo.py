"""The demo province's people: one user per role, and the staff each prefecture protects.

Demo only. The passwords are fixed and documented here and in `manage.py demo_users`, so
anyone trying the demo can log in; a real deployment creates its users in the admin.
"""

import dataclasses
import random

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from .models import Prefecture, ProtectedStaff, Role, StaffCategory, User

DEMO_SEED = 20200125


@dataclasses.dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    prefecture_code: str | None = None
    first_name: str = ""
    superuser: bool = False


DEMO_USERS = (
    DemoUser(
        "lanzhou_officer",
        "Demo-2020-lanzhou",
        Role.PREFECTURE_OFFICER,
        "620100",
        "兰州市物资联络员",
    ),
    DemoUser(
        "tianshui_officer",
        "Demo-2020-tianshui",
        Role.PREFECTURE_OFFICER,
        "620500",
        "天水市物资联络员",
    ),
    DemoUser("producer_reporter", "Demo-2020-producer", Role.PRODUCER_REPORTER, None, "驻企特派员"),
    DemoUser("office", "Demo-2020-office", Role.OFFICE_STAFF, None, "保障组工作人员"),
    DemoUser("leader", "Demo-2020-leader", Role.LEADERSHIP, None, "领导小组"),
    DemoUser("admin", "Demo-2020-admin", Role.ADMIN, None, "系统管理员", superuser=True),
)

# Resident population in ten-thousands (2019, rounded): it sizes staff and daily figures.
# Lanzhou New Area is a development zone of about 30 万 people.
POPULATION_10K = {
    "620100": 379,
    "620200": 25,
    "620300": 47,
    "620400": 174,
    "620500": 335,
    "620600": 183,
    "620700": 123,
    "620800": 212,
    "620900": 112,
    "621000": 226,
    "621100": 282,
    "621200": 288,
    "622900": 205,
    "623000": 71,
    "LZXQ": 30,
}
DEFAULT_POPULATION_10K = 100

# The provincial hospitals and most designated hospitals are in Lanzhou: medical staff to
# protect there are well above what its population alone suggests.
MEDICAL_CONCENTRATION = {"620100": 1.8, "LZXQ": 0.7}

# People to protect per 10,000 residents, by staff category; "medical" scales with the
# concentration above. Unknown categories (added later in the admin) get no demo staff.
STAFF_PER_10K = {
    "fever_clinic": (3.2, True),
    "isolation_ward": (1.6, True),
    "general_medical": (38.0, True),
    "community": (24.0, False),
    "port_checkpoint": (4.5, False),
}


def population_10k(prefecture_code: str) -> int:
    return POPULATION_10K.get(prefecture_code, DEFAULT_POPULATION_10K)


def medical_concentration(prefecture_code: str) -> float:
    return MEDICAL_CONCENTRATION.get(prefecture_code, 1.0)


@transaction.atomic
def demo_users_create() -> dict:
    """Create the demo users that do not exist yet; existing ones are left as they are."""
    existing = set(
        User.objects.filter(username__in=[u.username for u in DEMO_USERS]).values_list(
            "username", flat=True
        )
    )
    prefectures = {
        p.code: p
        for p in Prefecture.objects.filter(
            code__in=[u.prefecture_code for u in DEMO_USERS if u.prefecture_code]
        )
    }
    created = []
    for demo in DEMO_USERS:
        if demo.username in existing:
            continue
        if demo.prefecture_code and demo.prefecture_code not in prefectures:
            raise ValueError(
                f"prefecture {demo.prefecture_code} of demo user {demo.username} is not loaded"
            )
        user = User(
            username=demo.username,
            first_name=demo.first_name,
            role=demo.role,
            prefecture=prefectures.get(demo.prefecture_code),
            is_staff=demo.superuser,
            is_superuser=demo.superuser,
        )
        user.set_password(demo.password)
        user.save()
        created.append(demo.username)
    return {"created": created, "existing": sorted(existing)}


def demo_users_listing() -> list[dict]:
    """The demo users that exist, with their documented password (or a note if changed)."""
    users = {
        u.username: u
        for u in User.objects.filter(username__in=[d.username for d in DEMO_USERS]).select_related(
            "prefecture"
        )
    }
    rows = []
    for demo in DEMO_USERS:
        user = users.get(demo.username)
        if user is None:
            continue
        rows.append(
            {
                "username": user.username,
                "role": user.effective_role,
                "role_label": Role(user.effective_role).label,
                "prefecture": user.prefecture.code if user.prefecture else "",
                "prefecture_name": user.prefecture.name if user.prefecture else "",
                "password": demo.password,
                "password_unchanged": user.check_password(demo.password),
            }
        )
    return rows


def demo_staff_count(prefecture_code: str, category_code: str) -> int | None:
    """The demo head count of one prefecture and category; deterministic, rounded to 10."""
    if category_code not in STAFF_PER_10K:
        return None
    per_10k, medical = STAFF_PER_10K[category_code]
    people = population_10k(prefecture_code) * per_10k
    if medical:
        people *= medical_concentration(prefecture_code)
    # A stable ±12% wobble per prefecture and category, so the figures do not look computed.
    wobble = random.Random(f"{DEMO_SEED}:staff:{prefecture_code}:{category_code}").uniform(
        0.88, 1.12
    )
    return max(10, int(round(people * wobble, -1)))


@transaction.atomic
def demo_protected_staff_create(*, user=None) -> dict:
    """Protected staff for every prefecture and known staff category; existing rows stay."""
    prefectures = list(Prefecture.objects.order_by("code"))
    categories = list(StaffCategory.objects.order_by("sort_order", "code"))
    existing = set(ProtectedStaff.objects.values_list("prefecture_id", "category_id"))
    rows = []
    for prefecture in prefectures:
        for category in categories:
            if (prefecture.pk, category.pk) in existing:
                continue
            count = demo_staff_count(prefecture.code, category.code)
            if count is None:
                continue
            rows.append(ProtectedStaff(prefecture=prefecture, category=category, count=count))
    if rows:
        bulk_create_with_history(
            rows,
            ProtectedStaff,
            batch_size=500,
            default_user=user,
            default_change_reason="demo data",
            default_date=timezone.now(),
        )
    return {"created": len(rows), "existing": len(existing)}
