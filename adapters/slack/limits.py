"""Slack's payload limits, and a strict checker for any message we might send.

The renderer promises never to send an over-limit payload; this module is how
that promise is tested. It knows nothing about how messages are rendered, so
tests of the whole bot can run `check_message_limits` on every message a fake
Slack Web API receives, whoever built it. Where Slack is lenient (it truncates
`text` at 40,000 characters) the checker is stricter on purpose: a fallback
longer than a screen is no longer a useful notification.

Lengths are counted in Python characters (code points).
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator, Mapping

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_TEXT_OBJECT = 3000
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_BLOCK_ID = 255
MAX_URL = 3000
# Slack documents no hard number; messages above roughly this many characters
# of block text are rejected or collapsed, so we split below it.
MAX_MESSAGE_CHARS = 12_000
# Our own rule for the notification text that accompanies blocks.
MAX_FALLBACK_TEXT = 3000
# A message without blocks is all text; Slack advises staying under 4,000.
MAX_PLAIN_MESSAGE_TEXT = 4000

KNOWN_BLOCK_TYPES = {
    "section", "header", "context", "divider", "actions", "image",
    "rich_text", "input", "file", "video", "markdown",
}
_TEXT_TYPES = {"plain_text", "mrkdwn"}
_EVENT_TYPE = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")
_MENTION = re.compile(r"<[!@#][^>]*>")


def check_message_limits(message: Mapping[str, Any]) -> list[str]:
    """Every way `message` breaks Slack's limits (or ours); empty when it is fine.

    Accepts the kwargs of `chat.postMessage` / `respond`, with `blocks` and
    `metadata` either as Python objects or as the JSON strings a form-encoded
    request carries.
    """
    if not isinstance(message, Mapping):
        return ["message is not a mapping"]
    problems: list[str] = []
    blocks = _maybe_json(message.get("blocks"))
    problems += _check_fallback(message.get("text"), has_blocks=bool(blocks))
    if "metadata" in message:
        problems += _check_metadata(_maybe_json(message["metadata"]))
    if blocks is None:
        return problems
    if not isinstance(blocks, list):
        return problems + ["blocks is not a list"]
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks > {MAX_BLOCKS}")
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"block {index}"
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            problems.append(f"{where}: not a block")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not 0 < len(block_id) <= MAX_BLOCK_ID:
                problems.append(f"{where}: bad block_id")
            elif block_id in seen_ids:
                problems.append(f"{where}: duplicate block_id {block_id!r}")
            else:
                seen_ids.add(block_id)
        problems += [f"{where} ({block['type']}): {p}" for p in _check_block(block)]
    total = sum(len(text) for text in block_texts(blocks))
    if total > MAX_MESSAGE_CHARS:
        problems.append(f"{total} characters of block text > {MAX_MESSAGE_CHARS}")
    return problems


def block_texts(blocks: list[Any]) -> Iterator[str]:
    """The text of every text object in `blocks`: what counts toward the message size."""
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        if isinstance(block.get("text"), Mapping):
            yield str(block["text"].get("text", ""))
        for field in block.get("fields") or ():
            if isinstance(field, Mapping):
                yield str(field.get("text", ""))
        for element in block.get("elements") or ():
            if isinstance(element, Mapping):
                if element.get("type") in _TEXT_TYPES:
                    yield str(element.get("text", ""))
                elif isinstance(element.get("text"), Mapping):
                    yield str(element["text"].get("text", ""))


def find_mentions(message: Mapping[str, Any]) -> list[str]:
    """Every `<!…>`, `<@…>`, `<#…>` anywhere in the message: what Slack would turn into a ping."""
    found: list[str] = []
    for text in _shown_strings({"text": message.get("text"), "blocks": _maybe_json(message.get("blocks"))}):
        found += _MENTION.findall(text)
    return found


# --- parts -----------------------------------------------------------------------------


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _check_fallback(text: Any, *, has_blocks: bool) -> list[str]:
    if not isinstance(text, str) or not text.strip():
        return ["no plain-text fallback `text`"]
    limit = MAX_FALLBACK_TEXT if has_blocks else MAX_PLAIN_MESSAGE_TEXT
    if len(text) > limit:
        return [f"text is {len(text)} characters > {limit}"]
    return []


def _check_metadata(metadata: Any) -> list[str]:
    if not isinstance(metadata, Mapping):
        return ["metadata is not an object"]
    problems = []
    if not isinstance(metadata.get("event_type"), str) or not _EVENT_TYPE.match(metadata["event_type"]):
        problems.append("metadata.event_type missing or malformed")
    if not isinstance(metadata.get("event_payload"), Mapping):
        problems.append("metadata.event_payload is not an object")
    return problems


def _check_text_object(obj: Any, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, Mapping) or obj.get("type") not in _TEXT_TYPES:
        return ["not a text object"]
    if plain_only and obj["type"] != "plain_text":
        return ["must be plain_text"]
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        return ["empty text"]
    if len(text) > limit:
        return [f"text is {len(text)} characters > {limit}"]
    return []


def _check_block(block: Mapping[str, Any]) -> list[str]:
    kind = block["type"]
    if kind not in KNOWN_BLOCK_TYPES:
        return [f"unknown block type {kind!r}"]
    if kind == "header":
        return _check_text_object(block.get("text"), MAX_HEADER_TEXT, plain_only=True)
    if kind == "section":
        return _check_section(block)
    if kind == "context":
        return _check_elements(block.get("elements"), MAX_CONTEXT_ELEMENTS, _check_context_element)
    if kind == "actions":
        return _check_elements(block.get("elements"), MAX_ACTIONS_ELEMENTS, _check_interactive)
    if kind == "image":
        problems = [] if _url_ok(block.get("image_url")) else ["bad image_url"]
        alt = block.get("alt_text")
        if not isinstance(alt, str) or not 0 < len(alt) <= MAX_FIELD_TEXT:
            problems.append("bad alt_text")
        return problems
    return []


def _check_section(block: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        problems.append("neither text nor fields")
    if text is not None:
        problems += _check_text_object(text, MAX_SECTION_TEXT)
    if fields is not None:
        if not isinstance(fields, list) or not 0 < len(fields) <= MAX_SECTION_FIELDS:
            problems.append(f"fields must be 1..{MAX_SECTION_FIELDS} text objects")
        else:
            for n, field in enumerate(fields):
                problems += [f"field {n}: {p}" for p in _check_text_object(field, MAX_FIELD_TEXT)]
    if block.get("accessory") is not None:
        problems += [f"accessory: {p}" for p in _check_interactive(block["accessory"])]
    return problems


def _check_elements(elements: Any, limit: int, check) -> list[str]:
    if not isinstance(elements, list) or not 0 < len(elements) <= limit:
        return [f"elements must be a list of 1..{limit}"]
    problems = []
    for n, element in enumerate(elements):
        problems += [f"element {n}: {p}" for p in check(element)]
    return problems


def _check_context_element(element: Any) -> list[str]:
    if isinstance(element, Mapping) and element.get("type") == "image":
        return [] if _url_ok(element.get("image_url")) and element.get("alt_text") else ["bad image element"]
    return _check_text_object(element, MAX_TEXT_OBJECT)


def _check_interactive(element: Any) -> list[str]:
    if not isinstance(element, Mapping) or not isinstance(element.get("type"), str):
        return ["not an element"]
    problems = []
    action_id = element.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or not 0 < len(action_id) <= MAX_ACTION_ID):
        problems.append("bad action_id")
    if element["type"] != "button":
        return problems
    problems += [f"button text: {p}" for p in _check_text_object(element.get("text"), MAX_BUTTON_TEXT, plain_only=True)]
    value = element.get("value")
    if value is not None and (not isinstance(value, str) or len(value) > MAX_BUTTON_VALUE):
        problems.append(f"button value longer than {MAX_BUTTON_VALUE} characters")
    if element.get("url") is not None and not _url_ok(element["url"]):
        problems.append("bad button url")
    return problems


def _url_ok(url: Any) -> bool:
    return isinstance(url, str) and 0 < len(url) <= MAX_URL


def _shown_strings(value: Any) -> Iterator[str]:
    """Strings Slack displays (values of `text` keys); a button's `value` is never parsed."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                yield item
            else:
                yield from _shown_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _shown_strings(item)
