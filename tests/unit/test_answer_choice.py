"""Choosing what an extractive answer shows (issue 15): what the question asks for, declining, following lists.

Small hand-made passages in the seeds' style; no model, no index.
"""

from __future__ import annotations

from rag.answer.extractive import (
    Sentence,
    _row_line,
    compose,
    list_items,
    pick_sentences,
    wants_number,
)
from rag.answer.lists import Lister, answer_list
from rag.answer.router import AnswerRouter
from rag.config import Settings
from rag.records import Chunk, Hit
from rag.search.query import parse_query

REGIONS = ["滨江区", "余杭区", "拱墅区", "钱塘新区"]


def _chunk(cid: str, text: str, *, region: str = "拱墅区", kind: str = "text", crumbs: tuple[str, ...] = (),
           cells: tuple = (), years: tuple[int, ...] = (2022, 2023)) -> Chunk:
    return Chunk(cid, cid.split("#")[0], kind, 0, len(text), text, text, breadcrumb=crumbs, display_breadcrumb=crumbs,
                 region=region, years=years, cells=cells, search_cells=cells)


def _hits(*chunks: Chunk) -> list[Hit]:
    return [Hit(i + 1, 1.0, c) for i, c in enumerate(chunks)]


def test_a_question_asking_for_measures_or_a_list_does_not_ask_for_a_number() -> None:
    assert wants_number(parse_query("滨江2022年GDP增长目标是多少", REGIONS))
    assert wants_number(parse_query("湖北2024年经济体量有多大", REGIONS))
    assert wants_number(parse_query("滨江2021年和拱墅2022年新增国家高新技术企业数量", REGIONS))
    assert not wants_number(parse_query("滨江如何优化营商环境,2022年有什么打算", REGIONS))
    assert not wants_number(parse_query("滨江2022年围绕目标重点抓哪几方面工作", REGIONS))


def test_a_measure_question_gets_the_whole_paragraph_and_its_continuation() -> None:
    crumbs = ("三、主要措施", "5.持续优化营商环境")
    first = _chunk("d#1", "5.持续优化营商环境。实施营商环境优化提升“一号改革工程”,建立清单化工作机制。推动数字赋能营商环境建设。",
                   crumbs=crumbs)
    rest = _chunk("d#2", "进一步提升政务服务,积极打造“1call”服务平台。", crumbs=crumbs)
    router = AnswerRouter(Settings(), [], [first, rest], semantic_sentences=False)
    answer, lead = router.extractive(parse_query("拱墅2023年优化营商环境有哪些措施", REGIONS), _hits(first))
    assert lead is None and answer.found
    assert "一号改革工程" in answer.text and "1call" in answer.text  # the section goes on in the next passage


def test_announced_items_are_the_child_headings_not_their_first_sentences() -> None:
    top = ("三、2026年重点工作",)
    intro = _chunk("d#1", "围绕以上目标，重点抓好八个方面工作。", crumbs=top)
    children = [_chunk(f"d#{i + 2}", f"具体工作{i}。", crumbs=(*top, name, sub))
                for i, (name, sub) in enumerate([("(一)立足长治久安,建设平安西藏", "维护稳定"),
                                                 ("(一)立足长治久安,建设平安西藏", "民族团结"),
                                                 ("(二)立足扩大内需,推动经济发展", "释放政策效能")])]
    router = AnswerRouter(Settings(), [], [intro, *children], semantic_sentences=False)
    sentence = Sentence(Hit(1, 1.0, intro), intro.display_text, 1.0, intro.body, 0)
    shown = [d for _h, d, _s in list_items(sentence, router.chunks_after)]
    assert shown == ["(一)立足长治久安,建设平安西藏", "(二)立足扩大内需,推动经济发展"]


def test_a_targets_question_lists_the_targets_after_their_opening_sentence() -> None:
    text = ("今年经济社会发展主要预期目标为：全省生产总值增长5%—5.5%；城镇调查失业率5%以内；"
            "居民消费价格涨幅2%左右；居民收入增长和经济增长同步。")
    chunk = _chunk("z#1", text, region="浙江省", years=(2026,))
    query = parse_query("浙江2026年经济社会发展主要预期目标有哪些", ["浙江省"])
    answer, _lead = compose(query, _hits(chunk))
    for target in ("5%—5.5%", "5%以内", "2%左右", "同步"):
        assert target in answer.text


def test_a_figure_that_is_not_out_yet_is_declined_with_the_passage_that_says_so() -> None:
    cells = (("项目", "主要预期指标"), ("内容及要求", "地区生产总值增长5.6%。"),
             ("截至6月底完成情况", "该指标季度出数,二季度数据未出,一季度增速7.0%。"))
    row = _chunk("b#1", " | ".join(f"{h}: {v}" for h, v in cells), kind="table_row", cells=cells, region="滨江区",
                 years=(2025,))
    declined, _ = compose(parse_query("滨江2025年上半年GDP增长多少", REGIONS), _hits(row))
    assert not declined.found and declined.text.startswith("未在文档中找到") and "二季度数据未出" in declined.text
    answered, _ = compose(parse_query("滨江2025年一季度GDP增长多少", REGIONS), _hits(row))
    assert answered.found  # the passage states the first quarter


