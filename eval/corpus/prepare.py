"""Write the documents folder for the provincial government-work-report evaluation set.

    python eval/corpus/prepare.py --out DIR [--shared PATH]

DIR receives:
  * the five seed documents and seeds/manifest.toml (doc ids 000_e7663ab01f1730df ...),
  * provincial_2025/<name>.docx   31 provincial 2025 reports (zip member names decoded from GBK),
  * provincial_2026/<name>.csv    31 provincial 2026 reports (copied as they are),
  * national/<year>年国务院政府工作报告.txt  the State Council reports of 2024 and 2025.

A document's id in `rag` is its path relative to DIR without the extension, e.g.
`provincial_2025/2025年四川省政府工作报告`, `provincial_2026/2026_四川省_政府工作报告`,
`national/2025年国务院政府工作报告`. Standard library only; running it again overwrites.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import zipfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]  # eval/corpus/prepare.py -> project root
DEFAULT_SHARED = Path(__file__).resolve().parents[3] / "shared"  # the `shared` folder beside the project
CORPUS = Path("corpora") / "gov_work_reports"
NATIONAL_YEARS = ("2024", "2025")
SEEDS = (
    "000_e7663ab01f1730df.txt",
    "001_ff41aa1b071e2214.txt",
    "002_f7e74dfd952d8b46.txt",
    "003_9122a3b2d2e7a0f6.txt",
    "004_87d7a1d99ea65eae.txt",
    "manifest.toml",
)


def member_name(info: zipfile.ZipInfo) -> str:
    """Zip names without the UTF-8 flag (bit 11) were written in GBK and read back as cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    return info.filename.encode("cp437").decode("gbk")


def copy_seeds(out: Path) -> list[Path]:
    written = []
    for name in SEEDS:
        src = PROJECT / "seeds" / name
        shutil.copyfile(src, out / name)
        written.append(out / name)
    return written


def write_provincial_2025(corpus: Path, out: Path) -> list[Path]:
    target = out / "provincial_2025"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(corpus / "provincial_2025_docx" / "31省区市政府工作报告.zip") as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = Path(member_name(info)).name
            if not name.lower().endswith(".docx"):
                continue
            dest = target / name
            dest.write_bytes(archive.read(info))
            written.append(dest)
    return written


def write_provincial_2026(corpus: Path, out: Path) -> list[Path]:
    target = out / "provincial_2026"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sorted((corpus / "provincial_2026_csv").glob("2026_*.csv")):
        dest = target / src.name
        shutil.copyfile(src, dest)
        written.append(dest)
    return written


def write_national(corpus: Path, out: Path) -> list[Path]:
    target = out / "national"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    found = {}
    with open(corpus / "national_1954_2025_wikisource" / "government_work_reports.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            year = str(row.get("year") or "")
            if year in NATIONAL_YEARS and "政府工作报告" in row.get("title", ""):
                found[year] = row
    for year in NATIONAL_YEARS:
        if year not in found:
            raise SystemExit(f"national report for {year} not found in the wikisource file")
        row = found[year]
        dest = target / f"{year}年国务院政府工作报告.txt"
        dest.write_text(row["title"].strip() + "\n\n" + row["content"].strip() + "\n", encoding="utf-8")
        written.append(dest)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="documents folder to write")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                        help=f"the shared folder holding corpora/gov_work_reports (default {DEFAULT_SHARED})")
    args = parser.parse_args(argv)
    corpus = args.shared / CORPUS
    if not corpus.is_dir():
        parser.error(f"{corpus} not found; pass --shared")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    groups = {
        "seeds": copy_seeds(out),
        "provincial_2025": write_provincial_2025(corpus, out),
        "provincial_2026": write_provincial_2026(corpus, out),
        "national": write_national(corpus, out),
    }
    for group, paths in groups.items():
        print(f"{group}: {len(paths)} file(s)")
        for path in paths:
            print(f"  {path.relative_to(out).as_posix()}")
    total = sum(len(p) for p in groups.values())
    print(f"wrote {total} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
