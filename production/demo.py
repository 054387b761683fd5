"""The demo province's producers: Gansu's mask, suit and disinfectant makers of early 2020.

Gansu's medical-supplies group reported (甘肃日报, 13 March 2020; ../shared/seeds): "2月4日, 广河新善
友医疗器械有限公司日产3万只一次性医用口罩生产线投产, 实现了我省医用口罩生产从无到有的突破 … 全省建成、在
建医用口罩生产企业17家、生产线44条, 全部建成后总产能将达313.3万只, 其中N95口罩27.3万只; 医用防护服生产厂家
5家, 日产能1万件." The demo reproduces those figures exactly in `capacity_by_item()`:

    17 mask producers, 44 lines not stopped     3,133,000 a day when all built
       of which N95 (FH001), 8 lines              273,000
    5 protective-suit producers (FH004)            10,000
    3 disinfectant producers (one line stopped, not counted)

Six mask lines and one suit line are still being built or planned on the demo's last day,
so what is commissioned then (2,748,000 masks, 158,000 N95, 9,000 suits) is below the "when
all built" figure. 广河新善友 is the one producer the article names that the demo keeps (its
first line, 30,000 disposable masks a day from 4 February, is the article's; it is also the
producer whose held reserve DC01 inventory.demo already books). Every other name, address,
contact, licence number and figure is invented, and so is every unified social credit code:
they are made up from the county code and a seeded random organisation code, with the GB 32100
check character computed, so they validate but belong to nobody.

The last 30 days of the demo (2020-02-24 … 2020-03-24) have a production report for each
producer and item with a commissioned line: output follows the commissioned lines (a new line
ramps up over a week), most producers run at 70–95% of capacity, and 靖远黄河 runs out of
melt-blown fabric on 19 March, so its disposable masks are under 60% for the last six days
and the utilisation flag shows on the last day. The three Lanzhou producers the demo's
commissioner (`producer_reporter`) is stationed at are reported by that user; the others by
the office. 广河新善友's deliveries into its held reserve are the own-production receipts that
inventory.demo posts into DC01: its reports carry those quantities and point at those ledger
events instead of booking them a second time (so the reserve ledger, the snapshots and the
tests that pin them are unchanged).

Licence flags compare expiry dates with "today". The demo's dates are 2020's, so its licences
are dated as they would have been then: on the demo's last day (2020-03-24, the date the
dashboards open on) one emergency approval has expired four days before, a temporary hygiene
permit and an emergency approval expire within 14 days, and the rest run for months or years.
Read against the real today, every licence dated 2020–2025 has long expired; the flags are
meant to be read on the demo's dates.

Idempotent: producers are keyed by credit code, lines and raw materials are only added to a
producer that has none, licences by (producer, kind, number), reports by (producer, item,
date), problems by (producer, description). Existing rows are never changed.
"""

import dataclasses
import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from inventory.demo import DEMO_DAYS, DEMO_SEED, DEMO_START
from inventory.models import ReceiptSource, StockEvent, StockEventKind, Warehouse
from supplycoord.models import County, Item, Prefecture, Role, User

from .credit_code import ALPHABET, check_character
from .models import (
    Licence,
    LineStatus,
    Problem,
    Producer,
    ProducerStatus,
    ProductionLine,
    ProductionReport,
    RawMaterial,
)
from .services import (
    licence_add,
    problem_report,
    problem_resolve,
    problem_take,
    producer_create,
    production_reports_submit,
)

DEMO_LAST_DAY = DEMO_START + dt.timedelta(days=DEMO_DAYS - 1)
REPORT_DAYS = 30
REPORT_FIRST_DAY = DEMO_LAST_DAY - dt.timedelta(days=REPORT_DAYS - 1)

MASK_ITEMS = ("FH001", "FH002", "FH003")
N95 = "FH001"
SUIT = "FH004"
# What the article reports, and what the demo's lines add up to (tests pin both).
MASK_CAPACITY_WHEN_ALL_BUILT = 3_133_000
N95_CAPACITY_WHEN_ALL_BUILT = 273_000
SUIT_CAPACITY_WHEN_ALL_BUILT = 10_000
MASK_PRODUCERS = 17
MASK_LINES = 44

# The producer whose held reserve (DC01) inventory.demo already books.
HELD_RESERVE_PRODUCER = "xinshanyou"
HELD_RESERVE_WAREHOUSE = "DC01"
# The producer that runs short of melt-blown fabric at the end of the demo.
LOW_UTILISATION = ("jingyuan", "FH003", dt.date(2020, 3, 19))

C, B, P, S = (
    LineStatus.COMMISSIONED,
    LineStatus.BUILDING,
    LineStatus.PLANNED,
    LineStatus.STOPPED,
)


def _d(month: int, day: int) -> dt.date:
    return dt.date(2020, month, day)


@dataclasses.dataclass(frozen=True)
class DemoLine:
    item: str
    capacity: int
    status: str
    on: dt.date | None  # actual commissioning when commissioned, else the planned date


@dataclasses.dataclass(frozen=True)
class DemoProducer:
    key: str
    name: str
    prefecture: str
    county: str | None
    address: str
    contact: str
    status: str
    resumption: dt.date
    lines: tuple[DemoLine, ...]
    categories: tuple[str, ...] = ("protective",)
    national: dt.date | None = None
    provincial: dt.date | None = None
    commissioner: bool = False  # the demo's producer_reporter is stationed here


