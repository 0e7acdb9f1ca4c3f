"""Check eval/corpus/questions.jsonl against a documents folder written by prepare.py.

    python eval/corpus/verify.py DIR [--questions PATH] [--dump FOLDER]

Errors (exit status 1): malformed lines, duplicate ids, an id prefix that does not match the kind,
an unknown kind, a gold document missing from DIR, an evidence or answer string that is not a
substring of any gold document after normalisation (NFKC, OpenCC t2s, pinyin ruby removed,
whitespace removed), evidence that is too long or spans a line, unanswerable questions with gold
documents, evidence or answers.
Warnings (for a human to check): an unanswerable question whose place name occurs in some
document together with the indicator it asks about; an evidence string found in non-gold
documents too.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
KIND_PREFIX = {
    "number": "cnum-",
    "target": "ctgt-",
    "list": "clist-",
    "paraphrase": "cpar-",
    "cross_province": "cx-",
    "national": "cnat-",
    "unanswerable": "cuna-",
}
COVERED_YEARS = ("2023", "2024", "2025", "2026")
DOC_SUFFIXES = (".txt", ".md", ".csv", ".docx")

# --- reading ----------------------------------------------------------------------------------


def read_docx(path: Path) -> str:
    import docx  # python-docx, installed in the project venv

    document = docx.Document(str(path))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                lines.append(cell.text)
    return "\n".join(lines)


def read_csv(path: Path) -> str:
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header = [h.strip().lower() for h in rows[0]]
    col = header.index("full_text") if "full_text" in header else len(header) - 1
    title = header.index("title") if "title" in header else None
    parts = []
    for row in rows[1:]:
        if title is not None and title < len(row):
            parts.append(row[title])
        if col < len(row):
            parts.append(row[col])
    return "\n".join(parts)


def read_document(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".docx":
        return read_docx(path)
    if suffix == ".csv":
        return read_csv(path)
    return path.read_text(encoding="utf-8-sig")


def load_documents(folder: Path) -> dict[str, str]:
    """doc id (relative path without suffix) -> raw text."""
    docs = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in DOC_SUFFIXES and not path.name.startswith("."):
            rel = path.relative_to(folder)
            if rel.name.lower() == "readme.md":
                continue
            docs[rel.with_suffix("").as_posix()] = read_document(path)
    return docs


# --- normalisation ----------------------------------------------------------------------------
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"
_SYLLABLE = re.compile(rf"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?[aeiouv{_TONED}]{{1,3}}(?:ng|n|r)?")
_RUBY = re.compile(rf"(?<=[\u3400-\u9fff])[(（]([a-z{_TONED}]{{1,7}})[)）]")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def strip_ruby(text: str) -> str:
    return _RUBY.sub(lambda m: "" if _SYLLABLE.fullmatch(m.group(1)) else m.group(0), text)


def normalize(text: str, keep_lines: bool = False) -> str:
    text = _t2s().convert(unicodedata.normalize("NFKC", strip_ruby(text)))
    if keep_lines:
        return "\n".join(re.sub(r"\s+", "", line) for line in text.splitlines())
    return re.sub(r"\s+", "", text)


# --- unanswerable checks ----------------------------------------------------------------------
# indicator words a question may ask about -> the forms a document would use
INDICATORS = {
    "地区生产总值": ("地区生产总值", "GDP", "生产总值"),
    "GDP": ("地区生产总值", "GDP", "生产总值"),
    "生产总值": ("地区生产总值", "GDP", "生产总值"),
    "经济总量": ("地区生产总值", "GDP", "生产总值", "经济总量"),
    "粮食产量": ("粮食产量", "粮食总产", "粮食"),
    "粮食": ("粮食产量", "粮食总产", "粮食"),
    "财政收入": ("一般公共预算收入", "财政收入", "财政总收入"),
    "一般公共预算收入": ("一般公共预算收入", "财政收入"),
    "进出口": ("进出口", "外贸"),
    "外贸": ("进出口", "外贸"),
    "出口": ("出口",),
    "可支配收入": ("可支配收入",),
    "收入": ("可支配收入",),
    "城镇新增就业": ("城镇新增就业", "新增就业"),
    "就业": ("城镇新增就业", "新增就业"),
    "失业率": ("失业率",),
    "固定资产投资": ("固定资产投资",),
    "投资": ("固定资产投资",),
    "社会消费品零售总额": ("社会消费品零售总额", "社零"),
    "社零": ("社会消费品零售总额", "社零"),
    "消费": ("社会消费品零售总额",),
    "游客": ("游客", "接待"),
    "旅游": ("游客", "旅游收入", "旅游总收入"),
    "研发": ("研发", "R&D"),
    "研究与试验发展": ("研发", "研究与试验发展", "R&D"),
    "人口": ("常住人口", "人口"),
    "房价": ("房价",),
    "专利": ("专利",),
    "高新技术企业": ("高新技术企业",),
    "专精特新": ("专精特新",),
    "工业增加值": ("工业增加值",),
    "居民消费价格": ("居民消费价格", "CPI"),
    "PM2.5": ("PM2.5", "细颗粒物"),
    "空气质量": ("空气质量", "优良天数"),
    "森林覆盖率": ("森林覆盖率",),
    "城镇化率": ("城镇化率",),
    "货物吞吐量": ("吞吐量",),
    "吞吐量": ("吞吐量",),
    "中欧班列": ("中欧班列",),
    "外资": ("外资",),
    "出生": ("出生人口", "出生率", "新生儿"),
    "养老": ("养老",),
    "地铁": ("地铁", "轨道交通"),
    "新能源汽车": ("新能源汽车",),
    "数字经济": ("数字经济",),
    "赤字": ("赤字",),
    "债券": ("债券", "专项债"),
    "专项债": ("专项债",),
    "棉花": ("棉花",),
    "平均工资": ("平均工资", "工资"),
    "工资": ("平均工资", "工资"),
    "赤字率": ("赤字率", "赤字"),
    "增长目标": ("预期目标", "增长"),
}
_PLACE = re.compile(
    r"[\u4e00-\u9fff]{1,6}?(?:工业园区|高新区|开发区|新区|自治州|地区|盟|市|区|县|州|岛)"
)
_PROVINCES = (
    "北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江", "安徽",
    "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆", "四川", "贵州",
    "云南", "西藏", "陕西", "甘肃", "青海", "宁夏", "新疆", "全国", "滨江", "余杭", "拱墅", "钱塘",
)


def place_names(question: str) -> list[str]:
    names = []
    for m in _PLACE.finditer(question):
        word = m.group(0)
        if len(word) >= 2 and not word.endswith(("地区", "全区")):
            names.append(word)
            short = re.sub(r"(?:工业园区|高新区|开发区|新区|自治州|市|区|县|州)$", "", word)
            if len(short) >= 2:
                names.append(short)
    names += [p for p in _PROVINCES if p in question]
    return list(dict.fromkeys(names))


def indicator_forms(question: str) -> list[str]:
    forms = []
    for key, values in INDICATORS.items():
        if key in question:
            forms.extend(values)
    return list(dict.fromkeys(forms))


def cooccurrences(place: str, forms: list[str], years: list[str], docs_lines: dict[str, list[str]],
                   window: int = 30) -> list[str]:
    """Sentences that could answer an 'unanswerable' question.

    A place that names a province (or 全国/国务院) is checked in that province's (the national)
    documents: a sentence holding the indicator and the asked year. Any other place (a city, a
    district) is checked everywhere: the indicator within `window` characters of the place name.
    """
    hits = []
    national = place in ("全国", "国务院")
    province = place in _PROVINCES and not national
    for doc_id, lines in docs_lines.items():
        own = (national and doc_id.startswith("national/")) or (province and place in doc_id)
        if national and not own:
            continue
        for line in lines:
            for sentence in re.split(r"[。；！？;]", line):
                if own:
                    if any(f in sentence for f in forms) and (not years or any(y in sentence for y in years)):
                        hits.append(f"{doc_id}: …{sentence[:160]}…")
                    continue
                start = sentence.find(place)
                while start >= 0:
                    around = sentence[max(0, start - window): start + len(place) + window]
                    if any(f in around for f in forms) and (not province or not years or any(y in sentence for y in years)):
                        hits.append(f"{doc_id}: …{around}…")
                        break
                    start = sentence.find(place, start + 1)
    return hits


# --- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="check the corpus evaluation questions")
    parser.add_argument("docs", type=Path, help="documents folder written by prepare.py")
    parser.add_argument("--questions", type=Path, default=HERE / "questions.jsonl")
    parser.add_argument("--dump", type=Path, help="also write each document's normalised text here (for grepping)")
    parser.add_argument("--quiet-warnings", action="store_true", help="count warnings without printing them")
    args = parser.parse_args(argv)

    raw = load_documents(args.docs)
    if not raw:
        print(f"ERROR: no documents under {args.docs}")
        return 1
    norm = {d: normalize(t) for d, t in raw.items()}
    lines = {d: [line for line in normalize(t, keep_lines=True).split("\n") if line] for d, t in raw.items()}
    if args.dump:
        for doc_id, text in lines.items():
            dest = args.dump / (doc_id + ".txt")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text("\n".join(text) + "\n", encoding="utf-8")

    errors: list[str] = []
    warnings: list[str] = []
    seen: set[str] = set()
    kinds: Counter = Counter()
    provinces: set[str] = set()
    with open(args.questions, encoding="utf-8") as fh:
        rows = []
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rows.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                errors.append(f"line {n}: not JSON ({exc})")

    for n, q in rows:
        where = f"line {n} {q.get('id', '?')}"
        missing = [k for k in ("id", "question", "kind", "gold_docs", "evidence", "answer") if k not in q]
        if missing:
            errors.append(f"{where}: missing field(s) {missing}")
            continue
        qid, kind = q["id"], q["kind"]
        kinds[kind] += 1
        if qid in seen:
            errors.append(f"{where}: duplicate id")
        seen.add(qid)
        if kind not in KIND_PREFIX:
            errors.append(f"{where}: unknown kind {kind!r}")
            continue
        if not re.fullmatch(re.escape(KIND_PREFIX[kind]) + r"\d{3}", qid):
            errors.append(f"{where}: id should be {KIND_PREFIX[kind]}NNN for kind {kind}")
        for p in _PROVINCES:
            if p in q["question"]:
                provinces.add(p)
        gold, evidence, answer = q["gold_docs"], q["evidence"], q["answer"]
        if not all(isinstance(x, list) for x in (gold, evidence, answer)):
            errors.append(f"{where}: gold_docs, evidence and answer must be lists")
            continue
        if kind == "unanswerable":
            if gold or evidence or answer:
                errors.append(f"{where}: unanswerable questions take empty gold_docs, evidence and answer")
            places = place_names(q["question"])
            if "国务院" in q["question"] or "全国" in q["question"]:
                places = ["全国"]
            forms = indicator_forms(q["question"])
            # a year the reports cover (2024 results, 2025/2026 results and targets) is not required
            # in the sentence; an uncovered year (2019 …) must appear next to the indicator
            years = [y for y in re.findall(r"(?:19|20)\d\d", q["question"]) if y not in COVERED_YEARS]
            if not places or not forms:
                warnings.append(f"{where}: could not tell place ({places}) or indicator ({forms}) to check")
            for place in places:
                for hit in cooccurrences(normalize(place), [normalize(f) for f in forms], years, lines)[:3]:
                    warnings.append(f"{where}: {place!r} with {forms[:3]} in {hit}")
            continue
        if not gold or not evidence or not answer:
            errors.append(f"{where}: answerable questions need gold_docs, evidence and answer")
        for doc in gold:
            if doc not in norm:
                errors.append(f"{where}: gold doc {doc!r} not in {args.docs}")
        gold_texts = [norm[d] for d in gold if d in norm]
        gold_lines = [line for d in gold if d in lines for line in lines[d]]
        if kind == "cross_province" and len(gold) < 1:
            errors.append(f"{where}: cross_province needs gold docs")
        for s in evidence:
            ns = normalize(s)
            if "\n" in s or "|" in s:
                errors.append(f"{where}: evidence {s!r} holds a line break or |")
            if not 4 <= len(ns) <= 20:
                errors.append(f"{where}: evidence {s!r} is {len(ns)} chars (want 4-20)")
            if not any(ns in t for t in gold_texts):
                errors.append(f"{where}: evidence {s!r} not found in gold docs {gold}")
            elif not any(ns in line for line in gold_lines):
                errors.append(f"{where}: evidence {s!r} spans a line break in the gold docs")
            else:
                others = [d for d, t in norm.items() if d not in gold and ns in t]
                if others and kind != "list":
                    warnings.append(f"{where}: evidence {s!r} also in non-gold {others[:4]}")
        for s in answer:
            if not any(normalize(s) in t for t in gold_texts):
                errors.append(f"{where}: answer {s!r} not found in gold docs {gold}")
        if kind == "cross_province":
            for doc in gold:
                if doc in norm and not any(normalize(s) in norm[doc] for s in evidence):
                    errors.append(f"{where}: no evidence string from gold doc {doc}")

    for w in warnings if not args.quiet_warnings else []:
        print("WARNING", w)
    for e in errors:
        print("ERROR", e)
    print(f"{len(rows)} questions; kinds: " + ", ".join(f"{k}={kinds[k]}" for k in KIND_PREFIX)
          + f"; places named: {len(provinces)}; {len(errors)} error(s), {len(warnings)} warning(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