def test_a_rate_column_keeps_its_own_unit_and_an_absolute_column_takes_the_rows() -> None:
    cells = (("指标名称", "固定资产投资(亿元)"), ("2021年实绩·绝对值(亿元)", "—"), ("2021年实绩·增幅(%)", "14.2"))
    row = _chunk("b#2", " | ".join(f"{h}: {v}" for h, v in cells), kind="table_row", region="滨江区", cells=cells,
                 years=(2021,))
    line, _figure = _row_line(parse_query("滨江2021年固定资产投资增长多少", REGIONS), row)
    assert "14.2%" in line and "14.2亿元" not in line
    cells = (("指标名称", "实际利用外资(亿美元)"), ("2021年实绩·绝对值(亿元)", "9.1"))
    row = _chunk("b#3", "实际利用外资 9.1", kind="table_row", region="滨江区", cells=cells, years=(2021,))
    line, figure = _row_line(parse_query("滨江2021年实际利用外资多少", REGIONS), row)
    assert figure == "9.1亿美元"


def test_a_row_of_rates_loses_to_a_sentence_stating_the_amount_asked() -> None:
    cells = (("指标名称", "固定资产投资(亿元)"), ("2021年实绩·绝对值(亿元)", "—"), ("2021年实绩·增幅(%)", "14.2"))
    row = _chunk("b#2", "指标名称: 固定资产投资(亿元) | 2021年实绩·绝对值(亿元): — | 2021年实绩·增幅(%): 14.2",
                 kind="table_row", region="滨江区", cells=cells, years=(2021,))
    text = _chunk("b#4", "重大项目稳步推进。全区固定资产投资302.9亿元,增长14.2%。", region="滨江区", years=(2021,))
    picked = pick_sentences(parse_query("滨江2021年固定资产投资是多少", REGIONS), _hits(row, text))
    assert picked and "302.9亿元" in picked[0].display


def test_a_report_wide_list_does_not_answer_a_question_about_one_topic() -> None:
    top = ("三、实现2023年目标的主要措施",)
    chunks = [_chunk(f"g#{i}", f"第{i}段。", crumbs=(*top, name)) for i, name in enumerate(
        ["(一)聚焦发展新活力,推进改革创新", "(二)聚焦增长新潜能,稳进提质", "(三)聚焦城区新形象,有机更新",
         "(四)聚焦共富新期待,惠民生"])]
    lister = Lister(chunks)
    hits = _hits(*chunks)
    assert answer_list(parse_query("拱墅2023年优化营商环境有哪些措施", REGIONS), hits, lister) is None
    listed = answer_list(parse_query("拱墅2023年主要措施从哪几个方面展开", REGIONS), hits, lister)
    assert listed is not None and "城区新形象" in listed.text


def test_a_list_whose_items_repeat_the_asked_word_answers() -> None:
    crumbs = ("一、2019年工作回顾",)
    items = [_chunk(f"q#{i}", text, kind="list_item", region="钱塘新区", crumbs=crumbs, years=(2019,))
             for i, text in enumerate(["——谋定了一批引领发展的规划计划。", "——引进了一批重大产业项目。",
                                       "——推进了一批战略合作项目。", "——建成了一批重点工程项目。"])]
    items = [Chunk(**{**c.__dict__, "list_id": items[0].chunk_id, "list_pos": i}) for i, c in enumerate(items)]
    listed = answer_list(parse_query("钱塘新区2019年打基础做成了哪几个一批", REGIONS), _hits(*items), Lister(items))
    assert listed is not None and all(w in listed.text for w in ("规划计划", "重大产业项目", "战略合作项目", "重点工程项目"))


def test_meaning_reorders_close_candidates_and_vetoes_an_unrelated_figure() -> None:
    chunk = _chunk("n#1", "全年新增城镇就业2.3万人。粮食总产量达到820.1亿斤。", region="余杭区", years=(2021,))
    hits = _hits(chunk)
    query = parse_query("余杭2021年地里打了多少粮", REGIONS)  # neither sentence holds 「地里」「打」「粮」 as words

    def by_meaning(_question, sentences):
        return [0.92 if "粮食" in s else 0.80 for s in sentences]

    picked = pick_sentences(query, hits, semantic=by_meaning)
    assert not picked or "820.1亿斤" in picked[0].display  # meaning puts the grain sentence first
    # a best sentence with little of the question's topic and far in meaning is not stated as the answer
    assert pick_sentences(parse_query("余杭2021年常住人口多少", REGIONS), hits,
                          semantic=lambda _q, s: [0.80] * len(s)) == []
    # meaning never turns a lexical decline into an answer
    assert pick_sentences(parse_query("余杭2021年出生率是多少", REGIONS), hits,
                          semantic=lambda _q, s: [0.99] * len(s)) == pick_sentences(
        parse_query("余杭2021年出生率是多少", REGIONS), hits)


