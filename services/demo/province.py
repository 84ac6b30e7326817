"""The demo province, derived from the seed articles (../shared/seeds/).

Đắk Lắk broadcasts on its communes' loudspeakers in three languages — Kinh, Êđê
and M'nông (8.080 airings in 2022) — and in August 2023 a province reported
"664 lần phát thanh cho 129 xã", a Facebook livestream "BHYT học sinh, sinh
viên - Bảo vệ, chăm sóc sức khỏe thế hệ trẻ" with 1.700 views, 778
interactions, 139 shares and 105 comments, and the column "Câu chuyện chính
sách" in the radio programme "Giờ thứ 9". The demo puts those figures into one
province: 129 communes, 92 of them Kinh only, 22 with Êđê and 15 with M'nông
bulletins as well, so that four Friday bulletins per commune and language make
(92 + 2 × 37) × 4 = 664 airings.

Commune names are invented (some borrow real place names); codes are
consistent: five digits, numbered within the province by district.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from services.common.provinces import slug

PROVINCE = "dak-lak"
PROVINCE_NAME = "Đắk Lắk"
CENTRE = "Trung tâm Truyền thông BHXH tỉnh Đắk Lắk"
STATION = "Đài Phát thanh - Truyền hình Đắk Lắk"

EDE_COMMUNES = (
    "Ea Tu", "Ea Kao", "Cư Êbur", "Ea Tiêu", "Ea Bhốk", "Ea Hu", "Ea Ktur", "Dray Bhăng",
    "Ea Wer", "Ea Huar", "Krông Na", "Ea Nuôl", "Cư Pơng", "Ea Drơng", "Cư Suê", "Ea Kpam",
    "Ea M'nang", "Ea Tul", "Ea Pil", "Ea Sar", "Ea Ô", "Cư Mta",
)  # fmt: skip
MNONG_COMMUNES = (
    "Đắk Phơi", "Đắk Liêng", "Đắk Nuê", "Krông Nô", "Nam Ka", "Buôn Triết", "Buôn Tría",
    "Yang Tao", "Bông Krang", "Đắk Rtih", "Yang Mao", "Cư Drăm", "Yang Reh", "Ea Trul", "Cư Pui",
)  # fmt: skip
KINH_PREFIXES = ("Hòa", "Tân", "Bình", "Phú", "Quảng", "Thuận", "Xuân", "Vĩnh")
KINH_SUFFIXES = (
    "An", "Thắng", "Lợi", "Tiến", "Hiệp", "Thành", "Lộc", "Sơn", "Hưng", "Đông", "Phong", "Khánh",
)  # fmt: skip

DISTRICTS = {
    "Kinh": (
        "Thành phố Buôn Ma Thuột",
        "Thị xã Buôn Hồ",
        "Huyện Krông Năng",
        "Huyện Ea Kar",
        "Huyện Krông Búk",
    ),
    "Êđê": ("Huyện Cư M'gar", "Huyện Buôn Đôn", "Huyện Krông Pắc", "Huyện Krông Ana"),
    "M'nông": ("Huyện Lắk", "Huyện Krông Bông"),
}
MORNING = {"start": "05:30", "end": "06:30"}
EVENING = {"start": "17:00", "end": "18:30"}


@dataclass(frozen=True)
class Commune:
    name: str
    district: str
    code: str
    languages: tuple[str, ...]

    @property
    def resource_id(self) -> str:
        return f"loudspeaker:{slug(self.name)}"

    def description(self) -> dict:
        return {
            "type": "commune",
            "name": self.name,
            "province": PROVINCE,
            "code": self.code,
            "district": self.district,
            "languages": list(self.languages),
            "windows": [MORNING, EVENING],
        }


def _kinh_names(count: int) -> list[str]:
    names = [f"{p} {s}" for s in KINH_SUFFIXES for p in KINH_PREFIXES]
    return names[:count]


def communes() -> list[Commune]:
    """The province's 129 communes, in code order."""
    groups = [
        ("Êđê", [f"Xã {n}" for n in EDE_COMMUNES], ("Kinh", "Êđê")),
        ("M'nông", [f"Xã {n}" for n in MNONG_COMMUNES], ("Kinh", "M'nông")),
        ("Kinh", [f"Xã {n}" for n in _kinh_names(92)], ("Kinh",)),
    ]
    placed: list[tuple[str, str, tuple[str, ...]]] = []
    for group, names, languages in groups:
        districts = DISTRICTS[group]
        placed += [(districts[i % len(districts)], name, languages) for i, name in enumerate(names)]
    order = [d for group in ("Kinh", "Êđê", "M'nông") for d in DISTRICTS[group]]
    placed.sort(key=lambda p: (order.index(p[0]), p[1]))
    # Đắk Lắk's commune codes are five digits starting 24; they rise with the district.
    return [
        Commune(name, district, f"{24121 + 3 * i:05d}", languages)
        for i, (district, name, languages) in enumerate(placed)
    ]


# -- the other resources -------------------------------------------------------------

RADIO = "radio:dak-lak:gio-thu-9"
FANPAGE = "page:facebook:bhxh-dak-lak"
ZALO = "page:zalo:bhxh-dak-lak"