DEMO_PRODUCERS = (
    # --- 17 mask producers, 44 lines ---------------------------------------------------------
    DemoProducer(
        "xinshanyou",
        "广河新善友医疗器械有限公司",
        "622900",
        "622924",
        "临夏州广河县工业园区",
        "马永福",
        ProducerStatus.PRODUCING,
        _d(2, 4),
        (
            DemoLine("FH003", 30_000, C, _d(2, 4)),
            DemoLine("FH003", 50_000, C, _d(2, 16)),
            DemoLine("FH001", 8_000, C, _d(2, 20)),
            DemoLine("FH002", 40_000, C, _d(3, 2)),
        ),
        national=_d(2, 7),
        provincial=_d(2, 5),
    ),
    DemoProducer(
        "longkang",
        "兰州陇康医疗用品有限公司",
        "620100",
        "620102",
        "兰州市城关区雁西路科技园",
        "刘志强",
        ProducerStatus.PRODUCING,
        _d(2, 10),
        (
            DemoLine("FH001", 50_000, C, _d(2, 20)),
            DemoLine("FH001", 50_000, B, _d(4, 5)),
            DemoLine("FH002", 100_000, C, _d(2, 14)),
            DemoLine("FH002", 100_000, C, _d(2, 22)),
            DemoLine("FH003", 150_000, C, _d(2, 10)),
        ),
        national=_d(2, 18),
        provincial=_d(2, 12),
        commissioner=True,
    ),
    DemoProducer(
        "jincheng",
        "兰州金城防护科技有限公司",
        "620100",
        "620103",
        "兰州市七里河区彭家坪工业园",
        "王晓东",
        ProducerStatus.PRODUCING,
        _d(2, 12),
        (
            DemoLine("FH001", 40_000, C, _d(2, 27)),
            DemoLine("FH003", 130_000, C, _d(2, 12)),
            DemoLine("FH003", 130_000, C, _d(2, 19)),
        ),
        provincial=_d(2, 14),
        commissioner=True,
    ),
    DemoProducer(
        "anning",
        "甘肃安宁卫材实业有限公司",
        "620100",
        "620105",
        "兰州市安宁区北滨河西路",
        "陈丽萍",
        ProducerStatus.RESUMED,
        _d(1, 31),
        (
            DemoLine("FH003", 80_000, C, _d(2, 8)),
            DemoLine("FH003", 80_000, C, _d(2, 15)),
            DemoLine("FH002", 60_000, C, _d(2, 25)),
        ),
        provincial=_d(2, 6),
        commissioner=True,
    ),
    DemoProducer(
        "xigu",
        "兰州西固新材无纺制品有限公司",
        "620100",
        "620104",
        "兰州市西固区合水北路化工园",
        "赵建华",
        ProducerStatus.CONVERTING,
        _d(2, 3),
        (
            DemoLine("FH003", 150_000, C, _d(2, 21)),
            DemoLine("FH003", 150_000, C, _d(3, 1)),
            DemoLine("FH003", 150_000, B, _d(4, 10)),
        ),
        provincial=_d(2, 15),
    ),
    DemoProducer(
        "yuzhong",
        "榆中县恒安医用品有限公司",
        "620100",
        "620123",
        "兰州市榆中县和平工业园",
        "杨海军",
        ProducerStatus.PRODUCING,
        _d(2, 18),
        (
            DemoLine("FH003", 60_000, C, _d(2, 18)),
            DemoLine("FH002", 60_000, P, _d(4, 20)),
        ),
    ),
    DemoProducer(
        "kangtai",
        "天水麦积康泰卫生材料有限公司",
        "620500",
        "620503",
        "天水市麦积区社棠工业园",
        "张卫国",
        ProducerStatus.PRODUCING,
        _d(2, 11),
        (
            DemoLine("FH001", 30_000, C, _d(3, 5)),
            DemoLine("FH003", 80_000, C, _d(2, 11)),
            DemoLine("FH002", 80_000, C, _d(2, 20)),
        ),
        national=_d(2, 20),
        provincial=_d(2, 12),
    ),
    DemoProducer(
        "huayu",
        "天水秦州华宇医疗器械有限公司",
        "620500",
        "620502",
        "天水市秦州区天水郡工业区",
        "李红梅",
        ProducerStatus.RESUMED,
        _d(1, 29),
        (
            DemoLine("FH003", 70_000, C, _d(2, 13)),
            DemoLine("FH003", 70_000, C, _d(2, 26)),
        ),
        provincial=_d(2, 8),
    ),
    DemoProducer(
        "gangu",
        "甘谷县安心防护用品有限公司",
        "620500",
        "620523",
        "天水市甘谷县西十里工业园",
        "蒲建军",
        ProducerStatus.PRODUCING,
        _d(2, 17),
        (
            DemoLine("FH003", 50_000, C, _d(2, 17)),
            DemoLine("FH002", 50_000, C, _d(3, 8)),
        ),
    ),
    DemoProducer(
        "tongcheng",
        "白银铜城医疗用品有限公司",
        "620400",
        "620402",
        "白银市白银区西区经济开发区",
        "何志刚",
        ProducerStatus.PRODUCING,
        _d(2, 14),
        (
            DemoLine("FH001", 30_000, C, _d(3, 10)),
            DemoLine("FH003", 80_000, C, _d(2, 14)),
            DemoLine("FH003", 80_000, C, _d(2, 24)),
        ),
        provincial=_d(2, 16),
    ),
    DemoProducer(
        "jingyuan",
        "靖远县黄河医用材料有限公司",
        "620400",
        "620421",
        "白银市靖远县刘川工业园",
        "魏国庆",
        ProducerStatus.BUILDING_LINES,
        _d(2, 23),
        (
            DemoLine("FH003", 60_000, C, _d(2, 23)),
            DemoLine("FH003", 60_000, B, _d(3, 31)),
        ),
    ),
    DemoProducer(
        "kangda",
        "酒泉肃州康达医疗器械有限公司",
        "620900",
        "620902",
        "酒泉市肃州区酒泉经济技术开发区",
        "孙立新",
        ProducerStatus.PRODUCING,
        _d(2, 19),
        (
            DemoLine("FH001", 25_000, P, _d(4, 15)),
            DemoLine("FH003", 60_000, C, _d(2, 19)),
            DemoLine("FH002", 60_000, C, _d(3, 3)),
        ),
        provincial=_d(2, 21),
    ),
    DemoProducer(
        "xiyu",
        "玉门市西域防护科技有限公司",
        "620900",
        "620981",
        "酒泉市玉门市老市区工业园",
        "马文斌",
        ProducerStatus.PRODUCING,
        _d(2, 28),
        (DemoLine("FH003", 60_000, C, _d(2, 28)),),
    ),
    DemoProducer(
        "antai",
        "永靖县安泰医用品有限公司",
        "622900",
        "622923",
        "临夏州永靖县刘家峡镇工业园",
        "孔德明",
        ProducerStatus.RESUMED,
        _d(2, 2),
        (
            DemoLine("FH003", 60_000, C, _d(2, 9)),
            DemoLine("FH002", 40_000, C, _d(2, 29)),
        ),
        provincial=_d(2, 10),
    ),
    DemoProducer(
        "zhonghe",
        "武威凉州众和医疗科技有限公司",
        "620600",
        "620602",
        "武威市凉州区武威工业园",
        "蔡文斌",
        ProducerStatus.PRODUCING,
        _d(2, 16),
        (
            DemoLine("FH003", 100_000, C, _d(2, 16)),
            DemoLine("FH003", 100_000, C, _d(3, 6)),
        ),
        provincial=_d(2, 20),
    ),
    DemoProducer(
        "silu",
        "张掖甘州丝路医疗用品有限公司",
        "620700",
        "620702",
        "张掖市甘州区张掖经济技术开发区",
        "鲁金花",
        ProducerStatus.PRODUCING,
        _d(2, 21),
        (
            DemoLine("FH003", 60_000, C, _d(2, 21)),
            DemoLine("FH002", 60_000, C, _d(3, 12)),
        ),
    ),
    DemoProducer(
        "qihuang",
        "定西陇西岐黄医疗器械有限公司",
        "621100",
        "621122",
        "定西市陇西县文峰工业园",
        "牛正平",
        ProducerStatus.BUILDING_LINES,
        _d(2, 25),
        (
            DemoLine("FH001", 40_000, B, _d(4, 8)),
            DemoLine("FH003", 60_000, C, _d(2, 25)),
        ),
    ),
    # --- 5 protective-suit producers, 10,000 a day ------------------------------------------
    DemoProducer(
        "huakang",
        "甘肃华康医疗防护用品有限公司",
        "620100",
        "620103",
        "兰州市七里河区西津西路",
        "高建新",
        ProducerStatus.PRODUCING,
        _d(2, 12),
        (
            DemoLine("FH004", 1_500, C, _d(2, 12)),
            DemoLine("FH004", 1_500, C, _d(2, 26)),
        ),
        national=_d(2, 15),
        provincial=_d(2, 13),
    ),
    DemoProducer(
        "qinling",
        "天水秦岭防护服装有限公司",
        "620500",
        "620503",
        "天水市麦积区桥南工业区",
        "吴秀兰",
        ProducerStatus.CONVERTING,
        _d(2, 10),
        (DemoLine("FH004", 2_500, C, _d(2, 18)),),
        provincial=_d(2, 19),
    ),
    DemoProducer(
        "kongtong",
        "平凉崆峒医用纺织品有限公司",
        "620800",
        "620802",
        "平凉市崆峒区工业园区",
        "朱永红",
        ProducerStatus.PRODUCING,
        _d(2, 20),
        (
            DemoLine("FH004", 1_000, C, _d(2, 22)),
            DemoLine("FH004", 1_000, C, _d(3, 4)),
        ),
    ),
    DemoProducer(
        "longdong",
        "庆阳陇东卫材有限公司",
        "621000",
        "621002",
        "庆阳市西峰区西峰工业园",
        "景明华",
        ProducerStatus.PRODUCING,
        _d(3, 1),
        (DemoLine("FH004", 1_500, C, _d(3, 1)),),
    ),
    DemoProducer(
        "zijinhua",
        "金昌紫金花防护科技有限公司",
        "620300",
        "620302",
        "金昌市金川区经济技术开发区",
        "田玉霞",
        ProducerStatus.BUILDING_LINES,
        _d(2, 26),
        (DemoLine("FH004", 1_000, B, _d(3, 30)),),
    ),
    # --- disinfectant producers ---------------------------------------------------------------
    DemoProducer(
        "longyuan",
        "甘肃陇原消毒制品有限公司",
        "620100",
        "620104",
        "兰州市西固区新城工业园",
        "韩志明",
        ProducerStatus.RESUMED,
        _d(1, 30),
        (
            DemoLine("XD001", 20_000, C, _d(1, 30)),
            DemoLine("XD006", 10_000, C, _d(2, 10)),
        ),
        categories=("disinfection",),
        provincial=_d(2, 4),
    ),
    DemoProducer(
        "taihe",
        "白银泰和化工有限公司",
        "620400",
        "620403",
        "白银市平川区陶瓷工业园",
        "冯建平",
        ProducerStatus.CONVERTING,
        _d(2, 5),
        (
            DemoLine("XD002", 30_000, C, _d(2, 6)),
            # Its sodium hypochlorite line was stopped to free the staff for alcohol.
            DemoLine("XD009", 5_000, S, _d(1, 10)),
        ),
        categories=("disinfection",),
        provincial=_d(2, 9),
    ),
    DemoProducer(
        "qilian",
        "武威祁连消毒用品有限公司",
        "620600",
        "620602",
        "武威市凉州区黄羊工业园",
        "郭玉林",
        ProducerStatus.PRODUCING,
        _d(2, 3),
        (DemoLine("XD005", 200_000, C, _d(2, 3)),),
        categories=("disinfection",),
    ),
)

