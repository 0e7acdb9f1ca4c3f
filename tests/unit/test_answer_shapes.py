"""Shapes of question and table the answer layer reads (issue 15, session 5): everyday words in report wording,
fill-in questions, a task table's requirement as a target, a level target under a (%) column, tasks not begun,
a document's parts and a heading's children as the asked list. Real snippets from the seeds and the provincial
reports; no model, no index."""

from __future__ import annotations

from rag.answer.extractive import (
    Sentence,
    _holds_head,
    _term_share,
    cloze,
    fits_indicator,
    lead_line,
    names_quoted,
    pick_sentences,
    quoted_names,
)
from rag.answer.lists import Lister, answer_list
from rag.answer.status import match_status_question, select_records
from rag.facts.extract import records_from_row
from rag.facts.values import EXCEEDED, NOT_STARTED, UNKNOWN, status_from_text
from rag.lexicon import lexicon
from rag.records import Chunk, Hit
from rag.search.query import parse_query

REGIONS = ["滨江区", "余杭区", "拱墅区", "钱塘新区"]


def _chunk(cid: str, text: str, *, region: str = "余杭区", kind: str = "text", crumbs: tuple[str, ...] = (),
           cells: tuple = (), years: tuple[int, ...] = (2021, 2022)) -> Chunk:
    return Chunk(cid, cid.split("#")[0], kind, 0, len(text), text, text, breadcrumb=crumbs, display_breadcrumb=crumbs,
                 region=region, years=years, cells=cells, search_cells=cells)


def test_everyday_words_are_read_in_report_words_and_report_wording_is_left_alone() -> None:
    lex = lexicon()
    reworded, groups = lex.in_report_words("余杭2021年商场超市一年卖了多少货")
    assert "社会消费品零售总额" in reworded and groups[0][0] == "社会消费品零售总额"
    assert "多少" in reworded  # the question word stays: the reworded question still asks for a figure
    assert "新能源汽车" in lex.in_report_words("重庆2024年造了多少辆充电就能跑的车")[0]
    assert "高速公路" in lex.in_report_words("广西到2024年底高速修了多少公里")[0]
    for literal in ("浙江省2025年地区生产总值是多少", "2024年财政赤字率是多少", "拱墅2023年要大力发展哪些产业",
                    "四川省2025年外商投资企业有多少家", "2025年农村人居环境整治提升",
                    # encyclopedic questions (DRCD) an early version reworded: 一种地形 is no 种地, 中国企业 no 国企
                    "铜仁市境内以哪一种地形为居多?", "朱思本是用何种地理绘图方法绘制成《舆地图》?", "元朝的对外贸易政策是?",
                    "「2007中国企业500强排行榜」中,获得第111名是哪一个企业?", "岳飞升转任武功大夫是因为谁的推荐?"):
        assert lex.in_report_words(literal) == (literal, []), literal


def test_a_colloquial_question_asks_about_what_its_words_stand_for() -> None:
    query = parse_query("滨江21年经济盘子过两千亿了没有", REGIONS)
    assert "地区生产总值" in query.topic and "地区生产总值" in query.expansions
    assert query.reworded.startswith("滨江2021年地区生产总值") and query.measure == "value"
    sentence = "主要经济指标稳步提升。地区生产总值首次突破2000亿元大关、达2022.6亿元,增长11.3%"
    assert _holds_head(query, sentence)
    assert not parse_query("余杭区2021年地区生产总值是多少", REGIONS).reworded  # nothing to reword


def test_a_compound_split_by_a_modifier_still_names_the_indicator() -> None:
    assert _term_share("引进人才", "新培育省级以上科技领军人才50人,新引进各类人才4万人以上。") >= 0.9
    assert _term_share("引进人才", "加快孵化器梯次培育和升级发展") == 0.0


def test_a_figure_sentence_without_the_asked_indicator_name_is_not_the_answer() -> None:
    query = parse_query("余杭2021年城镇非私营单位平均工资是多少", REGIONS)
    wrong = _chunk("y#1", "就业方面，城镇新增就业5.1万人，以工代赈带动就业1.2万人。")
    assert pick_sentences(query, [Hit(1, 1.0, wrong)], semantic=lambda q, ss: [0.95] * len(ss)) == []


