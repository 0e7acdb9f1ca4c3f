"""Document metadata inferred from the text: title, region, years, document type.

Inference works on the normalised Simplified text (`Document.search_text`) and reads what reports
say about themselves, strongest evidence first: a title line, the 「请予审议」 sentence that names the
report, the meeting line (「2022年2月13日在杭州市余杭区第十六届人民代表大会…」), the section headings
(「一、2019年工作回顾」), and only then word counts. A `manifest.toml` beside the documents overrides
any field per file:

    ["001_ff41aa1b071e2214.txt"]
    title = "拱墅区2022年计划执行情况与2023年计划草案"
    region = "拱墅区"
    years = [2022, 2023]
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from pathlib import Path

from rag.lexicon import lexicon
from rag.lexicon.places import national_places
from rag.zh import YEAR_MENTION, plausible_region

# Province-level units and the short names reports and file names use (宁夏, 广西, 新疆 …), from the
# national list of divisions (rag/lexicon/places).
PROVINCES = tuple(p.name for p in national_places().by_level("province"))
_PROVINCE_SHORT = {p.short: p.name for p in national_places().by_level("province")}

HAN = r"\u4e00-\u9fff"
_YEAR = YEAR_MENTION
_CN_DIGITS = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")} | {"零": "0", "○": "0"}

# 「…在杭州市余杭区第十六届人民代表大会第二次会议上」: the body a government work report is given to.
_MEETING = re.compile(rf"在((?:(?!在)[{HAN}]){{0,16}}?)第?[一二三四五六七八九十]+届\s*(全国)?人民代表大会")
_MEETING_DATE = re.compile(r"(\d{4}|[〇零○一二三四五六七八九]{4})年[\d一二三四五六七八九十]{1,3}月")
# 「向大会书面报告杭州市滨江区2021年…计划草案,请予审议」 names the report.
_NAMED_REPORT = re.compile(rf"报告([{HAN}\d“”()]{{8,80}}?)[,，]\s*请予审议")

_LEX = lexicon()
_TITLE_WORDS = _LEX.title_words  # words that make a short line near the top a document title
_NOT_TITLE_START = _LEX.not_title_start
_HEADING_START = re.compile(r"^(?:[一二三四五六七八九十]+、|\d{1,2}[.、])")

_YEAR_HEADING_WORDS = _LEX.year_heading_words  # 「一、2019年工作回顾」: headings that name the years covered
DOC_TYPES = _LEX.doc_types

_NOT_REGION_ENDINGS = tuple(_LEX.not_places)  # words ending in 区/县 that are not places: 全区, 社区, 示范区 …
_CITY_PREFIX = re.compile(rf"([{HAN}]{{2}})市?$")


def _year_from(text: str) -> int | None:
    digits = "".join(_CN_DIGITS.get(c, c) for c in text)
    return int(digits) if digits.isdigit() and len(digits) == 4 else None


def meeting(text: str) -> tuple[str, int | None]:
    """(place, year) of the 人民代表大会 session a report was given to; ("", None) when none is named."""
    match = _MEETING.search(text[:3000])
    if match is None:
        return "", None
    place = "全国" if match.group(2) else match.group(1)
    dates = list(_MEETING_DATE.finditer(text[max(0, match.start() - 60) : match.start()]))
    return place, _year_from(dates[-1].group(1)) if dates else None


def normalize_place(place: str) -> str:
    """The smallest unit a place name names: 浙江省杭州市余杭区 -> 余杭区, 宁夏 -> 宁夏回族自治区."""
    place = place.strip()
    for province in PROVINCES:
        if place.startswith(province):
            rest = place[len(province) :]
            return normalize_place(rest) if rest else province
    for short, province in _PROVINCE_SHORT.items():
        if place == short:
            return province
    city = re.match(rf"[{HAN}]{{2,4}}?市(?=[{HAN}]{{2,}}(?:新区|区|县)$)", place)
    return place[city.end() :] if city else place


def _is_title_line(line: str) -> bool:
    return (
        6 <= len(line) <= 80
        and "|" not in line
        and not line.startswith(_NOT_TITLE_START)
        and not _HEADING_START.match(line)
        and not line.endswith(("。", ",", ";", ":", "!"))
        and any(word in line for word in _TITLE_WORDS)
    )


def title_line(text: str, max_lines: int = 12) -> str:
    """A line near the top that reads as the document's title, or ""."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    return next((line for line in lines[:max_lines] if _is_title_line(line)), "")


