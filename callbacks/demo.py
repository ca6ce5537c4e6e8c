"""The demo season generator (`manage.py seed_demo`).

Builds a realistic admissions season deterministically from one `random.Random(seed)`: the 2023
season with its key dates and a smaller 2022 season for year-over-year comparisons, ≥20 provinces
with both policies, 本科 and 专科 candidates (incl. 单招), callers in teams with leaders, the
supervision group (督查组) and the strike team (突击组), assignments, contact history with the
denormalized summaries kept consistent, payments, registrations, withdrawals and attendance.

Everything is written with `bulk_create` in batches inside one transaction (an interrupted run
leaves nothing behind), streaming candidates so that a million of them never sit in memory.
Other apps add their own demo data through `settings.DEMO_SEEDERS` (`seed(season=, rng=)`).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import import_module
from itertools import accumulate
from types import ModuleType
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from admissions.choices import AdmissionType, CallbackStatus, Level, PhoneOwner
from admissions.models import (
    Candidate,
    CandidatePhone,
    PaymentRecord,
    ProvincePolicy,
    RegistrationRecord,
    Season,
    WithdrawalRecord,
)
from callback_office.roles import Role
from callbacks.choices import (
    AssignmentSource,
    CallerKind,
    Channel,
    Intent,
    Outcome,
    QualificationStatus,
    RiskSignal,
    TeamKind,
)
from callbacks.models import (
    Assignment,
    Attendance,
    Caller,
    ContactLog,
    ProspectReport,
    Team,
    team_default_sort_order,
)

# The same password for every demo user; readable, and it passes the configured validators.
DEMO_PASSWORD = "huifang-demo-2023"
OFFICE_USERNAME = "office"
TZ = ZoneInfo("Asia/Shanghai")

# ---------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvinceSpec:
    name: str
    full_name: str
    code: str  # GB/T 2260, the first two digits of ID numbers and exam numbers
    weight: float  # share of the school's candidates
    withdrawable: bool
    phones_shielded: bool
    new_gaokao: bool
    cities: tuple[tuple[str, str], ...]  # (stem, suffix): ("成都", "市"), ("万州", "区")


# The school is in Chengdu: Sichuan sends about half of the candidates. Policies are the demo's
# (plausible, not official): withdrawable provinces get 劝退, the others 劝来.
# name, full name, GB/T 2260 code, weight, 可退档, 屏蔽考生电话, 新高考, city suffix, cities
_PROVINCE_TABLE = """
四川 四川省 51 50 否 否 否 市 成都 绵阳 德阳 南充 宜宾 泸州 达州 乐山 眉山 自贡 内江 遂宁 广安 巴中 资阳
重庆 重庆市 50 6 否 否 是 区 万州 涪陵 永川 江津 合川 綦江 渝北 沙坪坝
贵州 贵州省 52 5 是 否 否 市 贵阳 遵义 六盘水 安顺 毕节 铜仁
云南 云南省 53 4 是 否 否 市 昆明 曲靖 玉溪 昭通 大理 蒙自
甘肃 甘肃省 62 1.5 是 是 否 市 兰州 天水 白银 武威 张掖 平凉
陕西 陕西省 61 3 是 否 否 市 西安 宝鸡 咸阳 渭南 汉中 榆林
河南 河南省 41 2 是 是 否 市 郑州 洛阳 开封 南阳 新乡 周口
山西 山西省 14 1 是 是 否 市 太原 大同 长治 晋中 运城 临汾
内蒙古 内蒙古自治区 15 0.8 是 是 否 市 呼和浩特 包头 赤峰 通辽 鄂尔多斯
新疆 新疆维吾尔自治区 65 1.2 是 否 否 市 乌鲁木齐 克拉玛依 昌吉 伊宁 库尔勒
宁夏 宁夏回族自治区 64 1 是 否 否 市 银川 石嘴山 吴忠 固原
青海 青海省 63 0.8 是 否 否 市 西宁 海东 格尔木
广西 广西壮族自治区 45 2 是 否 否 市 南宁 柳州 桂林 梧州 玉林
江西 江西省 36 1.5 是 否 否 市 南昌 九江 赣州 上饶 宜春
黑龙江 黑龙江省 23 0.8 是 否 否 市 哈尔滨 齐齐哈尔 牡丹江 佳木斯
吉林 吉林省 22 0.6 是 否 否 市 长春 吉林 四平 延吉
安徽 安徽省 34 1.5 否 是 否 市 合肥 芜湖 蚌埠 安庆 阜阳
河北 河北省 13 2 否 否 是 市 石家庄 唐山 保定 邯郸 沧州
湖南 湖南省 43 2 否 否 是 市 长沙 株洲 湘潭 衡阳 岳阳 常德
湖北 湖北省 42 1.5 否 否 是 市 武汉 宜昌 襄阳 荆州 十堰
山东 山东省 37 1.5 否 否 是 市 济南 青岛 烟台 潍坊 临沂
江苏 江苏省 32 1 否 否 是 市 南京 苏州 徐州 南通 扬州
浙江 浙江省 33 1 否 否 是 市 杭州 宁波 温州 金华 台州
广东 广东省 44 1.5 否 否 是 市 广州 深圳 湛江 茂名 梅州
福建 福建省 35 1 否 否 是 市 福州 厦门 泉州 漳州 莆田
辽宁 辽宁省 21 0.8 否 否 是 市 沈阳 大连 鞍山 锦州
海南 海南省 46 0.5 否 否 是 市 海口 三亚 儋州
西藏 西藏自治区 54 0.3 否 否 否 市 拉萨 日喀则
"""


def _provinces(table: str) -> tuple[ProvinceSpec, ...]:
    specs = []
    for line in table.strip().splitlines():
        name, full, code, weight, withdrawable, shielded, reform, suffix, *cities = line.split()
        specs.append(
            ProvinceSpec(
                name,
                full,
                code,
                float(weight),
                withdrawable == "是",
                shielded == "是",
                reform == "是",
                tuple((city, suffix) for city in cities),
            )
        )
    return tuple(specs)


PROVINCES = _provinces(_PROVINCE_TABLE)
SICHUAN = "四川"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤苟"
)
# Rough frequency: the first surnames are far more common.
SURNAME_WEIGHTS = tuple(1.0 / (1 + i) ** 0.6 for i in range(len(SURNAMES)))
GIVEN_MALE = (
    "伟强磊军洋勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳建亮成峰博文轩睿泽梓皓然豪晨航锦哲"
)
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲婷雪琳晶欣怡萱涵颖佳倩悦蕾雨彤妍琪梦瑶璐思诗可馨月薇婉晓紫嘉"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _majors(text: str) -> tuple[tuple[str, int], ...]:
    """ "专业:学费 …" → ((major, yearly tuition in yuan), …)."""
    return tuple((item.split(":")[0], int(item.split(":")[1])) for item in text.split())


UNDERGRAD_MAJORS = _majors(
    "汉语言文学:22800 英语:22800 日语:22800 新闻学:22800 网络与新媒体:23800 广播电视编导:26800 "
    "视觉传达设计:26800 环境设计:26800 产品设计:26800 音乐学:26800 财务管理:22800 会计学:22800 "
    "审计学:22800 市场营销:22800 电子商务:22800 物流管理:22800 旅游管理:22800 酒店管理:22800 "
    "学前教育:22800 小学教育:22800 社会体育指导与管理:23800 计算机科学与技术:23800 软件工程:23800 "
    "数据科学与大数据技术:23800 物联网工程:23800 电子信息工程:23800 工程造价:22800 土木工程:22800 "
    "护理学:24800 康复治疗学:24800 健康服务与管理:22800"
)
# 校考 (the school's own art exams)
ART_MAJORS = _majors("播音与主持艺术:28800 音乐表演:28800 舞蹈表演:28800 表演:28800")
# 专科 tuition is 18,000 a year (2024 manual), art and cabin-crew majors more
JUNIOR_MAJORS = _majors(
    "大数据与会计:18000 学前教育:18000 护理:18000 电子商务:18000 计算机应用技术:18000 软件技术:18000 "
    "酒店管理与数字化运营:18000 旅游管理:18000 空中乘务:19800 高速铁路客运服务:18000 建筑工程技术:18000 "
    "工程造价:18000 汽车检测与维修技术:18000 新能源汽车技术:18000 人工智能技术应用:18000 "
    "数字媒体技术:18000 动漫制作技术:18000 视觉传达设计:19800 环境艺术设计:19800 音乐表演:19800 "
    "现代文秘:18000 婴幼儿托育服务与管理:18000 智慧健康养老服务与管理:18000"
)
DORM_FEES = (1200, 1400)  # 8-bed and 6-bed rooms (2024 manual)

COLLEGES = _words(
    "文学与新闻传播学院 外国语学院 音乐与舞蹈学院 美术与设计学院 影视与动画学院 经济管理学院 会计学院 "
    "信息工程学院 建筑与工程学院 教育学院 体育学院 健康与护理学院 旅游与酒店管理学院"
)
OFFICES = _words("招生就业处 教务处 学生工作处 人事处 财务处 后勤服务处 校团委 图书馆 党政办公室")

SCHOOL_SUFFIXES_GENERAL = _words(
    "{kind}第一中学 中学 {kind}第二中学 {kind}实验中学 外国语学校 {kind}第三中学"
)
SCHOOL_SUFFIXES_VOCATIONAL = ("{kind}职业技术学校", "{kind}职业中专学校")
FAMOUS_SICHUAN_SCHOOLS = _words("成都七中 成都石室中学 树德中学 成都外国语学校 南充高级中学 绵阳南山中学")
TOWNS = _words(
    "城关镇 东城街道 西城街道 南街街道 北关街道 高新区 开发区 新华街道 龙泉镇 石桥镇 青龙镇 白沙镇 金山镇 "
    "太平镇 永兴镇 桂花镇"
)
ROADS = _words(
    "人民路 解放路 建设路 中山路 文化路 滨江路 新华路 胜利路 青年路 学府路 光明路 和平路 长江路 迎宾大道 "
    "朝阳街 府河路"
)
VILLAGES = _words("红星 新民 和平 团结 光明 永安 石板 桃园 柏林 双河 清泉 金竹")
PHONE_PREFIXES = _words(
    "130 131 132 133 135 136 137 138 139 150 151 152 155 157 158 159 166 177 180 181 182 183 185 187 188 "
    "189 191 198 199"
)

RISK_WEIGHTS: tuple[tuple[str, float], ...] = (
    (RiskSignal.TUITION, 30),
    (RiskSignal.DISTANCE, 15),
    (RiskSignal.REPEAT_EXAM, 12),
    (RiskSignal.LONG_DECISION, 10),
    (RiskSignal.ASKS_AID, 10),
    (RiskSignal.UNFAMILIAR, 8),
    (RiskSignal.HEARSAY, 6),
    (RiskSignal.HARD_COMMUNICATION, 5),
    (RiskSignal.COLD, 5),
    (RiskSignal.ARMY, 4),
    (RiskSignal.WORKING_AWAY, 4),
    (RiskSignal.STUDY_ABROAD, 2),
)
RISK_PHRASES = {
    RiskSignal.TUITION: "嫌学费贵",
    RiskSignal.DISTANCE: "嫌距离远",
    RiskSignal.REPEAT_EXAM: "有复读想法",
    RiskSignal.LONG_DECISION: "需要和家里商量",
    RiskSignal.LATE_PREFERENCE: "志愿靠后没想到被录取",
    RiskSignal.HEARSAY: "听别人说学校不好",
    RiskSignal.ASKS_AID: "问助学贷款",
    RiskSignal.UNFAMILIAR: "不了解学校",
    RiskSignal.HARD_COMMUNICATION: "家里意见不一",
    RiskSignal.COLD: "态度冷淡",
    RiskSignal.STUDY_ABROAD: "想出国",
    RiskSignal.ARMY: "想当兵",
    RiskSignal.WORKING_AWAY: "在外打工",
}
NOTES = {
    Intent.CONFIRMED: (
        "确认就读，已提醒按时缴费",
        "家长支持，考生确认报到",
        "已加微信，发送新生入学须知",
        "确认就读，咨询了宿舍和校车",
        "询问专业课程设置后确认就读",
        "确认就读，提醒缴费截止时间和报到材料",
    ),
    Intent.HESITANT: (
        "考生还在考虑，{risk}，约定再联系",
        "家长顾虑：{risk}，已介绍奖助学金政策",
        "{risk}，已介绍学校优势和就业情况",
        "犹豫中，{risk}，请组长协助跟进",
    ),
    Intent.REFUSED: ("明确表示不来：{risk}", "考生已决定不来就读，{risk}", "家长表示不来，{risk}"),
    Intent.WANTS_WITHDRAWAL: (
        "要求退档：{risk}，已说明退档流程",
        "确认退档意向，收集申请书和身份证照片",
        "退档材料已齐，交组长审核",
    ),
    Intent.NONE: (
        "首次联系，核对投档信息并介绍学校",
        "家长接听，考生不在家，约定晚上再打",
        "介绍宿舍、校车和缴费方式",
    ),
}
# a message answered without a stated intent (SMS, WeChat, QQ, Weibo)
NOTES_MESSAGE = (
    "发送录取进度和缴费提醒，对方已回复",
    "发送新生入学须知，对方已读并回复",
    "解答宿舍和军训问题",
)

FAILED_PHONE_OUTCOMES = (
    (Outcome.NO_ANSWER, 45),
    (Outcome.POWERED_OFF, 18),
    (Outcome.REJECTED, 12),
    (Outcome.SUSPENDED, 8),
    (Outcome.EMPTY_NUMBER, 7),
    (Outcome.WRONG_NUMBER, 5),
    (Outcome.OTHER, 5),
)
REACHED_CHANNELS = (
    (Channel.PHONE, 80),
    (Channel.WECHAT, 10),
    (Channel.QQ, 4),
    (Channel.SMS, 4),
    (Channel.OTHER, 1.5),
    (Channel.WEIBO, 0.5),
)
FAILED_CHANNELS = ((Channel.PHONE, 85), (Channel.SMS, 8), (Channel.WECHAT, 5), (Channel.QQ, 2))


class Weighted:
    """A fixed weighted choice, cumulative weights computed once (random.choices is hot here)."""

    def __init__(self, pairs: Iterable[tuple[object, float]]):
        values, weights = zip(*pairs, strict=True)
        self.values = values
        self.cum = list(accumulate(weights))

    def pick(self, rng: random.Random):
        return rng.choices(self.values, cum_weights=self.cum)[0]


W_PROVINCE = Weighted((p, p.weight) for p in PROVINCES)
W_SURNAME = Weighted(zip(SURNAMES, SURNAME_WEIGHTS, strict=True))
W_CALLER_KIND = Weighted(((CallerKind.TEACHER, 50), (CallerKind.STUDENT, 35), (CallerKind.STAFF, 15)))
W_PREF_SINGLE = Weighted(((1, 70), (2, 20), (3, 10)))
W_PREF_PARALLEL = Weighted(((1, 35), (2, 22), (3, 15), (4, 12), (5, 9), (6, 7)))
W_EXTRA_OWNER = Weighted(((PhoneOwner.PARENT, 60), (PhoneOwner.OTHER, 40)))
W_STATUS_ENROLLED = Weighted(
    (
        (CallbackStatus.CONFIRMED, 93),
        (CallbackStatus.HESITANT, 4),
        (CallbackStatus.UNREACHABLE, 2.5),
        (CallbackStatus.REFUSED, 0.5),
    )
)
_NOT_ENROLLED = (
    (CallbackStatus.REFUSED, 40),
    (CallbackStatus.HESITANT, 27),
    (CallbackStatus.UNREACHABLE, 25),
    (CallbackStatus.UNCONTACTED, 3),
)
W_STATUS_NOT_ENROLLED = Weighted(_NOT_ENROLLED)
W_STATUS_NOT_ENROLLED_WITHDRAWABLE = Weighted((*_NOT_ENROLLED, (CallbackStatus.WITHDRAWAL_REQUESTED, 5)))
W_SOURCE = Weighted(
    (
        (AssignmentSource.OFFICE, 70),
        (AssignmentSource.IMPORT, 10),
        (AssignmentSource.POOL, 12),
        (AssignmentSource.REPORT, 8),
    )
)
W_FAILURES_FIRST = Weighted(((0, 55), (1, 25), (2, 12), (3, 8)))
W_REACHED_CHANNEL = Weighted(REACHED_CHANNELS)
W_FAILED_CHANNEL = Weighted(FAILED_CHANNELS)
W_FAILED_OUTCOME = Weighted(FAILED_PHONE_OUTCOMES)
DEAD_NUMBER_OUTCOMES = frozenset({Outcome.EMPTY_NUMBER, Outcome.WRONG_NUMBER, Outcome.SUSPENDED})
# once someone has answered, a failed call is a transient one (not an empty or wrong number)
W_FAILED_OUTCOME_LATER = Weighted(
    (o, w)
    for o, w in FAILED_PHONE_OUTCOMES
    if o in (Outcome.NO_ANSWER, Outcome.POWERED_OFF, Outcome.REJECTED)
)
W_CONCERN_COUNT = Weighted(((1, 55), (2, 35), (3, 10)))
# concerns by (late preference, 专科): late preferences and working away weigh more where they apply
W_CONCERNS = {
    (late, junior): Weighted(
        (
            *RISK_WEIGHTS,
            (RiskSignal.LATE_PREFERENCE, 20 if late else 2),
            *(((RiskSignal.WORKING_AWAY, 6),) if junior else ()),
        )
    )
    for late in (False, True)
    for junior in (False, True)
}
W_LATE_DAYS = Weighted(((0, 85), (1, 12), (2, 1), (3, 1), (5, 1)))


def _cn_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    return str(n)


def team_name(index: int) -> str:
    """第一组, 第二组 … (1-based)."""
    return f"第{_cn_number(index)}组"


def _schools(spec: ProvinceSpec) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(general high schools, vocational schools) of a province, a fixed list."""
    general: list[str] = list(FAMOUS_SICHUAN_SCHOOLS) if spec.name == SICHUAN else []
    vocational: list[str] = []
    for stem, kind in spec.cities:
        general += [stem + s.format(kind=kind) for s in SCHOOL_SUFFIXES_GENERAL]
        vocational += [stem + s.format(kind=kind) for s in SCHOOL_SUFFIXES_VOCATIONAL]
    return tuple(general), tuple(vocational)