OTHER_RESOURCES = {
    RADIO: {
        "type": "programme",
        "name": "Giờ thứ 9",
        "province": PROVINCE,
        "station": STATION,
        "columns": ["Câu chuyện chính sách"],
        "slots": [{"rule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "start": "21:00", "duration_minutes": 15}],
    },
    FANPAGE: {
        "type": "page",
        "name": "Fanpage BHXH tỉnh Đắk Lắk",
        "province": PROVINCE,
        "platform": "facebook",
        "url": "https://www.facebook.com/bhxhdaklak",
    },
    ZALO: {
        "type": "page",
        "name": "Zalo BHXH tỉnh Đắk Lắk",
        "province": PROVINCE,
        "platform": "zalo",
        "url": "https://zalo.me/bhxhdaklak",
    },
}


# -- campaigns -----------------------------------------------------------------------


@dataclass(frozen=True)
class Campaign:
    key: str
    name: str
    topic: str
    starts_on: date
    ends_on: date
    targets: dict = field(default_factory=dict)

    def definition(self, commune_ids: list[str]) -> dict:
        return {
            "name": self.name,
            "topic": self.topic,
            "province": PROVINCE,
            "starts_on": self.starts_on.isoformat(),
            "ends_on": self.ends_on.isoformat(),
            "communes": commune_ids,
            "targets": self.targets,
        }


BHYT_HSSV = Campaign(
    key="demo-dak-lak-bhyt-hssv-2023",
    name="BHYT học sinh, sinh viên",
    topic="BHYT học sinh, sinh viên - Bảo vệ, chăm sóc sức khỏe thế hệ trẻ",
    starts_on=date(2023, 8, 1),
    ends_on=date(2023, 8, 31),
    targets={"airings_per_commune": 4, "languages": ["Kinh"], "livestreams": 1},
)
LUAT_BHXH = Campaign(
    key="demo-dak-lak-luat-bhxh-2024",
    name="Luật BHXH năm 2024",
    topic="Những điểm mới của Luật Bảo hiểm xã hội số 41/2024/QH15",
    starts_on=date(2025, 1, 1),
    ends_on=date(2026, 12, 31),
    targets={"languages": ["Kinh"]},
)

# -- August 2023, as the seed reports it --------------------------------------------

AUGUST = date(2023, 8, 1)
AUGUST_RULE = "FREQ=WEEKLY;BYDAY=FR"  # Fridays 4, 11, 18 and 25 August 2023
AUGUST_AIRED = 664
AUGUST_LIVESTREAM = {
    "title": "BHYT học sinh, sinh viên - Bảo vệ, chăm sóc sức khỏe thế hệ trẻ",
    "starts_at": "2023-08-24T20:00",
    "duration_minutes": 90,
}
AUGUST_LIVESTREAM_FINAL = {"views": 1700, "interactions": 778, "shares": 139, "comments": 105}

BULLETIN_SCRIPTS = {
    "Kinh": "Thẻ BHYT học sinh, sinh viên: mức đóng, hỗ trợ của Nhà nước và quyền lợi khi khám chữa bệnh.",
    "Êđê": "Bản tin BHYT học sinh, sinh viên, cán bộ xã đọc bằng tiếng Êđê.",
    "M'nông": "Bản tin BHYT học sinh, sinh viên, cán bộ xã đọc bằng tiếng M'nông.",
}
LAW_SCRIPTS = {
    "Kinh": "Luật BHXH năm 2024 có hiệu lực từ 01/7/2025: trợ cấp hưu trí xã hội, chế độ thai sản cho "
    "người tham gia BHXH tự nguyện, lương hưu khi đóng đủ 15 năm.",
    "Êđê": "Những điểm mới của Luật BHXH năm 2024, cán bộ xã đọc bằng tiếng Êđê.",
    "M'nông": "Những điểm mới của Luật BHXH năm 2024, cán bộ xã đọc bằng tiếng M'nông.",
}

# The pages' August: "fanpage BHXH tỉnh đăng tải 40 tin, bài, video thu hút hơn 21.500 lượt tiếp cận;
# gần 2.000 lượt tương tác; tài khoản zalo ... 8 tin, bài thu hút 882 lượt xem nội dung và 80 lượt
# chia sẻ". The livestream is one of the fanpage's 40 items, so 39 posts carry the reach and the
# interactions the livestream's 778 do not: 778 + 1.198 = 1.976, "gần 2.000".
POST_TITLES = (
    "Infographic: Mức đóng BHYT học sinh, sinh viên năm học 2023 - 2024",
    "Video: Hướng dẫn cài đặt và sử dụng ứng dụng VssID",
    "Hỏi đáp: Thẻ BHYT học sinh, sinh viên có giá trị sử dụng bao lâu?",
    "Tin: BHXH tỉnh ra quân tuyên truyền BHYT học sinh, sinh viên",
    "Bài: Lợi ích khi tham gia BHXH tự nguyện",
    "Video: Người dân nhận lương hưu sau 15 năm đóng BHXH",
)
FANPAGE_POST_DAYS = sorted([*range(1, 32), 4, 8, 11, 15, 18, 22, 25, 29])  # 39 posts, two on eight days
FANPAGE_POSTS_TOTAL = {"reach": 21500, "interactions": 1198}
ZALO_POST_DAYS = [2, 6, 10, 14, 18, 22, 26, 30]
ZALO_POSTS_TOTAL = {"views": 882, "shares": 80}
