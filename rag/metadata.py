"""Document metadata inferred from the text: title, region, years, document type.

Inference works on the normalised Simplified text. A `manifest.toml` beside the documents
overrides any field per file:

    ["001_ff41aa1b071e2214.txt"]
    title = "拱墅区2022年计划执行情况与2023年计划草案"
    region = "拱墅区"
    years = [2022, 2023]
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

PROVINCES = (
    "北京市 天津市 上海市 重庆市 河北省 山西省 辽宁省 吉林省 黑龙江省 江苏省 浙江省 安徽省 福建省 江西省 "
    "山东省 河南省 湖北省 湖南省 广东省 海南省 四川省 贵州省 云南省 陕西省 甘肃省 青海省 台湾省 "
    "内蒙古自治区 广西壮族自治区 西藏自治区 宁夏回族自治区 新疆维吾尔自治区 香港特别行政区 澳门特别行政区"
).split()

# Districts and new areas spelled as reports spell them; the suffix-less short name maps to them.
_DISTRICT = re.compile(r"([\u4e00-\u9fff]{2,4}?(?:新区|区|县|市))")
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?=年)")

DOC_TYPES = (
    ("计划执行", "计划执行报告"),
    ("计划草案", "计划执行报告"),
    ("政府工作报告", "政府工作报告"),
    ("向大会报告工作", "政府工作报告"),
    ("完成情况", "任务进度表"),
    ("工作要点", "工作要点"),
    ("预算执行", "预算执行报告"),
)

_NOT_REGIONS = {"全区", "本区", "我区", "新区", "城区", "园区", "社区", "街区", "景区", "辖区", "该区", "各区", "示范区", "先行区", "开发区"}


def infer_title(text: str) -> str:
    for line in text.split("\n"):
        line = line.strip().strip("|").strip()
        if 6 <= len(line) <= 80 and not line.startswith(("各位代表", "(")) and "|" not in line:
            return line
    first = text.strip().split("\n", 1)[0]
    return first[:40]


def infer_region(text: str) -> str:
    head = text[:3000]
    for province in PROVINCES:
        if province in head[:300]:
            return province
    counts: Counter[str] = Counter()
    for match in _DISTRICT.finditer(head):
        name = match.group(1)
        for prefix in ("杭州市", "杭州", "浙江省", "市"):
            if name.startswith(prefix) and len(name) > len(prefix) + 1:
                name = name[len(prefix) :]
        if name.endswith(tuple(_NOT_REGIONS)) or name.endswith("市") or len(name) < 3:
            continue
        counts[name] += 1
    if counts:
        return counts.most_common(1)[0][0]
    for province in PROVINCES:
        if province in head or province[:2] in head[:200]:
            return province
    return ""


def infer_years(text: str) -> list[int]:
    """Years the document reports on or plans for: those named in its opening, most frequent first."""
    head = text[:2000]
    counts = Counter(int(y) for y in _YEAR.findall(head))
    if not counts:
        counts = Counter(int(y) for y in _YEAR.findall(text))
    top = [y for y, n in counts.most_common() if n >= max(1, counts.most_common(1)[0][1] // 4)]
    return sorted(top[:3])


def infer_doc_type(text: str) -> str:
    head = text[:1500]
    for marker, doc_type in DOC_TYPES:
        if marker in head:
            return doc_type
    return "报告"


def infer_metadata(text: str, *, source: str = "") -> dict[str, object]:
    return {
        "title": infer_title(text),
        "region": infer_region(text),
        "years": infer_years(text),
        "doc_type": infer_doc_type(text),
    }


def read_manifest(folder: Path) -> dict[str, dict]:
    path = Path(folder) / "manifest.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML ({exc}); fix or remove it.") from exc
    return {str(k): dict(v) for k, v in data.items() if isinstance(v, dict)}