# (producer key, kind, number, issuer, issued, expires). Expiry dates are read against the
# demo's last day, 2020-03-24: see the module docstring.
DEMO_LICENCES = (
    (
        "xinshanyou",
        "medical_device_registration",
        "甘械注准20202140011",
        "甘肃省药品监督管理局",
        _d(2, 3),
        dt.date(2025, 2, 2),
    ),
    (
        "xinshanyou",
        "production_licence",
        "甘食药监械生产许20200003号",
        "甘肃省药品监督管理局",
        _d(2, 3),
        dt.date(2025, 2, 2),
    ),
    (
        "longkang",
        "emergency_approval",
        "甘药监械应急〔2020〕5号",
        "甘肃省药品监督管理局",
        _d(2, 12),
        _d(8, 31),
    ),
    (
        "longkang",
        "production_licence",
        "甘食药监械生产许20200007号",
        "甘肃省药品监督管理局",
        _d(2, 12),
        dt.date(2025, 2, 11),
    ),
    (
        "jincheng",
        "emergency_approval",
        "甘药监械应急〔2020〕8号",
        "甘肃省药品监督管理局",
        _d(2, 11),
        _d(6, 30),
    ),
    (
        "anning",
        "medical_device_registration",
        "甘械注准20172140036",
        "甘肃省食品药品监督管理局",
        dt.date(2017, 6, 20),
        dt.date(2022, 6, 19),
    ),
    (
        "kangtai",
        "emergency_approval",
        "甘药监械应急〔2020〕11号",
        "甘肃省药品监督管理局",
        _d(2, 10),
        _d(6, 30),
    ),
    # Expires within 14 days of the demo's last day.
    (
        "huayu",
        "emergency_approval",
        "甘药监械应急〔2020〕9号",
        "甘肃省药品监督管理局",
        _d(2, 12),
        _d(4, 5),
    ),
    # Expired four days before the demo's last day: the renewal is a problem in hand.
    (
        "gangu",
        "emergency_approval",
        "甘药监械应急〔2020〕14号",
        "甘肃省药品监督管理局",
        _d(2, 16),
        _d(3, 20),
    ),
    (
        "tongcheng",
        "emergency_approval",
        "甘药监械应急〔2020〕12号",
        "甘肃省药品监督管理局",
        _d(2, 13),
        _d(7, 31),
    ),
    (
        "zhonghe",
        "emergency_approval",
        "甘药监械应急〔2020〕13号",
        "甘肃省药品监督管理局",
        _d(2, 15),
        _d(7, 31),
    ),
    (
        "huakang",
        "emergency_approval",
        "甘药监械应急〔2020〕6号",
        "甘肃省药品监督管理局",
        _d(2, 11),
        _d(8, 31),
    ),
    ("qinling", "other", "转产备案〔2020〕天工信002号", "天水市工业和信息化局", _d(2, 17), None),
    # Temporary hygiene permit of a disinfectant maker, expiring within 14 days.
    (
        "longyuan",
        "temporary_hygiene_permit",
        "甘卫消临字(2020)第0004号",
        "甘肃省卫生健康委员会",
        _d(2, 1),
        _d(3, 31),
    ),
    (
        "taihe",
        "temporary_hygiene_permit",
        "甘卫消临字(2020)第0009号",
        "甘肃省卫生健康委员会",
        _d(2, 5),
        _d(5, 4),
    ),
    (
        "qilian",
        "production_licence",
        "甘卫消证字(2018)第0021号",
        "甘肃省卫生健康委员会",
        dt.date(2018, 9, 1),
        dt.date(2022, 8, 31),
    ),
)

