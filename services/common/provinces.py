"""Vietnam's 34 provinces and centrally-run cities (since 1 July 2025), by their ids in Loa.

A province id is the ASCII slug of its name (``Đắk Lắk`` → ``dak-lak``), the
form planners' tokens and resources carry; reports show the name.
"""

from __future__ import annotations

import unicodedata

NAMES = (
    "Hà Nội", "Huế", "Quảng Ninh", "Cao Bằng", "Lạng Sơn", "Lai Châu", "Điện Biên", "Sơn La",
    "Thanh Hóa", "Nghệ An", "Hà Tĩnh", "Tuyên Quang", "Lào Cai", "Thái Nguyên", "Phú Thọ",
    "Bắc Ninh", "Hưng Yên", "Hải Phòng", "Ninh Bình", "Quảng Trị", "Đà Nẵng", "Quảng Ngãi",
    "Gia Lai", "Khánh Hòa", "Lâm Đồng", "Đắk Lắk", "Hồ Chí Minh", "Đồng Nai", "Tây Ninh",
    "Cần Thơ", "Vĩnh Long", "Đồng Tháp", "Cà Mau", "An Giang",
)  # fmt: skip


def slug(name: str) -> str:
    """``Xã Ea Tu`` → ``xa-ea-tu``: ASCII ids from Vietnamese names (đ becomes d)."""
    plain = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    ascii_only = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return "-".join("".join(c if c.isalnum() else " " for c in ascii_only).split())


BY_ID = {slug(name): name for name in NAMES}


def province_name(province_id: str) -> str:
    """The province's name, or its id when Loa does not know it (a test province, a new one)."""
    return BY_ID.get(province_id, province_id)
