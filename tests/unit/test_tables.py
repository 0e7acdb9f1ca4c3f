"""Table parsing on real snippets of the seeds (pipe tables of 000 and 003, the flattened annex of 001)."""

from __future__ import annotations

from rag.chunking.tables import (
    column_name,
    find_flat_table,
    is_pipe_line,
    parse_pipe_table,
    pipe_cells,
    render_cells,
    row_cells,
)


def _lines(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def _values(text: str, row) -> list[str]:
    return ["" if c is None else text[c[0] : c[1]] for c in row.cells]


# Seed 000: a two-row header whose 2021年实绩 spans 绝对值 and 增幅.
TABLE_000 = (
    "指标名称 | 2021年实绩 | 区年度目标(%) | 市下达年度目标(%) | |\n"
    "绝对值 (亿元) | 增幅 (%) | |||\n"
    "地区生产总值 | 2022.6 | 11.3 | 7.5%以上, 力争8% | 8 |\n"
    "实际利用外资(亿美元) | 9.1 | — | 9 | 7.5 |"
)

# Seed 003: 项目 merged over rows (rows starting at 序号), then a header repeated at a page break
# that renames the first column.
TABLE_003 = (
    "项目 | 序号 | 内容及要求 | 牵头单位 | 配合单位 | 截至6月底完成情况 |\n"
    "主要预期指标 | 1 | 地区生产总值增长5.6%。 | 发改局 | 经信局、财政局 | 二季度数据未出 |\n"
    "2 | 一般公共预算收入与经济增长同步。 | 财政局 | 税务局 | 1-6月,一般公共预算收入达到163.4亿元。 | |\n"
    "工作目标 | 序号 | 内容及要求 | 牵头单位 | 配合单位 | 截至6月底完成情况\n"
    "大力提升源头创新能力 | 8 | 持续建强战略科技力量。 | 科技局 | 经信局 | 序时推进 |\n"
    "9 | 加快推动极弱磁大科学装置本体开工。 | 零磁谷·科学城规划建设指挥部 | 发改局 | 序时推进 | |\n"
    "10 | 全力争取国家重点研发专项。 | 科技局 | | | |"
)

# Seed 001's annex: one cell per line, blank lines between, a group label before rows 1 and 3, a
# missing 备注 in row 3, and an index number and date after the last row.
FLAT_001 = """序号

指标名称

年度目标

2022年完成情况

备 注

完成

目标

完成率(%)

主要预期目标

1

地区生产总值增长

7%

1.5%

低于目标5.5个百分点

占比91%左右的服务业基本盘受疫情冲击较大

2

地方一般公共预算收入

与经济增长同步

13.6%

完成目标

扣除留抵退税因素增长13.6%

其它指标

3

规上工业增加值增长

3%

2.4%

低于目标0.6个百分点

4

企业上市(家)

4

1

25%

楚环科技已上市。

5

新增就业(万人)

3

3.4

113.3%

00250027-9/2023-27322

2023-05-11"""


def test_pipe_cells_drop_trailing_empties():
    line = "2 | 一般公共预算收入 | 财政局 | 税务局 | 达到163.4亿元。 | |"
    assert is_pipe_line(line)
    assert [line[s:e] for s, e in pipe_cells(line, 0, len(line))] == [
        "2",
        "一般公共预算收入",
        "财政局",
        "税务局",
        "达到163.4亿元。",
    ]


def test_two_row_header_is_combined():
    table, _ = parse_pipe_table(TABLE_000, _lines(TABLE_000))
    names = [column_name(TABLE_000, c) for c in table.columns]
    assert names == ["指标名称", "2021年实绩·绝对值(亿元)", "2021年实绩·增幅(%)", "区年度目标(%)", "市下达年度目标(%)"]
    assert len(table.rows) == 2
    assert render_cells(row_cells(TABLE_000, table.columns, table.rows[0])) == (
        "指标名称: 地区生产总值 | 2021年实绩·绝对值(亿元): 2022.6 | 2021年实绩·增幅(%): 11.3 | "
        "区年度目标(%): 7.5%以上, 力争8% | 市下达年度目标(%): 8"
    )


def test_merged_cells_are_realigned_and_filled_down():
    table, _ = parse_pipe_table(TABLE_003, _lines(TABLE_003))
    assert [_values(TABLE_003, r)[1] for r in table.rows] == [
        "1",
        "2",
        "8",
        "9",
        "10",
    ]  # the repeated header is skipped
    row2 = _values(TABLE_003, table.rows[1])
    assert row2[:4] == ["主要预期指标", "2", "一般公共预算收入与经济增长同步。", "财政局"]
    assert table.rows[1].filled[0] and not table.rows[0].filled[0]
    row9 = _values(TABLE_003, table.rows[3])
    assert row9[0] == "大力提升源头创新能力" and row9[3] == "零磁谷·科学城规划建设指挥部"
    assert _values(TABLE_003, table.rows[4])[:4] == [
        "大力提升源头创新能力",
        "10",
        "全力争取国家重点研发专项。",
        "科技局",
    ]
    # the header printed again renamed the first column
    assert column_name(TABLE_003, table.columns[0]) == "工作目标"


def test_a_table_continues_after_a_heading_with_its_header_and_fill_down():
    first = "项目 | 序号 | 内容及要求 | 牵头单位 | 配合单位 | 完成情况 |\n甲项目 | 1 | 做甲。 | 发改局 | / | 序时推进 |"
    rest = "\n一、标题\n乙目标 | 2 | 做乙。 | 科技局 | / | 序时推进 |\n3 | 做丙。 | 卫生健康局 | / | 序时推进 | |"
    text = first + rest
    lines = _lines(text)
    _, state = parse_pipe_table(text, lines[:2])
    table, _ = parse_pipe_table(text, lines[3:], state)
    assert render_cells(row_cells(text, table.columns, table.rows[1])) == (
        "项目: 乙目标 | 序号: 3 | 内容及要求: 做丙。 | 牵头单位: 卫生健康局 | 配合单位: / | 完成情况: 序时推进"
    )


def test_flattened_table_is_rebuilt_into_rows():
    lines = [span for span in _lines(FLAT_001) if FLAT_001[span[0] : span[1]].strip()]
    table, after = find_flat_table(FLAT_001, lines, 0)
    names = [column_name(FLAT_001, c) for c in table.columns]
    assert names == ["序号", "指标名称", "年度目标", "2022年完成情况·完成", "2022年完成情况·目标完成率(%)", "备注"]
    rows = [_values(FLAT_001, r) for r in table.rows]
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0][1:5] == ["地区生产总值增长", "7%", "1.5%", "低于目标5.5个百分点"]
    assert rows[2] == ["3", "规上工业增加值增长", "3%", "2.4%", "低于目标0.6个百分点", ""]
    assert rows[3][5] == "楚环科技已上市。"
    assert rows[4] == ["5", "新增就业(万人)", "3", "3.4", "113.3%", ""]
    groups = [FLAT_001[r.group[0] : r.group[1]] for r in table.rows]
    assert groups == ["主要预期目标", "主要预期目标", "其它指标", "其它指标", "其它指标"]
    # the index number and the date after the last row are not part of the table
    assert [FLAT_001[s:e] for s, e in lines[after:]] == ["00250027-9/2023-27322", "2023-05-11"]
    assert FLAT_001[table.start : table.end].endswith("113.3%")


def test_a_lone_serial_line_is_no_table():
    text = "序号\n\n说明文字,没有编号的行。"
    lines = [span for span in _lines(text) if text[span[0] : span[1]].strip()]
    assert find_flat_table(text, lines, 0) is None