def test_a_fill_in_question_is_answered_by_the_phrases_that_fill_its_blank() -> None:
    blank = cloze("余杭提出要建成哪三个未来什么地")
    sentence = "聚焦打造面向世界、引领未来、服务全国、辐射全省的未来城市样板地、未来科技策源地、未来产业引领地,纵深推进"
    assert blank is not None and len(blank.findall(sentence)) == 3
    assert cloze("余杭三大产业平台各自聚焦什么产业").search("钱江经济开发区聚焦智能制造,大力发展新材料、新装备、新能源产业")
    assert cloze("什么是GDP") is None and cloze("他是什么时候出生的") is None


def test_a_task_row_states_its_figure_in_its_requirement() -> None:
    cells = (("工作目标", "大力提升源头创新能力"), ("序号", "13"),
             ("内容及要求", "深入实施“5050”政策,着力培养造就一批战略科学家、一流科技领军人才和创新团队,"
                          "新培育省级以上科技领军人才50人,新引进各类人才4万人以上。"),
             ("牵头单位", "组织部(人才办)"), ("截至6月底完成情况", "序时推进"))
    row = _chunk("b#13", " | ".join(f"{h}: {v}" for h, v in cells), region="滨江区", kind="table_row", cells=cells,
                 years=(2025,))
    query = parse_query("滨江2025年新引进人才目标是多少", REGIONS)
    lead = lead_line(query, Sentence(Hit(1, 1.0, row), row.display_text, 1.0, row.body))
    assert lead is not None and lead.figure == "4万人" and "新引进各类人才4万人以上" in lead.text


def test_a_level_target_under_a_percent_column_is_read_in_the_rows_unit_when_near_the_result() -> None:
    headers = ("指标名称", "2021年实绩·绝对值(亿元)", "2021年实绩·增幅(%)", "区年度目标(%)", "市下达年度目标(%)")
    fdi = _chunk("b#1", "", region="滨江区", kind="table_row",
                 cells=tuple(zip(headers, ("实际利用外资(亿美元)", "9.1", "—", "9", "7.5"))), years=(2021,))
    records = records_from_row(fdi)
    assert [(r.target, r.status) for r in records] == [("9", EXCEEDED), ("7.5", EXCEEDED)]
    assert "目标按亿美元读" in records[0].status_basis
    gdp = _chunk("b#2", "", region="滨江区", kind="table_row",
                 cells=tuple(zip(headers, ("地区生产总值(亿元)", "2022.6", "—", "8", "—"))), years=(2021,))
    assert [r.status for r in records_from_row(gdp)] == [UNKNOWN]  # 8 beside 2022.6 is a rate: not compared


def test_a_task_not_begun_and_the_target_column_a_question_names() -> None:
    assert status_from_text("", "此项工作将于今年下半年开展").status == NOT_STARTED
    assert status_from_text("", "序时推进，将于9月启动二期").status != NOT_STARTED
    asked = match_status_question(parse_query("滨江2025年哪些任务到6月底还没开始", REGIONS))
    assert asked is not None and asked.statuses == (NOT_STARTED,) and asked.tasks
    city = match_status_question(parse_query("滨江2021年哪些指标超过了市里下达的目标", REGIONS))
    headers = ("指标名称", "2021年实绩·绝对值(亿元)", "2021年实绩·增幅(%)", "区年度目标(%)", "市下达年度目标(%)")
    row = _chunk("b#3", "", region="滨江区", kind="table_row",
                 cells=tuple(zip(headers, ("地区生产总值", "2022.6", "11.3", "7.5%以上, 力争8%", "8"))), years=(2021,))
    chosen = select_records(city, records_from_row(row))
    assert [r.target_source for r in chosen] == ["市下达年度目标(%)"]


def test_the_asked_list_may_be_a_documents_parts_or_any_heading_of_a_top_document() -> None:
    parts = [_chunk(f"s#{i}", f"任务{i}。", region="滨江区", crumbs=(name,), years=(2025,))
             for i, name in enumerate(["一、致力提升技术策源力,在高水平科技供给上闯出新路",
                                       "二、致力提升开放引领力,在营造便利化环境上做出典范",
                                       "三、致力提升产业竞争力,在壮大新质生产力上作出示范"])]
    answer = answer_list(parse_query("滨江2025年重点工作分哪几个致力提升", REGIONS), [Hit(1, 1.0, parts[0])],
                         Lister(parts))
    assert answer is not None and all(name in answer.text for name in ("技术策源力", "开放引领力", "产业竞争力"))

    review = "一、2022国民经济和社会发展计划执行情况"
    body = [_chunk(f"g#{i}", f"工作{i}。", region="拱墅区", crumbs=(review, name), years=(2022,))
            for i, name in enumerate(["(一)改革创新掷地有声", "(二)产业转型稳进提质", "(三)城市面貌精彩蝶变"])]
    annex = _chunk("g#9", "附件:2022年拱墅区主要指标(工作)执行情况表", region="拱墅区", kind="heading",
                   crumbs=("附件",), years=(2022,))
    answer = answer_list(parse_query("拱墅2022年计划执行情况分成哪几块来写", REGIONS), [Hit(1, 1.0, annex)],
                         Lister([*body, annex]))
    assert answer is not None and "改革创新" in answer.text and "城市面貌" in answer.text


