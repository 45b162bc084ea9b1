"""arXiv identifiers: the one place that knows what an id looks like.

Users, paper lists, the API and the snapshot spell ids many ways
(`2505.20665v1`, `arXiv:2505.20665`, `http://arxiv.org/pdf/2505.20665v1`,
`hep-th/9901001`); everything else in paperbot uses the versionless form.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# New-style ids (2007 onwards): YYMM.NNNN or YYMM.NNNNN; old-style: archive(.SUBJ)/YYMMNNN.
_NEW = r"\d{4}\.\d{4,5}"
_OLD = r"[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7}"
# A version has at most 6 digits: a longer one is not an id (and int() of thousands of digits raises).
_ID_RE = re.compile(rf"^(?P<id>{_NEW}|{_OLD})(?:v(?P<version>\d{{1,6}}))?$")
_URL_RE = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/(?P<rest>.+?)(?:\.pdf)?/?$",
    re.IGNORECASE,
)


class ArxivId(NamedTuple):
    arxiv_id: str
    version: int | None


def parse_arxiv_id(text: str) -> ArxivId | None:
    """Parse any accepted spelling into (versionless id, version or None); None if not an id."""
    candidate = text.strip()
    url = _URL_RE.match(candidate)
    if url:
        candidate = url.group("rest")
    elif candidate[:6].lower() == "arxiv:":
        candidate = candidate[6:].strip()
    match = _ID_RE.match(candidate)
    if not match:
        return None
    version = match.group("version")
    return ArxivId(match.group("id"), int(version) if version else None)


def looks_like_arxiv_id(text: str) -> bool:
    return parse_arxiv_id(text) is not None


_NEW_STYLE_MONTH = re.compile(r"^(\d{2})(\d{2})\.\d{4,5}$")


def id_month(arxiv_id: str) -> str:
    """`2506.03517` -> `2025-06`: the month a new-style id was issued in; "" for an old-style id."""
    found = _NEW_STYLE_MONTH.match(arxiv_id)
    if found and 1 <= int(found.group(2)) <= 12:
        return f"20{found.group(1)}-{found.group(2)}"
    return ""