# The national government names itself so in a title: its reports are about 全国, not about the
# districts they mention in passing (「一批区」 is no region).
_NATIONAL_TITLE = re.compile(r"国务院|中华人民共和国|全国人民代表大会")


def infer_region(text: str) -> str:
    place, _ = meeting(text)
    if place:
        return normalize_place(place)
    if _NATIONAL_TITLE.search(title_line(text)):
        return "全国"
    counts = _district_counts(text[:6000])
    if counts:
        return counts.most_common(1)[0][0]
    head = text[:3000]
    provinces = Counter({p: head.count(p) for p in PROVINCES if p in head})
    if provinces:
        return provinces.most_common(1)[0][0]
    return next((p for short, p in _PROVINCE_SHORT.items() if short in head[:300]), "")


def _district_counts(text: str) -> Counter[str]:
    """Names like 拱墅区 / 钱塘新区 (two characters and a suffix) counted; 全区, 示范区 … left out."""
    counts: Counter[str] = Counter()
    for match in re.finditer(rf"[{HAN}]{{2}}(?:新区|区|县)", text):
        name = match.group(0)
        generic = name.endswith(tuple(_NOT_REGION_ENDINGS)) and not name.endswith("新区")
        if generic or name in _NOT_REGION_ENDINGS or not plausible_region(name):
            continue  # 分布区, 华人区, 一百县: phrases, not places
        counts[name] += 1
    return counts


def infer_years(text: str, title: str = "") -> list[int]:
    """Years the document reports on and plans for.

    From the title, the meeting date and the year-naming section headings; failing those, the years
    most named in the opening.
    """
    years = {int(y) for y in _YEAR.findall(title)}
    _, meeting_year = meeting(text)
    if meeting_year:
        years.add(meeting_year)
        # A work report reviews the year before its session, even under a yearless 「一、工作回顾」.
        # (the year may first be named deep into it: 甘肃's 2026 report opens on the five years, 「刚刚过去的2025年」
        # comes 7,000 characters in)
        if str(meeting_year - 1) in _YEAR.findall(text) and re.search("回顾|过去一年|一年来", text[:3000]):
            years.add(meeting_year - 1)
    for line in text.split("\n"):
        line = line.strip()
        if len(line) <= 40 and _YEAR_HEADING_WORDS.search(line):
            years.update(int(y) for y in _YEAR.findall(line))
    if years:
        anchor = max(years) if not meeting_year else meeting_year
        return sorted(y for y in years if abs(y - anchor) <= 2)
    counts = Counter(int(y) for y in _YEAR.findall(text[:3000])) or Counter(int(y) for y in _YEAR.findall(text))
    if not counts:
        return []
    top = counts.most_common(1)[0][1]
    return sorted(y for y, n in counts.items() if n * 2 >= top)


def infer_doc_type(text: str, title: str = "") -> str:
    head = text[:1500]
    first_line = head.split("\n", 1)[0]
    if "牵头单位" in first_line and "完成情况" in first_line:
        return "任务进度表"  # a task table: its header names who leads and how far it got
    for source in (title, head):
        for marker, doc_type in DOC_TYPES:
            if marker in source:
                return doc_type
    return "报告"


def infer_title(text: str, *, region: str = "", years: list[int] | None = None, doc_type: str = "") -> str:
    """The document's title: its own title line, the report it names, or one composed from what it says."""
    years = years or []
    place, meeting_year = meeting(text)
    line = title_line(text)
    if line and re.search(r"\d{4}年", line) and (not place or place in line or region in line):
        return line
    named = _NAMED_REPORT.search(text[:2000])
    if named:
        return named.group(1)
    year = meeting_year or (max(years) if years else None)
    if doc_type == "政府工作报告" and year:
        return f"{year}年{place or _full_region(text, region)}政府工作报告"
    if doc_type == "任务进度表" and region and year:
        header = text.split("\n", 1)[0]
        progress = next((cell.strip() for cell in header.split("|") if "完成情况" in cell), "")
        return f"{region}{year}年工作任务清单" + (f"({progress})" if progress else "")
    if line:
        return line
    first = next((ln.strip() for ln in text.split("\n") if ln.strip()), "")
    return first[:40]