# Raw materials on the demo's last day: (material, name, unit, daily use per 100,000 masks,
# 1,000 suits or 10,000 bottles or tablets a day of running capacity). A mask uses about 2.5 g of non-woven, 1 g of melt-blown
# fabric and 0.5 g of nose wire.
MASK_MATERIALS = (
    ("non_woven", "SS无纺布", "t", Decimal("0.25")),
    ("melt_blown", "BFE95熔喷布", "t", Decimal("0.10")),
    ("nose_wire", "鼻梁条(铝塑)", "kg", Decimal("50")),
)
SUIT_MATERIALS = (
    ("non_woven", "SMS无纺布", "t", Decimal("0.4")),
    ("other", "微孔透气膜", "万米", Decimal("0.3")),
)
DISINFECTANT_MATERIALS = (("other", "原料", "t", Decimal("1.2")),)
# Days of stock where the demo wants a shortage to show (others draw 4–20 days).
SHORT_MATERIALS = {("jingyuan", "melt_blown"): 1, ("gangu", "melt_blown"): 3}

# (producer key, category, description, reported, taken by (None/"office"/"reporter"),
#  resolution, resolved). The reporter of a problem is the commissioner where one is
# stationed, the office otherwise.
DEMO_PROBLEMS = (
    (
        "xinshanyou",
        "raw_materials",
        "熔喷布库存仅够2天，原定河北供货商因交通管制无法按期发货。",
        (2, 6, 9, 30),
        "office",
        "省保障组协调省外生产企业调运熔喷布3吨，办理绿色通行证，两日内到厂。",
        (2, 8, 17, 0),
    ),
    (
        "longkang",
        "labour",
        "新线投产缺熟练挡车工和质检员约20人，返岗员工不足。",
        (2, 15, 10, 0),
        "reporter",
        "人社部门组织职业院校学生和返岗人员培训上岗，22人已到岗。",
        (2, 19, 16, 30),
    ),
    (
        "longkang",
        "equipment",
        "N95生产线一台超声波焊接机故障，待厂家工程师到场维修。",
        (3, 16, 11, 20),
        "reporter",
        "",
        None,
    ),
    (
        "jincheng",
        "logistics",
        "发往天水、陇南的成品运输车辆需跨市通行证，司机返程后须隔离。",
        (2, 20, 9, 0),
        "reporter",
        "交通运输厅办理应急物资运输通行证，司机按闭环管理免于隔离。",
        (2, 21, 12, 0),
    ),
    (
        "jincheng",
        "licence",
        "N95口罩注册检验在省医疗器械检验所排队，预计需两周。",
        (3, 10, 15, 0),
        "office",
        "",
        None,
    ),
    (
        "anning",
        "funding",
        "新增外科口罩生产线设备款及原料预付款，流动资金缺口约800万元。",
        (3, 12, 10, 30),
        None,
        "",
        None,
    ),
    (
        "jingyuan",
        "raw_materials",
        "熔喷布断供，二号线建设停滞，一号线仅能半负荷生产，库存约1天。",
        (3, 19, 8, 40),
        None,
        "",
        None,
    ),
    (
        "xigu",
        "utilities",
        "新建车间需一级供电保障，现有线路容量不足，需新增专线。",
        (2, 25, 14, 0),
        "office",
        "国网甘肃省电力公司架设专线，实施一级供电保障。",
        (3, 2, 18, 0),
    ),
    (
        "kangtai",
        "licence",
        "N95口罩应急审批材料需补正产品技术要求和检验报告。",
        (3, 1, 9, 10),
        "office",
        "省药监局开辟绿色通道，材料补正后当日完成审批。",
        (3, 5, 17, 30),
    ),
    (
        "gangu",
        "licence",
        "一次性医用口罩应急审批3月20日到期，需办理延续。",
        (3, 14, 16, 0),
        "office",
        "",
        None,
    ),
    (
        "kongtong",
        "raw_materials",
        "防护服微孔透气膜供应不足，现有库存仅够4天。",
        (3, 22, 10, 0),
        None,
        "",
        None,
    ),
    (
        "taihe",
        "logistics",
        "乙醇原料属危化品，运输车辆跨省通行受限，原料到厂延误。",
        (2, 9, 11, 0),
        "office",
        "应急管理厅协调危化品运输绿色通道，原料恢复正常供应。",
        (2, 12, 15, 0),
    ),
    (
        "zhonghe",
        "labour",
        "部分员工返岗后隔离期未满，夜班无法开工。",
        (2, 28, 9, 30),
        "office",
        "属地疫情防控指挥部同意员工在厂区集中居住、闭环管理，夜班恢复。",
        (3, 3, 10, 0),
    ),
    (
        "qihuang",
        "equipment",
        "N95生产线设备供应商延期发货，投产时间推迟至4月上旬。",
        (3, 18, 14, 30),
        None,
        "",
        None,
    ),
)

