"""SQL written once for both stores: `?` placeholders become PostgreSQL's `$n`, and only placeholders do.

`store.common.sql.numbered` is what lets the PostgreSQL store run the
statements of `store.common.statements` unchanged; a `?` inside a quoted
string or identifier is text and must stay as it is.
"""

from __future__ import annotations

from store.common.sql import numbered


def test_placeholders_are_numbered_in_order():
    assert numbered("SELECT a FROM t WHERE b = ? AND c IN (?, ?) LIMIT ?") == (
        "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) LIMIT $4"
    )


def test_numbering_can_start_after_earlier_parameters():
    assert numbered(" AND x = ? AND y = ?", first=3) == " AND x = $3 AND y = $4"


def test_a_question_mark_in_a_string_or_identifier_is_text():
    sql = "SELECT '?', 'it''s ?', \"odd?name\" FROM t WHERE a = ? AND b = 'x?' AND c = ?"
    assert numbered(sql) == "SELECT '?', 'it''s ?', \"odd?name\" FROM t WHERE a = $1 AND b = 'x?' AND c = $2"


def test_sql_without_placeholders_is_unchanged():
    assert numbered("SELECT count(*) FROM papers WHERE title = 'why?'") == "SELECT count(*) FROM papers WHERE title = 'why?'"