def _full_region(text: str, region: str) -> str:
    """The region as the text spells it in full when it does: 钱塘新区 -> 杭州钱塘新区."""
    if not region:
        return ""
    prefixes = Counter(m.group(1) for m in re.finditer(rf"([{HAN}]{{2}}市?){re.escape(region)}", text))
    for prefix, _ in prefixes.most_common():
        city = _CITY_PREFIX.match(prefix)
        if city and f"{city.group(1)}市" in text:
            return prefix + region
    return region


def infer_metadata(text: str, *, source: str = "") -> dict[str, object]:
    line = title_line(text)
    region = infer_region(text)
    years = infer_years(text, line)
    doc_type = infer_doc_type(text, line)
    title = infer_title(text, region=region, years=years, doc_type=doc_type)
    if not line:
        years = infer_years(text, title)
    return {"title": title, "region": region, "years": years, "doc_type": doc_type,
            "metadata_source": metadata_source(text, line, region)}


def metadata_source(text: str, title_line_text: str, region: str) -> str:
    """How sure the inferred region is: "title" when the document names it in its own title line or
    the meeting it was given at (「四川省第十四届人民代表大会」), "text" when it was only counted from
    mentions, "" when nothing was inferred. Retrieval weighs region/year matches by this."""
    if not region:
        return ""
    place, _ = meeting(text)
    named = _NAMED_REPORT.search(text[:2000])  # 「报告《…》，请予审议」: the report names itself
    if (place and (normalize_place(place) == region or region in place)) or region in title_line_text or (
            named and region in named.group(1)) or (region == "全国" and _NATIONAL_TITLE.search(title_line_text)):
        return "title"
    return "text"


MANIFEST = "manifest.toml"
_TEXT_FIELDS = ("title", "region", "doc_type")


class ManifestError(ValueError):
    """manifest.toml cannot be read at all; the message names the file and what to fix."""


def _entry_problem(key: str, value: object) -> str:
    """Why one manifest entry is unusable, or "" when it is fine (file, key and field named)."""
    where = f"{MANIFEST} [{json.dumps(key, ensure_ascii=False)}]"
    if not isinstance(value, dict):
        return f"{where} must be a table of fields (title, region, years, doc_type), got {value!r}."
    for field, field_value in value.items():
        if field == "years":
            ok = isinstance(field_value, list) and all(
                isinstance(y, int) and not isinstance(y, bool) and 1900 <= y <= 2100 for y in field_value
            )
            if not ok:
                return f"{where} years must be a list of years like [2021, 2022], got {field_value!r}."
        elif field in _TEXT_FIELDS:
            if not isinstance(field_value, str):
                return f"{where} {field} must be text in quotes, got {field_value!r}."
        else:
            return f"{where} unknown field {field!r} (known: title, region, years, doc_type)."
    return ""


def manifest_entries(folder: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """(valid entries, problem per entry key) of the folder's manifest.toml.

    A bad entry concerns one file, so it is returned for that file's report instead of stopping the
    whole folder; a manifest that cannot be read at all raises `ManifestError`, since guessing
    metadata for every file instead would be a silent data error.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return {}, {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8.") from exc
    except OSError as exc:
        raise ManifestError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: invalid TOML ({exc}); fix or remove it.") from exc
    entries: dict[str, dict] = {}
    problems: dict[str, str] = {}
    for key, value in data.items():
        problem = _entry_problem(str(key), value)
        if problem:
            problems[str(key)] = problem
        else:
            entries[str(key)] = dict(value)
    return entries, problems


def read_manifest(folder: Path) -> dict[str, dict]:
    """The manifest's entries by file name; any unusable entry is an error naming the key and field."""
    entries, problems = manifest_entries(folder)
    if problems:
        raise ManifestError(next(iter(problems.values())))
    return entries