def test_a_quoted_name_identifies_what_is_asked_and_a_list_not_naming_it_is_another() -> None:
    assert names_quoted(quoted_names("福建2026年政府自身建设提出哪几个“始终把……作为”"), "（一）始终把忠诚作为为政之魂。")
    review = ("一、2024年工作回顾", "(五)全力推进生态文明建设,生态优势持续巩固")
    passage = _chunk("gz#1", "打好污染防治攻坚战。大力实施城乡生态环保设施补短板、工业固废综合治理、重点河湖污染治理和秸杆综合利用"
                             "“四大攻坚突破”，新增城镇生活污水处理能力18.92万吨/日。", region="贵州省", crumbs=review,
                     years=(2024, 2025))
    query = parse_query("贵州2025年生态环保“四大攻坚突破”指什么", ["贵州省"])
    picked = pick_sentences(query, [Hit(1, 1.0, passage)])
    assert picked and "工业固废综合治理" in picked[0].display  # filed under 2024's review, named all the same

    parts = [_chunk(f"jx#{i}", f"工作{i}。", region="江西省", crumbs=(name,), years=(2025,))
             for i, name in enumerate(["一、2024年工作回顾", "二、2025年工作安排", "附件"])]
    named = _chunk("jx#9", "13.“三大工程”建设：保障性住房建设、“平急两用”公共基础设施建设、城中村改造。", region="江西省",
                   crumbs=("附件",), years=(2025,))
    assert answer_list(parse_query("江西2025年报告里的“三大工程”建设指哪三项", ["江西省"]), [Hit(1, 1.0, named)],
                       Lister([*parts, named])) is None  # the report's three parts are not the three projects


def test_another_indicators_figure_is_not_the_answer() -> None:
    """Held-out questions the reports do not answer, once answered with a neighbouring indicator's figure."""
    cases = [
        ("贵州2025年茅台酒产量是多少吨？", "新能源汽车产量突破25万辆。"),  # what is counted differs (and the unit)
        ("辽宁2025年出生人口是多少？", "去年常住人口省际净流入4.5万人。"),
        ("四川2025年森林覆盖率是多少？", "加强“天府森林四库”建设,林草产业产值年均增长超10%。"),  # a growth, not a level
        ("广东2025年末常住人口一共有多少？", "全省常住人口城镇化率提高到76.58%、居各省区首位。"),  # a rate's name
    ]
    regions = ["贵州省", "辽宁省", "四川省", "广东省"]
    for question, sentence in cases:
        assert not fits_indicator(parse_query(question, regions), sentence), question
    assert fits_indicator(parse_query("贵州2026年常住人口城镇化率目标", regions), "常住人口城镇化率达59%左右。")
    assert fits_indicator(parse_query("吉林2025年粮食总产量是多少", ["吉林省"]), "粮食总产达到857.5亿斤。")
    assert fits_indicator(parse_query("2025年国务院政府工作报告赤字率安排是多少", []),
                          "今年赤字率拟按4%左右安排、比上年提高1个百分点,赤字规模5.66万亿元。")


def test_a_city_jieba_reads_as_a_transliterated_name_is_still_a_place() -> None:
    query = parse_query("拉萨2025年接待游客多少人次？", ["西藏自治区", "海南省"])
    assert query.unknown_places == frozenset({"拉萨"})
    assert not parse_query("卢安达的首都是哪里", ["西藏自治区"]).places


def test_an_everyday_question_keeps_its_one_character_noun_and_drops_its_fillers() -> None:
    assert "煤" in parse_query("内蒙古2024年一年从地底下挖出来多少煤？", ["内蒙古自治区"]).topic
    assert "电" in parse_query("陕西2024年往外省输出去了多少度电？", ["陕西省"]).topic
    assert parse_query("滨江2021年新增多少人", REGIONS).topic == ("新增",)  # 人 counts, it is not asked about
    assert not {"一年", "那些", "到底"} & set(parse_query("上海2025年那些颗粒一年到底有多少", ["上海市"]).topic)
