"""The lexicon and the zh primitives: one loader, data in the fingerprint, patterns shared by all stages."""

from __future__ import annotations

from rag.index.build import build_sources, pipeline_fingerprint
from rag.lexicon import data_files, lexicon
from rag.zh import char_bigrams, expand_two_digit_years, normalize_query, to_search_text, tokenize, years_in


def test_lexicon_loads_its_data_once():
    lex = lexicon()
    assert lex is lexicon()
    assert "地区生产总值" in lex.synonyms["gdp"]
    assert lex.expansions("滨江GDP多少") == ["地区生产总值"]
    assert lex.status.says[0][1] == lex.status.not_done  # 「未完成」 is tried before 「完成」
    assert lex.boilerplate_line.match("信息索引号：002489-2022-00012")
    assert lex.user_dict.is_file()


def test_every_build_time_file_is_in_the_fingerprint():
    names = {p.as_posix().split("/rag/", 1)[1] for p in build_sources()}
    for required in ("ingest/clean.py", "ingest/metadata.py", "ingest/formats.py", "ingest/load.py",
                     "chunking/walker.py", "chunking/tables.py", "facts/extract.py", "zh.py",
                     "lexicon/data/lexicon.toml", "lexicon/data/userdict.txt", "lexicon/data/places.tsv"):
        assert required in names, required
    assert set(data_files()) <= set(build_sources())
    assert len(pipeline_fingerprint()) == 16


def test_zh_primitives_on_real_snippets():
    assert expand_two_digit_years("滨江21年GDP") == "滨江2021年GDP"
    assert years_in("2021年实现地区生产总值2502.2亿元") == {2021}
    assert normalize_query("  餘杭２０２１年  ") == "余杭2021年"
    assert len(to_search_text("區(qū)劃調整")) == len("區(qū)劃調整")
    assert tokenize("余杭区2021年实现地区生产总值2502.2亿元") == ["余杭区", "2021", "实现", "地区生产总值", "2502.2", "亿元"]
    # bigrams bridge segmentation choices: 网络零售额 and 网上零售 share 零售
    assert set(char_bigrams("网络零售额")) & set(char_bigrams("网上零售")) == {"零售"}
    assert char_bigrams("增长7.5% GDP") == ["增长", "7.5%", "gdp"]


def test_report_synonyms_are_read_both_ways_but_a_part_is_no_synonym() -> None:
    from rag.facts.values import normalize_indicator
    from rag.lexicon import lexicon

    lex = lexicon()
    assert set(lex.related("实际利用外资")) == {"实到外资", "实际使用外资"}  # the seeds' 实到外资11.75亿美元
    assert "外资" not in lex.related("实际利用外资") and lex.related("新增城镇就业") == ()
    # tables keep their own names: a user's word maps to the table's, never the other way round
    assert normalize_indicator("实际利用外资(亿美元)") == "实际利用外资" == normalize_indicator("实到外资")