def test_a_vetoed_best_is_replaced_by_a_candidate_close_in_meaning() -> None:
    chunk = _chunk("x#1", "统筹用好中央149.2亿元乡村振兴补助资金。全疆粮食总产466亿斤、粮食单产1050斤。",
                   region="余杭区", years=(2024,))
    query = parse_query("余杭2024年种粮一亩能打多少斤", REGIONS)

    def by_meaning(_question, sentences):
        return [0.93 if "粮食" in s else 0.80 for s in sentences]

    picked = pick_sentences(query, _hits(chunk), semantic=by_meaning)
    if picked:  # the lexical evidence may already decline; when it answers, the grain sentence leads
        assert "粮食" in picked[0].display


def test_the_lead_prefers_the_figure_in_the_unit_asked() -> None:
    from rag.answer.extractive import lead_line
    text = "全疆粮食播种面积4440万亩,粮食增产42.2亿斤,总产466亿斤,粮食单产1050斤。"
    chunk = _chunk("x#2", text, region="余杭区", years=(2024,))
    query = parse_query("余杭2024年种粮一亩能打多少斤", REGIONS)
    lead = lead_line(query, Sentence(Hit(1, 1.0, chunk), text, 1.0, text, 0))
    assert lead is not None and "1050斤" in lead.text and "42.2亿斤" not in lead.text


def test_a_passage_whose_place_was_only_guessed_answers_when_it_names_the_place_asked() -> None:
    # DRCD: a paragraph on Hong Kong companies whose region a mention count read as 自治区
    text = "根据富比士的资料显示,中国移动有限公司是在香港注册的公司中市值最高的一间。"
    guessed = _chunk("hk#1", text, region="广东省", years=())
    query = parse_query("在香港注册的公司中市值最高的公司是哪一家?", ["香港特别行政区", "广东省"])
    assert query.regions == {"香港特别行政区"}
    picked = pick_sentences(query, [Hit(1, 1.0, guessed, sure_metadata=False)])
    assert picked and "中国移动" in picked[0].display
    # the same words in a report whose title says it is about another place: never the answer for this one
    assert not pick_sentences(query, [Hit(1, 1.0, guessed, sure_metadata=True)])


def test_a_year_is_answered_with_its_own_figure_not_a_summary_of_five_years() -> None:
    # 2026 Ningxia report: the five years' summary and the year's result in one section
    summary = _chunk("nx#1", "地区生产总值跨越5000亿元大关，年均增长5.7%。", region="宁夏回族自治区", years=(2025, 2026))
    year = _chunk("nx#2", "全年实现地区生产总值5696亿元，增长5.3%，超过全国平均水平。", region="宁夏回族自治区",
                  years=(2025, 2026))
    query = parse_query("宁夏2025年地区生产总值是多少", ["宁夏回族自治区"])
    picked = pick_sentences(query, [Hit(1, 1.0, summary, sure_metadata=True), Hit(2, 0.9, year, sure_metadata=True)])
    assert "5696亿元" in picked[0].display


def test_a_who_question_prefers_the_sentence_that_names_a_person() -> None:
    # the Yuhang seed: the report's byline, not the sentence that says a report is given
    given = _chunk("yh#1", "现在,我代表区人民政府向大会报告工作,请予审议。", region="余杭区")
    byline = _chunk("yh#2", "杭州市余杭区人民政府代区长  王牮", region="余杭区")
    query = parse_query("余杭区政府工作报告是谁作的", REGIONS)
    picked = pick_sentences(query, [Hit(1, 1.0, given, sure_metadata=True), Hit(2, 0.9, byline, sure_metadata=True)])
    assert any("王牮" in s.display for s in picked)


def test_a_part_of_a_question_is_answered_only_by_a_sentence_on_its_own_indicator() -> None:
    # the Gongshu seed reports new urban jobs but no registered unemployment rate
    jobs = _chunk("gs#1", "坚持就业优先战略,建成数字就业服务应用场景,新增城镇就业3.4万人。")
    query = parse_query("拱墅2022年新增就业和城镇登记失业率分别是多少", REGIONS)
    first, second = query.parts
    assert pick_sentences(first, [Hit(1, 1.0, jobs, sure_metadata=True)], veto=False)
    assert not pick_sentences(second, [Hit(1, 1.0, jobs, sure_metadata=True)], veto=False)
    # a report's own wording of the indicator still answers: 「粮食产量」 in 「粮食生产…总产达到557亿斤」
    grain = _chunk("hb#1", "克服雨雪冰冻等严重灾害影响,粮食生产再获丰收,总产达到557亿斤。", region="湖北省", years=(2024, 2025))
    part = parse_query("湖北2024年粮食产量多少", ["湖北省"])
    assert pick_sentences(part, [Hit(1, 1.0, grain, sure_metadata=True)], veto=False)