ID_SPACE = 25 * 730 * 500  # districts × birthdays × sequence numbers of one sex
ID_SCRAMBLE = 5_555_557  # coprime with ID_SPACE: index → key is a bijection


def id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a mainland resident ID number."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return "10X98765432"[total % 11]


# ---------------------------------------------------------------------------------------------
# Options and results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoOptions:
    candidates: int = 10_000
    callers: int = 100
    teams: int | None = None  # default: one team per 10 callers
    supervisors: int | None = None  # default: 7 per 10 teams
    strike: int | None = None  # default: one per 20 callers
    contacts_per_candidate: float = 6.0
    year: int = 2023
    seed: int = 42
    batch_size: int = 5_000
    previous_season: bool = True

    @property
    def team_count(self) -> int:
        return self.teams or max(1, round(self.callers / 10))

    @property
    def supervisor_count(self) -> int:
        return self.supervisors if self.supervisors is not None else max(1, -(-self.team_count * 7 // 10))

    @property
    def strike_count(self) -> int:
        return self.strike if self.strike is not None else max(1, round(self.callers / 20))


@dataclass
class DemoSummary:
    year: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, key: str, n: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    username: str
    name: str
    team: str


# ---------------------------------------------------------------------------------------------
# Queries on the demo
# ---------------------------------------------------------------------------------------------


def demo_season_exists(*, year: int = 2023) -> bool:
    return Candidate.objects.filter(season__year=year).exists()


def demo_logins(*, year: int = 2023) -> list[DemoLogin]:
    """One login per role: the office, a leader, a caller of that team, its supervisor, a strike member."""
    season = Season.objects.get(year=year)
    logins: list[DemoLogin] = []
    office = User.objects.filter(username=OFFICE_USERNAME).first()
    if office is not None:
        logins.append(DemoLogin(Role.OFFICE, office.username, office.first_name, ""))
    team = (
        Team.objects.filter(season=season, kind=TeamKind.REGULAR, leader__isnull=False)
        .select_related("leader__user")
        .order_by("id")
        .first()
    )
    if team is not None:
        leader = team.leader
        logins.append(DemoLogin(Role.LEADER, leader.user.username, leader.name, team.name))
        member = (
            team.members.filter(qualification_status=QualificationStatus.QUALIFIED)
            .exclude(pk=leader.pk)
            .select_related("user")
            .order_by("staff_no")
            .first()
        )
        if member is not None:
            logins.append(DemoLogin(Role.CALLER, member.user.username, member.name, team.name))
        supervisor = team.supervisors.select_related("user").order_by("staff_no").first()
        if supervisor is not None:
            logins.append(DemoLogin(Role.SUPERVISOR, supervisor.user.username, supervisor.name, team.name))
    strike = (
        Caller.objects.filter(season=season, is_strike=True)
        .select_related("user", "team")
        .order_by("staff_no")
        .first()
    )
    if strike is not None:
        logins.append(
            DemoLogin(Role.STRIKE, strike.user.username, strike.name, strike.team.name if strike.team else "")
        )
    return logins


# ---------------------------------------------------------------------------------------------
# Deletion (--reset)
# ---------------------------------------------------------------------------------------------


def _delete_in_batches(queryset, batch_size: int) -> None:
    """Deletes a big queryset a batch at a time (cascades are collected per batch, not at once)."""
    model = queryset.model
    while ids := list(queryset.order_by().values_list("id", flat=True)[:batch_size]):
        model.objects.filter(id__in=ids).delete()


def demo_season_delete(*, year: int, batch_size: int = 5_000) -> None:
    """Deletes a season with everything in it, and the demo users left without a season.

    The big tables go first with plain DELETEs; candidates then go in batches so that other
    apps' rows that cascade from them are collected a batch at a time.
    """
    with transaction.atomic():
        for season in Season.objects.filter(year=year):
            user_ids = list(Caller.objects.filter(season=season).values_list("user_id", flat=True))
            _delete_in_batches(ContactLog.objects.filter(candidate__season=season), batch_size)
            Assignment.objects.filter(candidate__season=season).delete()
            Attendance.objects.filter(caller__season=season).delete()
            CandidatePhone.objects.filter(candidate__season=season).delete()
            for model in (PaymentRecord, RegistrationRecord, WithdrawalRecord):
                model.objects.filter(season=season).delete()
            _delete_in_batches(Candidate.objects.filter(season=season), batch_size)
            Team.objects.filter(season=season).update(leader=None)
            season.delete()
            User.objects.filter(id__in=user_ids, callers__isnull=True, is_superuser=False).delete()


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


@dataclass
class _Staff:
    """A caller about to be created."""

    staff_no: str
    name: str
    kind: str
    department: str
    phone: str
    team_index: int | None  # index into the regular teams; None for the special groups
    roles: tuple[Role, ...]
    qualified: bool = True
    is_supervisor: bool = False
    is_strike: bool = False
    is_leader: bool = False
    prev_undergrad_rate: Decimal | None = None
    prev_junior_rate: Decimal | None = None
    prev_excellent: bool = False


@dataclass
class _CallerInfo:
    id: int
    skill: float  # added to the enrollment probability of their candidates
    payment_push: float  # moves their candidates' payments earlier or later


@dataclass
class _Plan:
    """Everything about one candidate, generated before any row is written."""

    candidate: _Row
    phones: list[tuple[str, str, str]] = field(default_factory=list)  # number, owner, note
    assignments: list[dict] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    payments: list[tuple[dt.date, Decimal]] = field(default_factory=list)
    registered_on: dt.date | None = None
    withdrawn_on: dt.date | None = None
    report: dict | None = None  # 报备 by the caller during the preference-filling stage


class _Row(dict):
    """A row to insert, keyed by column attname, readable as attributes."""

    __getattr__ = dict.__getitem__
    __setattr__ = dict.__setitem__


_MISSING = object()
_CONVERTED_TYPES = {"DateTimeField", "DateField", "DecimalField", "JSONField", "TimeField", "UUIDField"}


def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    """What Django's SQLite backend stores for an aware datetime (naive UTC text), without its overhead."""
    if value is None:
        return None
    return str(value.astimezone(dt.UTC).replace(tzinfo=None))


def _converter(field, conn) -> Callable | None:
    """How a value of `field` becomes a query parameter (None: passed as is)."""
    kind = field.get_internal_type()
    if kind not in _CONVERTED_TYPES:
        return None
    if conn.vendor == "postgresql" and kind in ("DateTimeField", "DateField"):
        return None  # psycopg adapts dates and aware datetimes itself
    if conn.vendor == "sqlite" and kind == "DateTimeField":
        return _sqlite_datetime
    if conn.vendor == "sqlite" and kind == "DateField":
        return lambda value: None if value is None else value.isoformat()
    return lambda value: field.get_db_prep_save(value, conn)


def _insert_rows(
    model, rows: list[dict], *, return_ids_by: str | None = None, scope: dict | None = None
) -> dict:
    """INSERTs plain dicts (keyed by attname) with COPY on PostgreSQL, executemany elsewhere: no
    model instances, far faster than bulk_create for millions of rows. Fields a row leaves out
    get their default (auto_now fields: now). With `return_ids_by`, returns {value of that
    column: id}, looked up within `scope`.
    """
    if not rows:
        return {}
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    attnames = {f.attname for f in fields}
    unknown = set(rows[0]) - attnames
    if unknown:
        raise ValueError(f"{model.__name__}: unknown columns {sorted(unknown)}")
    now = timezone.now()
    conn = connections[router.db_for_write(model)]
    plan = []  # (attname, default, per-row default factory, converter)
    for f in fields:
        factory = None
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            default = now
        elif f.has_default():
            if callable(f.default) and f.default not in (list, dict):
                default, factory = _MISSING, f.default
            else:
                default = f.get_default()
        elif f.null or f.empty_strings_allowed:
            default = f.get_default()  # None, or "" for text
        else:
            default = _MISSING
        plan.append((f.attname, default, factory, _converter(f, conn)))
    params = []
    for row in rows:
        values = []
        for attname, default, factory, convert in plan:
            value = row.get(attname, _MISSING)
            if value is _MISSING:
                value = factory() if factory else default
                if value is _MISSING:
                    raise ValueError(f"{model.__name__}.{attname} is required")
            values.append(convert(value) if convert else value)
        params.append(values)
    quote = conn.ops.quote_name
    table = f"{quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            # COPY: one stream instead of a round trip per row (psycopg 3)
            with cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
                for values in params:
                    copy.write_row(values)
        else:
            sql = f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(fields))})"
            for start in range(0, len(params), 5_000):
                cursor.executemany(sql, params[start : start + 5_000])
    if return_ids_by is None:
        return {}
    return _lookup_ids(model, return_ids_by, [row[return_ids_by] for row in rows], scope)


