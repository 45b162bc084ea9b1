"""What the SQLite and PostgreSQL stores share: row encodings, SQL written once, the store's shell.

Why this package exists: both stores hold the same tables under the same
rules, so the code that knows a row's column order (`rows`), the statements
whose text is the same in both dialects but for placeholders (`statements`,
turned into PostgreSQL's `$n` by `sql.numbered`), the rules that are no SQL
at all (`rules`) and the plumbing of a store made of parts (`composed`) live
here once. Each engine's package keeps only
what is truly its own: connections and transactions, search, bulk loads, and
the SQL that really differs.
"""
