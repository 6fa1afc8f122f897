"""Finding messages by their words, from the database alone (so it works while the session is
stopped). Chats are found by name or number with ``chats.list_chats(q=...)``.

Messages are found through a full-text index (migration 0005): FTS5 on SQLite, a FULLTEXT index
on MySQL. Every word of the query must appear in a message's text or caption, each as a word or
the start of one ("заказ" finds "заказа"), in any letter case. MySQL's index leaves out words
shorter than ``innodb_ft_min_token_size`` (3) and its stopwords, so those words are matched by a
scan of the user's own messages instead.
"""
from __future__ import annotations

import re
from typing import Any

from server.db import Queries
from server.pagination import contains_folded, like_pattern

from plugins.whatsapp.store.messages import COLUMNS, api_message, reactions_of, row_message

MYSQL_MIN_WORD = 3  # innodb_ft_min_token_size's default
# Characters that are operators in MySQL's boolean full-text syntax.
_MYSQL_OPERATORS = re.compile(r'[+\-<>()~*"@]+')


def words(q: str) -> list[str]:
    """The words of a query: what has a letter or a digit, split on white space."""
    return [w for w in q.split() if any(ch.isalnum() for ch in w)]


async def search_messages(
    db: Queries, user_id: int, q: str, chat_id: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Messages holding every word of ``q``, newest first; ``chat_id`` keeps to one chat."""
    where, params = _match(db.dialect, words(q))
    where = f"user_id = ? AND revoked = 0 AND {where}"
    params = [user_id, *params]
    if chat_id is not None:
        where += " AND chat_id = ?"
        params.append(chat_id)
    total = await db.fetch_value(f"SELECT COUNT(*) FROM messages WHERE {where}", params)
    rows = await db.fetch_all(
        f"SELECT {COLUMNS} FROM messages WHERE {where} ORDER BY timestamp DESC, id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    reactions = await reactions_of(db, user_id, [r["wa_id"] for r in rows])
    return [api_message(row_message(r), reactions.get(r["wa_id"])) for r in rows], int(total)


def _match(dialect: str, query_words: list[str]) -> tuple[str, list[Any]]:
    if dialect == "mysql":
        return _mysql_match(query_words)
    # FTS5: each word a quoted string (its quotes doubled), matched as a prefix.
    fts_query = " ".join('"' + w.replace('"', '""') + '"*' for w in query_words)
    return "id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)", [fts_query]


def _mysql_match(query_words: list[str]) -> tuple[str, list[Any]]:
    indexed, scanned = [], []
    for word in query_words:
        for part in _MYSQL_OPERATORS.sub(" ", word).split():
            (indexed if len(part) >= MYSQL_MIN_WORD else scanned).append(part)
    conditions: list[str] = []
    params: list[Any] = []
    if indexed:
        conditions.append("MATCH (body, caption) AGAINST (? IN BOOLEAN MODE)")
        params.append(" ".join(f"+{w}*" for w in indexed))
    for word in scanned:
        pattern = like_pattern(word.lower())
        conditions.append(f"({contains_folded('body', 'mysql')} OR {contains_folded('caption', 'mysql')})")
        params += [pattern, pattern]
    return " AND ".join(conditions) or "1 = 0", params