def _lookup_ids(model, key: str, values: list, scope: dict | None = None) -> dict:
    """{value: id} for rows of `model` whose `key` is in `values` (queried 900 at a time)."""
    ids: dict = {}
    for start in range(0, len(values), 900):
        ids.update(
            model.objects.filter(**(scope or {}), **{f"{key}__in": values[start : start + 900]}).values_list(
                key, "id"
            )
        )
    return ids


class _Generator:
    def __init__(self, options: DemoOptions, log: Callable[[str], None]):
        self.o = options
        self.rng = random.Random(options.seed)
        self.log = log
        self.summary = DemoSummary(year=options.year)
        self.password_hash = make_password(DEMO_PASSWORD)
        self.schools = {p.name: _schools(p) for p in PROVINCES}

    # -- small random helpers -----------------------------------------------------------------

    def person_name(self, female: bool | None = None) -> str:
        rng = self.rng
        if female is None:
            female = rng.random() < 0.5
        pool = GIVEN_FEMALE if female else GIVEN_MALE
        given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.72 else "")
        return W_SURNAME.pick(rng) + given

    def phone_number(self) -> str:
        return self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def moment(self, day: dt.date, earliest_hour: int = 9) -> dt.datetime:
        """A time of day on `day` when callers work (before 21:30, Beijing time)."""
        minutes = self.rng.randrange(earliest_hour * 60, 21 * 60 + 30)
        return dt.datetime(
            day.year, day.month, day.day, minutes // 60, minutes % 60, self.rng.randrange(60), tzinfo=TZ
        )

    @staticmethod
    def at(day: dt.date, hour: int, minute: int) -> dt.datetime:
        return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)

    def day_between(self, first: dt.date, last: dt.date) -> dt.date:
        if last <= first:
            return first
        return first + dt.timedelta(days=self.rng.randint(0, (last - first).days))

    # -- seasons, provinces, people -----------------------------------------------------------

    def season(self, year: int) -> Season:
        return Season.objects.create(
            year=year,
            admission_start=dt.date(year, 7, 10),
            admission_end=dt.date(year, 8, 10),
            payment_close=dt.date(year, 9, 1),
            registration_date=dt.date(year, 9, 8),
        )

    def provinces(self, season: Season, prefix: str = "") -> dict[str, ProvincePolicy]:
        rows = ProvincePolicy.objects.bulk_create(
            [
                ProvincePolicy(
                    season=season,
                    province=p.name,
                    withdrawable=p.withdrawable,
                    phones_shielded=p.phones_shielded,
                    new_gaokao=p.new_gaokao,
                )
                for p in PROVINCES
            ]
        )
        self.summary.add(prefix + "provinces", len(rows))
        return {row.province: row for row in ProvincePolicy.objects.filter(season=season)}

    def groups(self) -> dict[Role, Group]:
        return {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}

    def office_user(self, groups: dict[Role, Group]) -> None:
        user, _ = User.objects.get_or_create(username=OFFICE_USERNAME)
        user.first_name = "招生办"
        user.is_staff = True
        user.is_superuser = True
        user.password = self.password_hash
        user.save()
        user.groups.add(groups[Role.OFFICE])

    def staff(self) -> list[_Staff]:
        """The regular callers (leaders first in each team), then supervisors and strike members."""
        o, rng = self.o, self.rng
        n_teams = o.team_count
        people: list[_Staff] = []
        counter = 0

        def new(
            kind: str, team_index: int | None, roles: tuple[Role, ...], department: str | None = None
        ) -> _Staff:
            nonlocal counter
            counter += 1
            if kind == CallerKind.STUDENT:
                staff_no = f"{rng.choice((2020, 2021, 2022))}{counter:06d}"
                department = department or rng.choice(COLLEGES)
            else:
                staff_no = f"{100000 + counter}"
                if department is None:
                    department = rng.choice(COLLEGES) if kind == CallerKind.TEACHER else rng.choice(OFFICES)
            return _Staff(
                staff_no=staff_no,
                name=self.person_name(),
                kind=kind,
                department=department,
                phone=self.phone_number(),
                team_index=team_index,
                roles=roles,
            )

        # Regular callers: spread over the teams, the first of each team leads it.
        per_team = [o.callers // n_teams + (1 if i < o.callers % n_teams else 0) for i in range(n_teams)]
        for t, size in enumerate(per_team):
            for k in range(size):
                if k == 0:
                    kind = rng.choice((CallerKind.TEACHER, CallerKind.TEACHER, CallerKind.STAFF))
                    person = new(kind, t, (Role.CALLER, Role.LEADER))
                    person.is_leader = True
                else:
                    kind = W_CALLER_KIND.pick(rng)
                    person = new(kind, t, (Role.CALLER,))
                people.append(person)
        # A couple of callers still wait for the supervisors' qualification review.
        members = [p for p in people if not p.is_leader]
        pending = max(1, round(o.callers * 0.02)) if len(members) > 2 else 0
        for person in rng.sample(members, min(pending, len(members))):
            person.qualified = False
        for _ in range(o.supervisor_count):
            person = new(CallerKind.STAFF, None, (Role.SUPERVISOR,), department=rng.choice(OFFICES[:4]))
            person.is_supervisor = True
            people.append(person)
        for _ in range(o.strike_count):
            person = new(rng.choice((CallerKind.TEACHER, CallerKind.STAFF)), None, (Role.CALLER, Role.STRIKE))
            person.is_strike = True
            people.append(person)
        # Last year's results (the subsidy's +10% rule) for those who took part in 2022.
        for person in people:
            if person.is_leader or rng.random() < 0.6:
                person.prev_undergrad_rate = Decimal(str(round(rng.uniform(0.955, 1.0), 4)))
                person.prev_junior_rate = Decimal(str(round(rng.uniform(0.90, 0.99), 4)))
                person.prev_excellent = person.is_leader or rng.random() < 0.1
        return people

    def create_staff(self, season: Season, groups: dict[Role, Group]) -> dict[str, list]:
        o, rng = self.o, self.rng
        people = self.staff()
        # Users are global, callers per season: reuse a user who already exists under that 工号.
        usernames = [p.staff_no for p in people]
        existing = _lookup_ids(User, "username", usernames)
        _insert_rows(
            User,
            [
                {"username": p.staff_no, "first_name": p.name, "password": self.password_hash}
                for p in people
                if p.staff_no not in existing
            ],
        )
        user_ids = _lookup_ids(User, "username", usernames)
        memberships = [
            {"user_id": user_ids[p.staff_no], "group_id": groups[r].id} for p in people for r in p.roles
        ]
        through = User.groups.through
        reused = set(existing.values())
        _insert_rows(through, [m for m in memberships if m["user_id"] not in reused])
        through.objects.bulk_create(
            [through(**m) for m in memberships if m["user_id"] in reused], ignore_conflicts=True
        )
        regular = Team.objects.bulk_create(
            [
                Team(season=season, name=team_name(i + 1), kind=TeamKind.REGULAR, sort_order=i + 1)
                for i in range(o.team_count)
            ]
        )
        supervision = Team.objects.create(
            season=season,
            name="督查组",
            kind=TeamKind.SUPERVISION,
            sort_order=team_default_sort_order("督查组", TeamKind.SUPERVISION),
        )
        strike = Team.objects.create(
            season=season,
            name="突击组",
            kind=TeamKind.STRIKE,
            sort_order=team_default_sort_order("突击组", TeamKind.STRIKE),
        )
        regular = list(Team.objects.filter(season=season, kind=TeamKind.REGULAR).order_by("id"))

        def team_of(p: _Staff) -> Team:
            if p.is_supervisor:
                return supervision
            if p.is_strike:
                return strike
            return regular[p.team_index]

        _insert_rows(
            Caller,
            [
                {
                    "season_id": season.id,
                    "user_id": user_ids[p.staff_no],
                    "staff_no": p.staff_no,
                    "name": p.name,
                    "kind": p.kind,
                    "department": p.department,
                    "phone": p.phone,
                    "team_id": team_of(p).id,
                    "is_supervisor": p.is_supervisor,
                    "is_strike": p.is_strike,
                    "qualification_status": QualificationStatus.QUALIFIED
                    if p.qualified
                    else QualificationStatus.PENDING,
                    "prev_undergrad_rate": p.prev_undergrad_rate,
                    "prev_junior_rate": p.prev_junior_rate,
                    "prev_excellent": p.prev_excellent,
                }
                for p in people
            ],
        )
        callers = {c.staff_no: c for c in Caller.objects.filter(season=season)}
        ordered = [callers[p.staff_no] for p in people]
        # Leaders; the first supervisor leads the supervision group, the first strike member the strike team.
        for p, c in zip(people, ordered, strict=True):
            if p.is_leader:
                regular[p.team_index].leader = c
        Team.objects.bulk_update(regular, ["leader"], batch_size=o.batch_size)
        sups = [c for p, c in zip(people, ordered, strict=True) if p.is_supervisor]
        strikers = [c for p, c in zip(people, ordered, strict=True) if p.is_strike]
        supervision.leader = sups[0] if sups else None
        strike.leader = strikers[0] if strikers else None
        Team.objects.bulk_update([supervision, strike], ["leader"])
        # 一对一 supervision: every team has one supervisor, the supervisors share the teams.
        st = Team.supervisors.through
        if sups:
            st.objects.bulk_create(
                [st(team_id=t.id, caller_id=sups[i % len(sups)].id) for i, t in enumerate(regular)],
                batch_size=o.batch_size,
            )
        self.summary.add("users", len(people))
        self.summary.add("callers", len(people))
        self.summary.add("teams", len(regular) + 2)
        regular_callers = [
            c for p, c in zip(people, ordered, strict=True) if p.team_index is not None and p.qualified
        ]
        return {
            "regular": [
                _CallerInfo(c.id, rng.uniform(-0.03, 0.018), rng.uniform(-0.1, 0.1)) for c in regular_callers
            ],
            "strike": [_CallerInfo(c.id, rng.uniform(0.0, 0.02), rng.uniform(-0.05, 0.1)) for c in strikers],
            "working": [c for p, c in zip(people, ordered, strict=True) if p.qualified],
            "people": people,
        }

    def attendance(self, season: Season, callers: list[Caller]) -> None:
        """Days worked during admission: teachers and staff most days, students fewer."""
        days = (season.admission_end - season.admission_start).days + 1
        all_days = [season.admission_start + dt.timedelta(days=i) for i in range(days)]
        batch: list[dict] = []
        for c in callers:
            low = 14 if c.kind == CallerKind.STUDENT else 20
            worked = sorted(self.rng.sample(all_days, self.rng.randint(min(low, days), days)))
            batch += [{"caller_id": c.id, "day": d} for d in worked]
            if len(batch) >= self.o.batch_size:
                _insert_rows(Attendance, batch)
                self.summary.add("attendance", len(batch))
                batch = []
        _insert_rows(Attendance, batch)
        self.summary.add("attendance", len(batch))

    # -- candidates ----------------------------------------------------------------------------

    def candidate(
        self, season: Season, policy: dict[str, ProvincePolicy], index: int
    ) -> tuple[_Row, ProvinceSpec]:
        rng = self.rng
        year = season.year
        spec = W_PROVINCE.pick(rng)
        city_index = rng.randrange(len(spec.cities))
        stem, kind = spec.cities[city_index]
        sichuan = spec.name == SICHUAN
        if rng.random() < (0.42 if sichuan else 0.65):
            level = Level.UNDERGRADUATE
            if rng.random() < 0.05:
                admission_type, (major, _) = AdmissionType.SCHOOL_EXAM, rng.choice(ART_MAJORS)
                batch = "艺术类本科批"
            else:
                admission_type, (major, _) = AdmissionType.GENERAL, rng.choice(UNDERGRAD_MAJORS)
                batch = "本科批" if spec.new_gaokao else "本科二批"
        else:
            level = Level.JUNIOR
            major = rng.choice(JUNIOR_MAJORS)[0]
            roll = rng.random()
            if (sichuan and roll < 0.55) or (spec.name == "重庆" and roll < 0.15):
                admission_type, batch = AdmissionType.SINGLE_RECRUITMENT, "高职单招"
            elif roll > 0.94:
                admission_type, batch = AdmissionType.VOCATIONAL, "对口高职专科批"
            else:
                admission_type, batch = (
                    AdmissionType.GENERAL,
                    "高职（专科）批" if spec.new_gaokao else "专科批",
                )
        if admission_type == AdmissionType.SINGLE_RECRUITMENT:
            preference = W_PREF_SINGLE.pick(rng)
        elif spec.new_gaokao:
            preference = min(45, int(rng.expovariate(1 / 8)) + 1)
        else:
            preference = W_PREF_PARALLEL.pick(rng)
        general, vocational = self.schools[spec.name]
        vocational_pupil = admission_type in (AdmissionType.SINGLE_RECRUITMENT, AdmissionType.VOCATIONAL)
        pool = vocational if vocational_pupil and rng.random() < 0.6 else general
        # skewed: the big schools of a province send many candidates (classmates exist)
        school = pool[min(len(pool) - 1, int(rng.expovariate(4 / len(pool))))]
        female = rng.random() < 0.52
        # district, birthday and sequence number come from a scramble of the index, so that ID
        # numbers are unique in a season however many candidates there are (up to 9,125,000)
        key = index * ID_SCRAMBLE % ID_SPACE
        district, rest = key % 25, key // 25
        birth = dt.date(year - 19, 9, 1) + dt.timedelta(days=rest % 730)
        seq = (rest // 730) * 2 + (0 if female else 1)  # odd for men
        first17 = f"{spec.code}{city_index + 1:02d}{district + 1:02d}{birth:%Y%m%d}{seq:03d}"
        if rng.random() < 0.35:
            village = f"{rng.choice(VILLAGES)}村{rng.randint(1, 12)}组"
            address = f"{spec.full_name}{stem}{kind}{rng.choice(TOWNS)}{village}"
        else:
            address = (
                f"{spec.full_name}{stem}{kind}{rng.choice(TOWNS)}{rng.choice(ROADS)}"
                f"{rng.randint(1, 399)}号{rng.randint(1, 12)}栋{rng.randint(1, 4)}单元"
            )
        candidate = _Row(
            season_id=season.id,
            exam_number=f"{year % 100:02d}{spec.code}{city_index + 1:02d}{index:08d}",
            name=self.person_name(female),
            id_number=first17 + id_check_digit(first17),
            province_id=policy[spec.name].id,
            level=level,
            admission_type=admission_type,
            batch=batch,
            major=major,
            preference_order=preference,
            high_school=school,
            address=address,
        )
        return candidate, spec

    def phones(self, plan: _Plan, spec: ProvinceSpec) -> None:
        """1–3 numbers; in provinces that shield candidates' phones the school mostly has a parent's."""
        rng = self.rng
        if spec.phones_shielded:
            owners = [PhoneOwner.PARENT] if rng.random() < 0.7 else [PhoneOwner.OTHER]
            if rng.random() < 0.3:
                owners.append(PhoneOwner.PARENT)
        else:
            owners = [PhoneOwner.SELF]
            roll = rng.random()
            if roll < 0.75:
                owners.append(PhoneOwner.PARENT)
            if roll < 0.25:
                owners.append(W_EXTRA_OWNER.pick(rng))
        numbers: list[str] = []
        for owner in owners:
            number = self.phone_number()
            while number in numbers:
                number = self.phone_number()
            numbers.append(number)
            note = {
                PhoneOwner.PARENT: rng.choice(("父亲", "母亲", "母亲", "家长")),
                PhoneOwner.OTHER: rng.choice(("班主任", "亲戚", "同学")),
            }.get(owner, "")
            plan.phones.append((number, owner, note))

    def fate(
        self, candidate: Candidate, spec: ProvinceSpec, skill: float, *, previous: bool
    ) -> tuple[str, bool]:
        """(final status, enrolled) of a candidate, before any contact is written."""
        rng = self.rng
        undergrad = candidate.level == Level.UNDERGRADUATE
        can_withdraw = spec.withdrawable and candidate.admission_type != AdmissionType.SINGLE_RECRUITMENT
        if can_withdraw and rng.random() < (0.045 if undergrad else 0.065):
            return CallbackStatus.WITHDRAWN, False
        base = (0.977 if undergrad else 0.943) - (0.008 if previous else 0.0)
        if can_withdraw:
            base += 0.01  # those who would not come have mostly withdrawn
        enrolled = rng.random() < min(0.998, base + skill)
        if enrolled:
            status = W_STATUS_ENROLLED.pick(rng)
        else:
            status = (W_STATUS_NOT_ENROLLED_WITHDRAWABLE if can_withdraw else W_STATUS_NOT_ENROLLED).pick(rng)
        return status, enrolled

    def plan_candidate(
        self,
        season: Season,
        policy: dict[str, ProvincePolicy],
        index: int,
        callers: dict[str, list[_CallerInfo]],
    ) -> _Plan:
        rng = self.rng
        candidate, spec = self.candidate(season, policy, index)
        plan = _Plan(candidate=candidate)
        self.phones(plan, spec)
        start, end = season.admission_start, season.admission_end
        # 投档: 本科 in the first days of admission, 专科 later; 单招 at the start.
        if candidate.admission_type == AdmissionType.SINGLE_RECRUITMENT:
            filed = start + dt.timedelta(days=rng.randint(0, 3))
        elif candidate.level == Level.UNDERGRADUATE:
            filed = start + dt.timedelta(days=rng.randint(0, 10))
        else:
            filed = start + dt.timedelta(days=rng.randint(12, 24))

        # Who calls: the strike team takes withdrawable provinces that shield phones (校考 excepted).
        roll = rng.random()
        pool_kind = None
        if roll < 0.012:
            pool_kind = "fresh"
        elif roll < 0.02:
            pool_kind = "released"
        strike_province = (
            spec.withdrawable
            and spec.phones_shielded
            and candidate.admission_type != AdmissionType.SCHOOL_EXAM
            and callers["strike"]
        )
        team = callers["strike"] if strike_province else callers["regular"]
        info = rng.choice(team) if team else None
        if pool_kind == "fresh" or info is None:
            # never assigned: waiting in the pool, nobody has called yet
            candidate.in_pool = True
            _, enrolled = self.fate(candidate, spec, -0.1, previous=False)
            status = CallbackStatus.UNCONTACTED
            self.outcomes(plan, season, status, enrolled, filed)
            return plan

        if pool_kind == "released":
            # Tried for days, then put back in the pool (history kept, nobody holds it now).
            candidate.in_pool = True
            status, enrolled = CallbackStatus.UNREACHABLE, rng.random() < 0.7
            assign_day = filed
            last_day = self.contacts(
                plan, info.id, spec, status, assign_day, min(end, filed + dt.timedelta(days=10))
            )
            released = last_day + dt.timedelta(days=1)
            plan.assignments.append(
                {
                    "caller_id": info.id,
                    "source": AssignmentSource.OFFICE,
                    "active": False,
                    "assigned_at": self.at(assign_day, 8, 30),
                    "ended_at": self.at(released, 18, 0),
                    "ended_reason": "多次联系不上，放回录检池",
                }
            )
            self.outcomes(plan, season, status, enrolled, filed)
            return plan

        status, enrolled = self.fate(candidate, spec, info.skill, previous=False)
        if strike_province:
            source, assign_day = AssignmentSource.OFFICE, filed
        else:
            source = W_SOURCE.pick(rng)
            assign_day = (
                filed + dt.timedelta(days=rng.randint(2, 6)) if source == AssignmentSource.POOL else filed
            )
            if source == AssignmentSource.REPORT:  # reported while helping with 志愿填报, late June
                reported = start - dt.timedelta(days=rng.randint(8, 20))
                plan.report = {
                    "caller_id": info.id,
                    "created_at": self.moment(reported),
                    "note": "志愿填报咨询",
                }
        assign_day = min(assign_day, end)
        last_contact = None
        if status == CallbackStatus.WITHDRAWN:
            # contacts stop a few days before the withdrawal is done, within admission
            window_end = max(assign_day, end - dt.timedelta(days=rng.randint(2, 8)))
            last_day = self.contacts(plan, info.id, spec, status, assign_day, window_end)
            plan.withdrawn_on = min(end, last_day + dt.timedelta(days=rng.randint(1, 3)))
        elif status != CallbackStatus.UNCONTACTED:
            self.contacts(plan, info.id, spec, status, assign_day, end)
        if plan.contacts:
            last_contact = plan.contacts[-1]["contacted_at"]
        next_call = None
        if status in (CallbackStatus.HESITANT, CallbackStatus.UNREACHABLE) and last_contact:
            next_call = (last_contact + dt.timedelta(days=rng.randint(1, 3))).replace(
                hour=10, minute=0, second=0
            )
        plan.assignments.append(
            {
                "caller_id": info.id,
                "source": source,
                "active": True,
                "assigned_at": self.at(assign_day, 8, 30),
                "next_call_at": next_call,
            }
        )
        if (
            candidate.level == Level.UNDERGRADUATE
            and status == CallbackStatus.CONFIRMED
            and rng.random() < 0.04
        ):
            candidate.masters_track_interest = True
        self.outcomes(plan, season, status, enrolled, filed, info.payment_push)
        return plan

    def contacts(
        self, plan: _Plan, caller_id: int, spec: ProvinceSpec, status: str, first: dt.date, last: dt.date
    ) -> dt.date:
        """The contact history leading to `status`; returns the day of the last contact."""
        rng = self.rng
        mean = self.o.contacts_per_candidate
        factor = {
            CallbackStatus.CONFIRMED: 0.96,
            CallbackStatus.HESITANT: 1.55,
            CallbackStatus.REFUSED: 1.2,
            CallbackStatus.UNREACHABLE: 1.4,
            CallbackStatus.WITHDRAWAL_REQUESTED: 1.15,
            CallbackStatus.WITHDRAWN: 1.05,
        }[status]
        n = max(1, round(rng.gauss(mean * factor, mean * 0.35)))
        final_intent = {
            CallbackStatus.CONFIRMED: Intent.CONFIRMED,
            CallbackStatus.HESITANT: Intent.HESITANT,
            CallbackStatus.REFUSED: Intent.REFUSED,
            CallbackStatus.WITHDRAWAL_REQUESTED: Intent.WANTS_WITHDRAWAL,
            CallbackStatus.WITHDRAWN: Intent.WANTS_WITHDRAWAL,
        }.get(status)
        # days: the first call on the day of assignment or the next, the rest spread until `last`
        days = [min(last, first + dt.timedelta(days=rng.randint(0, 1)))]
        days += sorted(self.day_between(days[0], last) for _ in range(n - 1))
        times = sorted(self.moment(d, earliest_hour=9) for d in days)
        concerns = self.concerns(plan.candidate, spec)
        if final_intent is None:
            reached = [False] * n
        else:
            failures = min(n - 1, W_FAILURES_FIRST.pick(rng))
            reached = [False] * failures + [True] + [rng.random() < 0.8 for _ in range(n - failures - 1)]
        reached_positions = [i for i, r in enumerate(reached) if r]
        # the contact where the final intent is first heard; before it the candidate hesitated
        decisive = (
            (
                reached_positions[0]
                if rng.random() < 0.62 or len(reached_positions) == 1
                else rng.choice(reached_positions[1:])
            )
            if reached_positions
            else None
        )
        learned_number = None
        if decisive is not None and reached_positions[0] >= 2 and rng.random() < 0.35:
            learned_number = self.phone_number()
            while learned_number in [p[0] for p in plan.phones]:
                learned_number = self.phone_number()
            plan.phones.append((learned_number, PhoneOwner.PARENT, "回访中获取"))
        known = [p[0] for p in plan.phones if p[0] != learned_number]
        for i, when in enumerate(times):
            if reached[i]:
                channel = W_REACHED_CHANNEL.pick(rng)
                if i == reached_positions[0] and learned_number is None:
                    channel = Channel.PHONE
                if i < decisive:
                    intent = (
                        Intent.NONE if i == reached_positions[0] and rng.random() < 0.3 else Intent.HESITANT
                    )
                    if final_intent == Intent.HESITANT:
                        intent = Intent.HESITANT if intent == Intent.NONE and rng.random() < 0.5 else intent
                elif i == decisive:
                    intent = final_intent
                else:  # follow-ups: same answer, or a reminder message without a stated intent
                    intent = final_intent if channel == Channel.PHONE or rng.random() < 0.5 else Intent.NONE
                outcome = Outcome.CONNECTED if channel in (Channel.PHONE, Channel.OTHER) else Outcome.REPLIED
                if channel == Channel.PHONE:
                    low, high = {
                        Intent.CONFIRMED: (90, 600),
                        Intent.HESITANT: (240, 1500),
                        Intent.REFUSED: (120, 900),
                        Intent.WANTS_WITHDRAWAL: (240, 1200),
                        Intent.NONE: (60, 420),
                    }[intent]
                    duration = int(rng.triangular(low, high, low + (high - low) * 0.3))
                elif channel in (Channel.WECHAT, Channel.QQ):
                    duration = rng.randint(60, 900)
                else:
                    duration = 0
                risks: list[str] = []
                if intent in (Intent.HESITANT, Intent.REFUSED, Intent.WANTS_WITHDRAWAL) and concerns:
                    risks = concerns[: rng.randint(1, len(concerns))]
                elif intent == Intent.CONFIRMED and rng.random() < 0.06:
                    risks = [rng.choice((RiskSignal.ASKS_AID, RiskSignal.UNFAMILIAR))]
                messaging = intent == Intent.NONE and outcome == Outcome.REPLIED
                template = rng.choice(NOTES_MESSAGE if messaging else NOTES[intent])
                notes = template.format(risk="、".join(RISK_PHRASES[r] for r in risks) or "还没想好")
                number = ""
                new_numbers = ""
                if i == reached_positions[0] and learned_number:
                    channel, outcome, number = Channel.PHONE, Outcome.CONNECTED, learned_number
                    new_numbers = learned_number
                    notes = "原号码打不通，通过班主任获取家长电话；" + notes
                    known.insert(0, learned_number)  # the number that works, called from now on
                elif channel in (Channel.PHONE, Channel.SMS) and known:
                    number = known[0] if rng.random() < 0.7 else rng.choice(known)
            else:
                channel = W_FAILED_CHANNEL.pick(rng)
                intent, risks, new_numbers = Intent.NONE, [], ""
                if channel == Channel.PHONE:
                    answered_before = bool(reached_positions) and i > reached_positions[0]
                    outcome = (W_FAILED_OUTCOME_LATER if answered_before else W_FAILED_OUTCOME).pick(rng)
                    duration = rng.randint(5, 40) if outcome == Outcome.REJECTED else 0
                    notes = (
                        ""
                        if rng.random() < 0.7
                        else rng.choice(("晚上再打", "明天换个时间打", "换家长号码试试"))
                    )
                else:
                    outcome, duration = Outcome.NO_REPLY, 0
                    notes = "" if rng.random() < 0.7 else "已发短信/好友申请，未回复"
                number = (
                    (rng.choice(known) if known else "") if channel in (Channel.PHONE, Channel.SMS) else ""
                )
                if outcome in DEAD_NUMBER_OUTCOMES:
                    # a dead number is not dialled again; the last one left is only "not answering"
                    if len(known) > 1:
                        known.remove(number)
                    else:
                        outcome = Outcome.NO_ANSWER
            plan.contacts.append(
                {
                    "caller_id": caller_id,
                    "contacted_at": when,
                    "channel": channel,
                    "duration_seconds": duration,
                    "phone_number": number,
                    "outcome": outcome,
                    "intent": intent,
                    "risk_signals": [str(r) for r in risks],
                    "notes": notes,
                    "new_numbers": new_numbers,
                }
            )
        return times[-1].date()

    def concerns(self, candidate: Candidate, spec: ProvinceSpec) -> list[str]:
        """The one to three worries this candidate's family raises (the manual's risk signals)."""
        rng = self.rng
        weights = W_CONCERNS[(candidate.preference_order or 1) >= 3, candidate.level == Level.JUNIOR]
        picked: list[str] = []
        for _ in range(W_CONCERN_COUNT.pick(rng)):
            risk = weights.pick(rng)
            if risk not in picked:
                picked.append(risk)
        return picked

    def outcomes(
        self,
        plan: _Plan,
        season: Season,
        status: str,
        enrolled: bool,
        filed: dt.date,
        payment_push: float = 0.0,
    ) -> None:
        """Status, payments, registration and the contact summary of the candidate.

        `payment_push` (the caller's) moves payments earlier (positive) or later (negative).
        """
        rng = self.rng
        c = plan.candidate
        c.status = status
        if plan.withdrawn_on is None and status == CallbackStatus.WITHDRAWN:
            plan.withdrawn_on = self.day_between(filed + dt.timedelta(days=2), season.admission_end)
        c.withdrawn_on = plan.withdrawn_on
        if status == CallbackStatus.WITHDRAWN:
            enrolled = False
        pays = enrolled or (
            status in (CallbackStatus.HESITANT, CallbackStatus.REFUSED) and rng.random() < 0.08
        )
        if pays:
            stage1_end = season.admission_end + dt.timedelta(days=7)
            stage2_end = season.payment_close - dt.timedelta(days=7)
            close = season.payment_close - dt.timedelta(days=1)
            earliest = filed + dt.timedelta(days=1)
            u = min(0.999, max(0.0, rng.random() - payment_push))
            if u < 0.26:
                day = self.day_between(earliest, stage1_end)
            elif u < 0.66:
                day = self.day_between(max(earliest, stage1_end + dt.timedelta(days=1)), stage2_end)
            elif u < 0.86:
                day = self.day_between(max(earliest, stage2_end + dt.timedelta(days=1)), close)
            else:
                day = season.registration_date  # paid on site at registration
            majors = UNDERGRAD_MAJORS + ART_MAJORS if c.level == Level.UNDERGRADUATE else JUNIOR_MAJORS
            tuition = dict(majors).get(c.major, 18000)
            total = Decimal(tuition + rng.choice(DORM_FEES))
            if rng.random() < 0.04 and day + dt.timedelta(days=3) < season.registration_date:
                second = self.day_between(day + dt.timedelta(days=3), season.registration_date)
                plan.payments = [(day, Decimal(5000)), (second, total - 5000)]
            else:
                plan.payments = [(day, total)]
            c.paid_on = plan.payments[0][0]
            c.payment_amount = sum((a for _, a in plan.payments), Decimal(0)).quantize(Decimal("0.01"))
        if enrolled:
            late = W_LATE_DAYS.pick(rng)
            plan.registered_on = season.registration_date + dt.timedelta(days=late)
            c.enrolled_on = plan.registered_on
        c.contact_count = len(plan.contacts)
        c.contact_seconds = sum(x["duration_seconds"] for x in plan.contacts)
        c.last_contact_at = max((x["contacted_at"] for x in plan.contacts), default=None)

    def write(self, season: Season, plans: list[_Plan], prefix: str = "") -> None:
        """Writes a batch of planned candidates with everything hanging off them."""
        ids = _insert_rows(
            Candidate,
            [p.candidate for p in plans],
            return_ids_by="exam_number",
            scope={"season_id": season.id},
        )
        phones, assignments, contacts, payments, registrations, withdrawals = [], [], [], [], [], []
        reports = []
        for p in plans:
            exam = p.candidate["exam_number"]
            cid = ids[exam]
            if p.report:
                c = p.candidate
                reports.append(
                    {"season_id": season.id, "name": c.name, "exam_number": exam, "id_number": c.id_number}
                    | p.report
                )
            phones += [
                {"candidate_id": cid, "number": n, "owner": o, "note": note} for n, o, note in p.phones
            ]
            for a in p.assignments:
                assignments.append({"candidate_id": cid, **a})
            for x in p.contacts:
                x["candidate_id"] = cid
            contacts += p.contacts
            payments += [
                {"season_id": season.id, "exam_number": exam, "candidate_id": cid, "paid_on": d, "amount": a}
                for d, a in p.payments
            ]
            if p.registered_on:
                registrations.append(
                    {
                        "season_id": season.id,
                        "exam_number": exam,
                        "candidate_id": cid,
                        "registered_on": p.registered_on,
                    }
                )
            if p.withdrawn_on:
                withdrawals.append(
                    {
                        "season_id": season.id,
                        "exam_number": exam,
                        "candidate_id": cid,
                        "withdrawn_on": p.withdrawn_on,
                    }
                )
        for key, model, rows in (
            ("phones", CandidatePhone, phones),
            ("assignments", Assignment, assignments),
            ("contacts", ContactLog, contacts),
            ("payments", PaymentRecord, payments),
            ("registrations", RegistrationRecord, registrations),
            ("withdrawals", WithdrawalRecord, withdrawals),
            ("prospect_reports", ProspectReport, reports),
        ):
            _insert_rows(model, rows)
            self.summary.add(prefix + key, len(rows))
        self.summary.add(prefix + "candidates", len(plans))

    def previous_plan(self, season: Season, policy: dict[str, ProvincePolicy], index: int) -> _Plan:
        """Last year's candidate: who came, paid or withdrew (no callers, no contacts)."""
        candidate, spec = self.candidate(season, policy, index)
        plan = _Plan(candidate=candidate)
        status, enrolled = self.fate(candidate, spec, self.rng.uniform(-0.01, 0.005), previous=True)
        filed = season.admission_start + dt.timedelta(days=self.rng.randint(0, 24))
        self.outcomes(plan, season, status, enrolled, filed)
        return plan

    def run(self) -> DemoSummary:
        o = self.o
        started = time.monotonic()
        # PostgreSQL defers foreign-key checks to COMMIT by default (Django's constraints): for
        # millions of rows that queue is slow and large, so the core data is checked as it goes.
        self.constraints("IMMEDIATE")
        groups = self.groups()
        self.office_user(groups)
        if o.previous_season:
            prev = self.season(o.year - 1)
            prev_policy = self.provinces(prev, prefix="previous_")
        season = self.season(o.year)
        policy = self.provinces(season)
        staff = self.create_staff(season, groups)
        self.attendance(season, staff["working"])
        self.log(f"{len(staff['people'])} 名回访人员，{o.team_count} 个小组")
        for start, plans in self.batches(
            o.candidates, lambda i: self.plan_candidate(season, policy, i, staff)
        ):
            self.write(season, plans)
            self.log(f"{o.year} 考生 {start + len(plans):,} / {o.candidates:,}")
        if o.previous_season:
            n_prev = round(o.candidates * 0.9)
            for start, plans in self.batches(n_prev, lambda i: self.previous_plan(prev, prev_policy, i)):
                self.write(prev, plans, prefix="previous_")
                self.log(f"{o.year - 1} 考生 {start + len(plans):,} / {n_prev:,}")
        self.constraints("DEFERRED")  # the apps' seeders get Django's usual behaviour
        for path, seeder in demo_seeders():
            seeder(season=season, rng=random.Random(f"{o.seed}:{path}"))
            self.log(f"演示数据扩展：{path}")
        self.summary.seconds = time.monotonic() - started
        return self.summary

    @staticmethod
    def constraints(mode: str) -> None:
        conn = connections[router.db_for_write(Candidate)]
        if conn.vendor == "postgresql":
            with conn.cursor() as cursor:
                cursor.execute(f"SET CONSTRAINTS ALL {mode}")

    def batches(self, total: int, make: Callable[[int], _Plan]) -> Iterator[tuple[int, list[_Plan]]]:
        for start in range(0, total, self.o.batch_size):
            yield start, [make(i) for i in range(start, min(total, start + self.o.batch_size))]


def demo_seeders() -> Iterable[tuple[str, Callable]]:
    """The callables named in settings.DEMO_SEEDERS: a function's dotted path, or a module with `seed`."""
    for path in getattr(settings, "DEMO_SEEDERS", []):
        try:
            target = import_module(path)
        except ImportError:
            target = import_string(path)
        yield path, (target.seed if isinstance(target, ModuleType) else target)


def demo_season_generate(*, options: DemoOptions, log: Callable[[str], None] | None = None) -> DemoSummary:
    """Builds the demo season (and the previous one) in one transaction. Refuses if it exists."""
    if Season.objects.filter(year__in=[options.year, options.year - 1]).exists():
        raise ValueError(f"{options.year} 或 {options.year - 1} 年度已存在")
    with transaction.atomic():
        return _Generator(options, log or (lambda message: None)).run()
