"""Papers as CSV (for spreadsheets) and JSON (for scripts).

Why this exists: the lookup `--json` shapes (`bot.jsonout`) are the promise
to scripts, so an export's rows are `paper_detail_json` (every field, the
shown notes) plus all of a paper's notes in JSON; CSV flattens the same keys
(lists joined by "; ", one column per notes section) and starts with a UTF-8
byte-order mark so spreadsheet programs read Chinese notes right.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from bot.jsonout import paper_detail_json
from bot.models import NOTE_FIELDS, Paper, Topic

EXPORT_FORMAT = "paperbot-export"
EXPORT_VERSION = 1


def paper_record(paper: Paper, lang: str) -> dict[str, Any]:
    record = paper_detail_json(paper, lang)
    record.pop("added_at", None)  # when this store saw it: not the paper's, and not the same in two stores
    record["all_notes"] = [
        {"lang": n.lang, "source": n.source, "origin": n.origin, "text_quality": n.text_quality.value,
         "created_at": n.created_at, **n.as_dict()}
        for n in sorted(paper.notes, key=lambda n: (n.lang, n.source, n.origin))
    ]  # fmt: skip
    return record


def write_json(papers: list[Paper], topic: Topic | None, lang: str) -> str:
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "topic": {"name": topic.name, "title": topic.title, "query": topic.query} if topic else None,
        "papers": [paper_record(paper, lang) for paper in papers],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def write_csv(papers: list[Paper], lang: str) -> str:
    rows = [_flat(paper_record(paper, lang)) for paper in papers]
    columns = list(_flat(paper_record(Paper("0000.00000", ""), lang)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return "\ufeff" + out.getvalue()


def _flat(record: dict[str, Any]) -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in record.items():
        if key == "all_notes":
            continue
        if key == "notes":
            flat.update({f"notes_{name}": (value or {}).get(name) or "" for name in NOTE_FIELDS})
        elif isinstance(value, list):
            flat[key] = "; ".join(str(item) for item in value)
        else:
            flat[key] = "" if value is None else str(value)
    return flat