# Phone area codes by prefecture, for invented numbers.
AREA_CODES = {
    "620100": "0931",
    "620300": "0935",
    "620400": "0943",
    "620500": "0938",
    "620600": "0935",
    "620700": "0936",
    "620800": "0933",
    "620900": "0937",
    "621000": "0934",
    "621100": "0932",
    "622900": "0930",
}


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def demo_credit_code(demo: DemoProducer, *, seed: int = DEMO_SEED) -> str:
    """An invented but valid unified social credit code: 9 (market regulator), 1 (enterprise),
    the county code, "MA" and seven seeded characters, and the GB 32100 check character."""
    rng = random.Random(f"{seed}:credit-code:{demo.key}")
    region = demo.county or demo.prefecture
    first17 = "91" + region + "MA" + "".join(rng.choice(ALPHABET) for _ in range(7))
    return first17 + check_character(first17)


def demo_capacity() -> dict[str, dict[str, int]]:
    """{item: {"commissioned": …, "when_all_built": …, "lines": …}} of the demo's lines; no
    database."""
    totals: dict[str, dict[str, int]] = {}
    for producer in DEMO_PRODUCERS:
        for line in producer.lines:
            if line.status == LineStatus.STOPPED:
                continue
            row = totals.setdefault(line.item, {"commissioned": 0, "when_all_built": 0, "lines": 0})
            row["when_all_built"] += line.capacity
            row["lines"] += 1
            if line.status == LineStatus.COMMISSIONED:
                row["commissioned"] += line.capacity
    return totals


