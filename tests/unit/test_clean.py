"""Cleaning functions on real snippets from the seeds and the provincial corpus."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.ingest.clean import (
    clean_display_text,
    drop_repeated_blocks,
    find_garbage_runs,
    han_word_share,
    is_pinyin_syllable,
    strip_boilerplate_lines,
    strip_garbage,
    strip_pinyin_ruby,
)
from rag.ingest.load import load_document
from rag.zh import to_search_text

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
SEED_002 = SEEDS / "002_f7e74dfd952d8b46.txt"
# A pinyin syllable left in parentheses after a Han character, in the Simplified search text.
_RUBY_LEFT = re.compile(r"[\u4e00-\u9fff]\(([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7})\)")


def _seed(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


# --- pinyin ruby ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (
            "(2022年2月13日在杭州市余杭區(qū)第十六屆人民代表大會第二次會議上)",
            "(2022年2月13日在杭州市余杭區第十六屆人民代表大會第二次會議上)",
        ),
        ("統籌推進調區(qū)劃、抓發(fā)展、優(yōu)環境", "統籌推進調區劃、抓發展、優環境"),
        ("高質(zhì)量可持續(xù)快發(fā)展", "高質量可持續快發展"),
        ("現(xiàn)在,我代表區(qū)人民政府", "現在,我代表區人民政府"),
    ],
)
def test_ruby_annotations_from_002_are_removed(raw, clean):
    assert strip_pinyin_ruby(raw) == clean


@pytest.mark.parametrize(
    "kept",
    [
        "绝对值 (亿元) | 增幅 (%) |",  # 000's table header
        "区年度目标(%)",
        "固定资产投资(亿元) | — | 14.2 |",
        "(2020年)",
        "(一)把握历史机遇,顺利完成体制整合。",  # 004's inline heading
        "中国网络作家村(村)",
        "序时推进 |\n(完)",  # 003's last line
        "推动数字经济(GDP)增长",
    ],
)
def test_parentheses_that_are_not_pinyin_stay(kept):
    assert strip_pinyin_ruby(kept) == kept


def test_pinyin_syllable_recognition():
    assert all(is_pinyin_syllable(s) for s in ("qū", "zhì", "xù", "fā", "yōu", "chuàng", "lǐng"))
    assert not any(is_pinyin_syllable(s) for s in ("gdp", "完", "2020", "%"))


# --- mis-decoded garbage -------------------------------------------------------------------------
def test_garbage_runs_in_002_are_dropped_and_nothing_else():
    # A real 002 sentence with a UTF-8-read-as-GBK run in the middle.
    raw = (
        "為此,我們必須強化“短板就是優(yōu)化空間,弱項就是發(fā)展?jié)摿Α崩砟睿瑘猿帧傲\ue2b7屏\ue2b2ⅰ保瑯淅巍傲鶄€"
        "意識”,對標“六大行動”,用真抓快干破題"
    )
    cleaned = strip_garbage(strip_pinyin_ruby(raw))
    assert cleaned == "為此,我們必須強化“短板就是優化空間,弱項就是發展意識”,對標“六大行動”,用真抓快干破題"
    second = "重點推進字節跳動、OPPO、vivo、釘釘?shù)软椖浚\ue0cf_保創建省級高新區"
    assert strip_garbage(second) == "重點推進字節跳動、OPPO、vivo、釘釘保創建省級高新區"


@pytest.mark.parametrize("prefix", ["000", "001", "003", "004"])
def test_no_garbage_found_in_clean_seeds(prefix):
    """The detector must not delete real text: the four clean seeds hold no garbage run."""
    text = _seed(prefix)
    assert find_garbage_runs(to_search_text(text)) == []


def test_rare_name_and_circle_zero_are_not_garbage():
    assert find_garbage_runs("杭州市余杭区人民政府代区长  王牮") == []
    assert find_garbage_runs("从一九九一年到二○○○年的后十年") == []


def test_word_share_separates_chinese_from_wrong_codec_text():
    real = _seed("000")[:2000]
    assert han_word_share(real) > 0.8
    assert han_word_share(real.encode("utf-8").decode("gb18030", errors="replace")) < 0.1
    assert han_word_share(real.encode("gbk").decode("big5", errors="replace")) < 0.1


# --- web boilerplate -----------------------------------------------------------------------------
def test_001_portal_header_is_removed():
    head = "\n".join(_seed("001").split("\n")[:10])
    cleaned = strip_boilerplate_lines(head)
    for furniture in ("信息索引号", "发布机构", "备注/文号", "生成日期", "点击率"):
        assert furniture not in cleaned
    assert "拱墅区2022年国民经济和社会发展计划执行情况与2023年国民经济和社会发展计划草案" in cleaned
    assert "一、2022国民经济和社会发展计划执行情况" in cleaned


def test_2026_csv_toolbar_and_captions_are_removed():
    # The head of the 2026 Beijing CSV's full_text, as published.
    head = (
        "下载\n打印\n全屏\n收藏\n【字号：\n加大\n还原\n减小\n】\n2026年北京市政府工作报告\n"
        "——2026年1月25日在北京市第十六届人民代表大会第四次会议上\n来源：北京日报\n时间：2026-02-02\n"
        "北京市市长 殷勇\n殷勇同志作政府工作报告。本报记者 戴冰摄\n各位代表：\n"
    )
    lines = [line for line in strip_boilerplate_lines(head).split("\n") if line]
    assert lines == [
        "2026年北京市政府工作报告",
        "——2026年1月25日在北京市第十六届人民代表大会第四次会议上",
        "北京市市长 殷勇",
        "各位代表：",
    ]


def test_footer_after_the_article_is_cut():
    body = "各位代表！蓝图已经绘就，实干创造未来。" * 40
    footer = (
        "\n责任编辑：\n李莎莎\n扫一扫在手机打开当前页\n相关链接>>\n打印本页\n关闭窗口\n2026年四川省人民政府工作报告"
    )
    assert strip_boilerplate_lines(body + footer).rstrip() == body


def test_traditional_boilerplate_goes_too():
    assert strip_boilerplate_lines("正文。\n聲明:本文有刪減\n分享到:").strip() == "正文。"


def test_body_lines_that_mention_sharing_or_sources_stay():
    body = "推动数据共享，打印机产业链来源多元。\n收藏品市场活跃。\n分享经济蓬勃发展。\n来源多样。"
    assert strip_boilerplate_lines(body) == body


# --- repeated blocks -------------------------------------------------------------------------------
def test_001_article_and_annex_table_appear_once():
    display = clean_display_text(_seed("001"))
    lines = display.split("\n")
    assert lines.count("2022年拱墅区主要指标(工作)执行情况表") == 1
    assert lines.count("新增认知症照护机构床位(张)") == 1
    assert display.count("一、2022国民经济和社会发展计划执行情况") == 1
    assert display.count("三、实现2023年国民经济和社会发展目标的主要措施") == 1


def test_short_repeated_cells_outside_a_repeat_stay():
    table = "序号\n1\n100%\n推进老旧小区改造(个)\n46\n100%\n加梯(台)\n200以上\n100%"
    assert drop_repeated_blocks(table) == table


# --- the whole of 002 -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def doc_002():
    return load_document(SEED_002)


def test_002_search_text_is_simplified_and_clean(doc_002):
    search = doc_002.search_text
    assert "余杭区" in search
    assert "2502.2亿元" in search
    assert _RUBY_LEFT.search(search) is None
    assert not re.search(r"[\ue000-\uf8ff\ufffd]", search)
    assert "摿" not in search and "椖" not in search


def test_002_display_text_stays_traditional_and_aligned(doc_002):
    display = doc_002.display_text
    assert doc_002.script == "traditional"
    assert "余杭區第十六屆人民代表大會" in display
    assert "全年實現地區生產總值2502.2億元" in display
    assert len(display) == len(doc_002.search_text)
    assert "(qū)" not in display and "分享到" not in display


def test_search_text_is_width_normalised_and_aligned():
    display = "全年实现地区生产总值２５０２．２亿元，增长７．５％；（一）"
    search = to_search_text(display)
    assert search == "全年实现地区生产总值2502.2亿元,增长7.5%;(一)"
    assert len(search) == len(display)
