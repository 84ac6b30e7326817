from services.common.provinces import BY_ID, province_name


def test_the_34_provinces_have_distinct_ascii_ids():
    assert len(BY_ID) == 34
    assert all(pid.isascii() for pid in BY_ID)
    assert province_name("dak-lak") == "Đắk Lắk"
    assert province_name("dien-bien") == "Điện Biên"
    assert province_name("ho-chi-minh") == "Hồ Chí Minh"


def test_an_unknown_province_keeps_its_id():
    assert province_name("tinh-thu-nghiem") == "tinh-thu-nghiem"