# --- daily production reports -------------------------------------------------------------


def _ramp(line: DemoLine, day: dt.date) -> float:
    """A new line runs at 60% of its capacity the day it is commissioned, full after 5 days."""
    return min(1.0, 0.6 + 0.08 * (day - line.on).days)


def _round(value: float, item: str) -> int:
    step = 100 if item in MASK_ITEMS or item == "XD005" else 10
    return int(value // step) * step


def demo_production_rows(
    *, reserve: dict[tuple[str, dt.date], int] | None = None, seed: int = DEMO_SEED
) -> list[dict]:
    """The demo's production reports as dicts (producer key, item, date, figures); no database.

    `reserve`: {(item, date): quantity} the held-reserve producer delivered into DC01 that
    day (from the ledger); its reports carry those quantities as `to_reserve`.
    """
    reserve = reserve or {}
    rows = []
    for producer in DEMO_PRODUCERS:
        items = sorted({line.item for line in producer.lines})
        for item in items:
            lines = [
                line
                for line in producer.lines
                if line.item == item and line.status == LineStatus.COMMISSIONED
            ]
            if not lines:
                continue
            rng = random.Random(f"{seed}:production:{producer.key}:{item}")
            stock = None
            base_days = rng.randint(6, 15)
            for n in range(REPORT_DAYS):
                day = REPORT_FIRST_DAY + dt.timedelta(days=n)
                running = [line for line in lines if line.on <= day]
                if not running:
                    continue
                utilisation = rng.uniform(0.72, 0.94)
                material_days = max(2, base_days + rng.randint(-3, 3))
                key, low_item, low_from = LOW_UTILISATION
                if (producer.key, item) == (key, low_item) and day >= low_from:
                    utilisation = rng.uniform(0.35, 0.5)
                    material_days = 1
                capacity = sum(line.capacity * _ramp(line, day) for line in running)
                output = _round(capacity * utilisation, item)
                to_reserve = (
                    reserve.get((item, day), 0) if producer.key == HELD_RESERVE_PRODUCER else 0
                )
                output = max(output, to_reserve)
                if stock is None:
                    # Stock carried into the window: none on a line's first day.
                    first = min(line.on for line in running)
                    stock = 0 if first == day else _round(output * rng.uniform(0.3, 0.6), item)
                target = _round(output * rng.uniform(0.25, 0.7), item)
                shipped = max(to_reserve, stock + output - target)
                stock = stock + output - shipped
                rest = shipped - to_reserve
                share = rng.uniform(0.75, 0.9) if item == SUIT else rng.uniform(0.35, 0.65)
                to_prefectures = _round(rest * share, item)
                held = _round(stock * rng.uniform(0.2, 0.5), item) if producer.provincial else 0
                rows.append(
                    {
                        "producer": producer.key,
                        "item": item,
                        "date": day,
                        "output": output,
                        "to_reserve": to_reserve,
                        "to_prefectures": to_prefectures,
                        "to_market": rest - to_prefectures,
                        "factory_stock": stock,
                        "held_for_province": held,
                        "raw_material_days": material_days,
                    }
                )
    return rows


def _held_reserve_receipts(warehouse: Warehouse | None) -> dict[tuple[str, dt.date], tuple]:
    """{(item code, local date): (event, quantity)} of the own-production receipts in DC01."""
    if warehouse is None:
        return {}
    events = (
        StockEvent.objects.filter(
            warehouse=warehouse,
            kind=StockEventKind.RECEIPT,
            receipt_source=ReceiptSource.OWN_PRODUCTION,
            occurred_at__gte=_at(REPORT_FIRST_DAY, 0),
            occurred_at__lt=_at(DEMO_LAST_DAY + dt.timedelta(days=1), 0),
            reverses__isnull=True,
        )
        .prefetch_related("lines__item")
        .order_by("occurred_at", "pk")
    )
    found = {}
    for event in events:
        lines = list(event.lines.all())
        if len(lines) == 1 and lines[0].quantity > 0:
            found[(lines[0].item.code, timezone.localdate(event.occurred_at))] = (
                event,
                lines[0].quantity,
            )
    return found


def _submission_time(producer_key: str, day: dt.date, seed: int) -> dt.datetime:
    rng = random.Random(f"{seed}:production-submitted:{producer_key}:{day.isoformat()}")
    return _at(day, 17, 0) + dt.timedelta(minutes=rng.randint(0, 150))


def _reports_create(*, producers, items, office, reporter, seed) -> dict:
    dc01 = producers[HELD_RESERVE_PRODUCER].held_reserve_warehouse
    receipts = _held_reserve_receipts(dc01)
    # The held-reserve producer's reports carry what DC01 received from it that day.
    reserve = {key: quantity for key, (_, quantity) in receipts.items()}
    existing = set(
        ProductionReport.objects.filter(
            producer__in=producers.values(), date__range=(REPORT_FIRST_DAY, DEMO_LAST_DAY)
        ).values_list("producer_id", "item_id", "date")
    )
    stationed = (
        set(reporter.producers.values_list("pk", flat=True)) if reporter is not None else set()
    )
    created = linked = 0
    by_day: dict[tuple[dt.date, bool], list[dict]] = {}
    for row in demo_production_rows(reserve=reserve, seed=seed):
        producer, item = producers[row["producer"]], items[row["item"]]
        if (producer.pk, item.pk, row["date"]) in existing:
            continue
        figures = {k: v for k, v in row.items() if k not in ("producer", "item", "date")}
        if row["to_reserve"]:
            # Already in the ledger (inventory.demo): link the report to that receipt rather
            # than book it again through the service.
            event, _ = receipts[(row["item"], row["date"])]
            at = _submission_time(producer.credit_code, row["date"], seed)
            report = ProductionReport(
                producer=producer,
                item=item,
                date=row["date"],
                reserve_receipt=event,
                submitted_by=office,
                first_submitted_at=at,
                submitted_at=at,
                **figures,
            )
            report._history_user = office
            report._history_date = at
            report.save()
            linked += 1
            continue
        by_reporter = producer.pk in stationed
        by_day.setdefault((row["date"], by_reporter), []).append(
            {"producer": producer, "item": item, **figures, "date": row["date"].isoformat()}
        )
    for (day, by_reporter), rows in sorted(by_day.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        # Each day's reports come in that evening, the commissioner's and the office's.
        result = production_reports_submit(
            user=reporter if by_reporter else office,
            rows=rows,
            now=_submission_time("reporter" if by_reporter else "office", day, seed),
        )
        created += result.created
    return {"created": created + linked, "linked": linked, "existing": len(existing)}


# --- the register ---------------------------------------------------------------------------


def _producers_create(*, office, reporter, seed) -> tuple[dict[str, Producer], int]:
    prefectures = {p.code: p for p in Prefecture.objects.all()}
    counties = {c.code: c for c in County.objects.all()}
    items = {i.code: i for i in Item.objects.all()}
    dc01 = Warehouse.objects.filter(code=HELD_RESERVE_WAREHOUSE).first()
    codes = {d.key: demo_credit_code(d, seed=seed) for d in DEMO_PRODUCERS}
    existing = {p.credit_code: p for p in Producer.objects.filter(credit_code__in=codes.values())}
    producers, created = {}, 0
    for demo in DEMO_PRODUCERS:
        producer = existing.get(codes[demo.key])
        if producer is None:
            rng = random.Random(f"{seed}:producer:{demo.key}")
            area = AREA_CODES.get(demo.prefecture, "0931")
            producer = producer_create(
                user=office,
                reporters=[reporter] if demo.commissioner and reporter else [],
                name=demo.name,
                credit_code=codes[demo.key],
                prefecture=prefectures[demo.prefecture],
                county=counties.get(demo.county),
                address=demo.address,
                contact=demo.contact,
                phone=f"{area}-{rng.randint(2_000_000, 8_999_999)}",
                product_categories=list(demo.categories),
                status=demo.status,
                resumption_date=demo.resumption,
                national_whitelist_since=demo.national,
                provincial_whitelist_since=demo.provincial,
                held_reserve_warehouse=dc01 if demo.key == HELD_RESERVE_PRODUCER else None,
            )
            created += 1
        if not producer.lines.exists():
            for line in demo.lines:
                production_line = ProductionLine(
                    producer=producer,
                    item=items[line.item],
                    daily_capacity=line.capacity,
                    status=line.status,
                    planned_commissioning=line.on,
                    # A stopped line was commissioned once; building and planned ones not yet.
                    actual_commissioning=line.on if line.status in (C, S) else None,
                )
                production_line.full_clean()
                production_line._history_user = office
                production_line.save()
        producers[demo.key] = producer
    return producers, created


def _raw_materials_create(*, producers, office, seed) -> int:
    have = set(
        RawMaterial.objects.filter(producer__in=producers.values()).values_list(
            "producer_id", flat=True
        )
    )
    created = 0
    for demo in DEMO_PRODUCERS:
        producer = producers[demo.key]
        if producer.pk in have:
            continue
        items = {line.item for line in demo.lines}
        # Sized on the running lines; a producer still building stocks up for its first.
        running = sum(
            line.capacity for line in demo.lines if line.status == LineStatus.COMMISSIONED
        )
        running = Decimal(running or sum(line.capacity for line in demo.lines))
        if items & set(MASK_ITEMS):
            materials, scale = MASK_MATERIALS, running / 100_000
        elif SUIT in items:
            materials, scale = SUIT_MATERIALS, running / 1_000
        else:
            materials, scale = DISINFECTANT_MATERIALS, running / 10_000
        rng = random.Random(f"{seed}:raw-materials:{demo.key}")
        for material, name, unit, per_unit in materials:
            daily_use = (per_unit * scale).quantize(Decimal("0.001"))
            days = SHORT_MATERIALS.get((demo.key, material)) or rng.randint(4, 20)
            stock = (daily_use * days + daily_use * Decimal(rng.randint(0, 9)) / 10).quantize(
                Decimal("0.001")
            )
            raw = RawMaterial(
                producer=producer,
                material=material,
                name=name,
                stock=stock,
                daily_use=daily_use,
                unit=unit,
            )
            raw.full_clean()
            raw._history_user = office
            raw.save()
            created += 1
    return created


def _licences_create(*, producers, office) -> int:
    existing = set(
        Licence.objects.filter(producer__in=producers.values()).values_list(
            "producer_id", "kind", "number"
        )
    )
    created = 0
    for key, kind, number, issuer, issued, expires in DEMO_LICENCES:
        producer = producers[key]
        if (producer.pk, kind, number) in existing:
            continue
        licence_add(
            user=office,
            producer=producer,
            kind=kind,
            number=number,
            issuer=issuer,
            issued=issued,
            expires=expires,
        )
        created += 1
    return created


def _problems_create(*, producers, office, reporter) -> int:
    existing = set(
        Problem.objects.filter(producer__in=producers.values()).values_list(
            "producer_id", "description"
        )
    )
    created = 0
    for key, category, description, reported, taken_by, resolution, resolved in DEMO_PROBLEMS:
        producer = producers[key]
        if (producer.pk, description) in existing:
            continue
        stationed = reporter is not None and producer.reporters.filter(pk=reporter.pk).exists()
        by = reporter if stationed else office
        month, day, hour, minute = reported
        problem = problem_report(
            user=by,
            producer=producer,
            category=category,
            description=description,
            now=_at(_d(month, day), hour, minute),
        )
        if taken_by:
            owner = reporter if taken_by == "reporter" and stationed else office
            problem = problem_take(user=owner, problem=problem)
        if resolution:
            month, day, hour, minute = resolved
            problem_resolve(
                user=problem.owner or office,
                problem=problem,
                resolution=resolution,
                now=_at(_d(month, day), hour, minute),
            )
        created += 1
    return created


@transaction.atomic
def demo_production_create(*, user=None, reporter=None, seed: int = DEMO_SEED) -> dict:
    """The demo's producers, lines, licences, raw materials, 30 days of reports and problems.

    `user`: office staff who keep the register (default: the first office user);
    `reporter`: the commissioner stationed at three Lanzhou producers (default: the demo's
    `producer_reporter`, if there is one).
    """
    office = user or (
        User.objects.filter(role=Role.OFFICE_STAFF, is_active=True).order_by("pk").first()
    )
    if office is None:
        raise ValueError("the demo producers need an office-staff user to register them")
    if reporter is None:
        reporter = User.objects.filter(
            username="producer_reporter", role=Role.PRODUCER_REPORTER
        ).first()
    producers, producers_created = _producers_create(office=office, reporter=reporter, seed=seed)
    items = {i.code: i for i in Item.objects.all()}
    raw_materials = _raw_materials_create(producers=producers, office=office, seed=seed)
    licences = _licences_create(producers=producers, office=office)
    reports = _reports_create(
        producers=producers, items=items, office=office, reporter=reporter, seed=seed
    )
    problems = _problems_create(producers=producers, office=office, reporter=reporter)
    capacity = demo_capacity()
    masks = [capacity[i] for i in MASK_ITEMS if i in capacity]
    return {
        "producers_created": producers_created,
        "producers_existing": len(producers) - producers_created,
        "mask_producers": sum(
            1 for d in DEMO_PRODUCERS if {line.item for line in d.lines} & set(MASK_ITEMS)
        ),
        "mask_lines": sum(row["lines"] for row in masks),
        "mask_capacity": sum(row["when_all_built"] for row in masks),
        "mask_commissioned": sum(row["commissioned"] for row in masks),
        "n95_capacity": capacity.get(N95, {}).get("when_all_built", 0),
        "suit_producers": sum(
            1 for d in DEMO_PRODUCERS if any(line.item == SUIT for line in d.lines)
        ),
        "suit_capacity": capacity.get(SUIT, {}).get("when_all_built", 0),
        "disinfectant_producers": sum(1 for d in DEMO_PRODUCERS if "disinfection" in d.categories),
        "raw_materials_created": raw_materials,
        "licences_created": licences,
        "reports_created": reports["created"],
        "reports_linked": reports["linked"],
        "reports_existing": reports["existing"],
        "problems_created": problems,
    }
