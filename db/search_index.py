"""The trigram index that serves product search, kept in step with the products by triggers.

Search means: the name, the category or the SKU contains the text, or the barcode starts with
it (equals it, for texts shorter than catalog.MIN_BARCODE_PREFIX), all ignoring case. No B-tree
index serves "contains", so each product has one row in ``product_search`` holding two keys:

* ``words``: name, category and SKU joined by SEP;
* ``code``: the barcode between START and END, so that "starts with" is "contains START + text"
  and "equals" is "contains START + text + END".

A text without SEP, START or END matches ``words`` exactly when it is inside one of the three
fields, so the index gives the same answer as the plain query over the columns, not a superset.

* SQLite: an FTS5 table with the trigram tokenizer; both keys are stored lower-cased with the
  connection's Unicode ``lower()`` (db.engine registers it), and a quoted phrase of at least three
  characters matches a substring. A shorter text has no trigram to look up.
* PostgreSQL: a table with both keys as written and one GIN index (pg_trgm) over them, which
  serves ``ILIKE '%text%'`` (pg_trgm lower-cases with the database's own rules, as ILIKE does).

The triggers keep the rows in step with every write to products (the ORM, bulk INSERTs, the
demo data, a SQL console) and with a category rename. ``install`` creates everything; the
migration that introduced the index calls it, and so does ``Base.metadata.create_all`` (the
tests, the benchmarks) through the listeners in db.models. The table is not in the models:
migrations/env.py and the schema test leave it out of autogenerate (``include_name``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, column, literal_column, or_, select, table, text

TABLE = "product_search"
SEP, START, END = "\x1f", "\x1e", "\x1d"  # control characters nobody types into a product
MIN_LENGTH = 3  # a trigram index finds nothing shorter
_PG_LOCK = 0x50_4F_53_54_52_47  # advisory lock: concurrent CREATE EXTENSIONs would collide

_SQLITE_KEYS = """
    lower(NEW.name) || char(31) || coalesce((SELECT lower(c.name) FROM categories c WHERE c.id = NEW.category_id), '')
        || char(31) || lower(NEW.sku),
    CASE WHEN NEW.barcode IS NULL THEN '' ELSE char(30) || lower(NEW.barcode) || char(29) END
"""

_SQLITE = [
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5(words, code, tokenize = 'trigram case_sensitive 1')",
    f"""CREATE TRIGGER {TABLE}_insert AFTER INSERT ON products BEGIN
        INSERT INTO {TABLE} (rowid, words, code) VALUES (NEW.id, {_SQLITE_KEYS});
    END""",
    f"""CREATE TRIGGER {TABLE}_update AFTER UPDATE OF name, category_id, sku, barcode ON products BEGIN
        DELETE FROM {TABLE} WHERE rowid = OLD.id;
        INSERT INTO {TABLE} (rowid, words, code) VALUES (NEW.id, {_SQLITE_KEYS});
    END""",
    f"""CREATE TRIGGER {TABLE}_delete AFTER DELETE ON products BEGIN
        DELETE FROM {TABLE} WHERE rowid = OLD.id;
    END""",
    # A rename re-writes the products of that category through the update trigger.
    f"""CREATE TRIGGER {TABLE}_category AFTER UPDATE OF name ON categories BEGIN
        UPDATE products SET category_id = category_id WHERE category_id = NEW.id;
    END""",
]

_PG_KEYS = """
    concat_ws(E'\\x1f', NEW.name, (SELECT c.name FROM categories c WHERE c.id = NEW.category_id), NEW.sku),
    CASE WHEN NEW.barcode IS NULL THEN '' ELSE E'\\x1e' || NEW.barcode || E'\\x1d' END
"""


def _postgres() -> list[str]:
    return [
        f"""CREATE TABLE {TABLE} (
            product_id INTEGER PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
            words TEXT NOT NULL,
            code TEXT NOT NULL
        )""",
        f"""CREATE FUNCTION {TABLE}_sync() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO {TABLE} (product_id, words, code) VALUES (NEW.id, {_PG_KEYS})
            ON CONFLICT (product_id) DO UPDATE SET words = EXCLUDED.words, code = EXCLUDED.code;
            RETURN NULL;
        END $$""",
        f"""CREATE TRIGGER {TABLE}_sync AFTER INSERT OR UPDATE OF name, category_id, sku, barcode ON products
            FOR EACH ROW EXECUTE FUNCTION {TABLE}_sync()""",
        f"""CREATE FUNCTION {TABLE}_category() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE products SET category_id = category_id WHERE category_id = NEW.id;
            RETURN NULL;
        END $$""",
        f"""CREATE TRIGGER {TABLE}_category AFTER UPDATE OF name ON categories
            FOR EACH ROW EXECUTE FUNCTION {TABLE}_category()""",
    ]


# --- the sort key: search lists by name ---------------------------------------------------------
#
# Search lists its matches by lower(name), id. An ORDER BY lower(name) sorts every match (a Python
# call per row on SQLite); ``products.name_key`` stores lower(name) as the database computes it
# (the connection's Unicode lower() on SQLite, the database's own on PostgreSQL: the order is the
# one lower(name) gave), and ix_products_archived_name_key serves that order, so page one of a
# common word is read in name order until it is full. A stored column, not an index on the
# expression: on SQLite an index on lower() would break when the database is opened without
# db.engine's lower() (a SQL console); a stale key only sorts a product in the wrong place.
# Triggers keep it in step with every write, as for the search table. A migration that rebuilds
# products on SQLite (batch mode) drops them: it calls uninstall_sort_key / install_sort_key
# around the rebuild, as it does uninstall / install.

_SQLITE_SORT_KEY = [
    """CREATE TRIGGER products_name_key_insert AFTER INSERT ON products BEGIN
        UPDATE products SET name_key = lower(NEW.name) WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER products_name_key_update AFTER UPDATE OF name, name_key ON products
        WHEN NEW.name_key IS NOT lower(NEW.name) BEGIN
        UPDATE products SET name_key = lower(NEW.name) WHERE id = NEW.id;
    END""",
]

_PG_SORT_KEY = [
    """CREATE FUNCTION products_name_key() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.name_key := lower(NEW.name);
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER products_name_key BEFORE INSERT OR UPDATE OF name, name_key ON products
        FOR EACH ROW EXECUTE FUNCTION products_name_key()""",
]


def install_sort_key(conn: Connection) -> None:
    """Create the triggers that keep products.name_key = lower(name), and set it on every product."""
    for statement in _SQLITE_SORT_KEY if conn.dialect.name == "sqlite" else _PG_SORT_KEY:
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql("UPDATE products SET name_key = lower(name)")


def uninstall_sort_key(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for suffix in ("insert", "update"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS products_name_key_{suffix}")
        return
    conn.exec_driver_sql("DROP TRIGGER IF EXISTS products_name_key ON products")
    conn.exec_driver_sql("DROP FUNCTION IF EXISTS products_name_key()")


def _pg_trgm_schema(conn: Connection) -> str:
    """The schema pg_trgm lives in, creating the extension (in public) when it is missing.

    pg_trgm is a trusted extension: the database's owner may create it without being a superuser.
    """
    find = text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")
    schema = conn.scalar(find)
    if schema is None:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
        schema = conn.scalar(find)
    return schema.strip('"')


def install(conn: Connection) -> None:
    """Create the search table, its index and triggers, and index every existing product."""
    if conn.dialect.name == "sqlite":
        statements = _SQLITE
    else:
        statements = _postgres()
    for statement in statements:
        conn.exec_driver_sql(statement)
    # Fill it through the triggers, so there is one definition of the keys.
    conn.exec_driver_sql("UPDATE products SET category_id = category_id")
    if conn.dialect.name != "sqlite":
        # Built after the fill: a GIN index gets its statistics (which the planner's choice to use
        # it depends on) when it is built and from VACUUM, which autovacuum runs as rows come in.
        ops = f'"{_pg_trgm_schema(conn)}".gin_trgm_ops'
        conn.exec_driver_sql(f"CREATE INDEX ix_{TABLE}_trgm ON {TABLE} USING gin (words {ops}, code {ops})")


def uninstall(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for suffix in ("insert", "update", "delete", "category"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {TABLE}_{suffix}")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")
        return
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")
    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {TABLE}_sync ON products")
    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {TABLE}_category ON categories")
    conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {TABLE}_sync()")
    conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {TABLE}_category()")


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """For Alembic's autogenerate: leave out the search table (FTS5 adds shadow tables named
    after it), which is not in the models."""
    return not (type_ == "table" and bool(name) and (name == TABLE or name.startswith(f"{TABLE}_")))


def _escape_like(value: str) -> str:
    return value.replace("/", "//").replace("%", "/%").replace("_", "/_")


def matching_ids(search: str, dialect: str, *, min_barcode_prefix: int) -> Select[Any] | None:
    """The ids of the products that match ``search``, read from the index; None when the index
    cannot answer (a text too short for a trigram, or one holding a separator) and the caller
    must test the columns themselves."""
    lowered = search.lower()
    if len(lowered) < MIN_LENGTH or any(ch in search for ch in (SEP, START, END)):
        return None
    code = START + (lowered if len(search) >= min_barcode_prefix else lowered + END)
    if dialect == "sqlite":

        def phrase(value: str) -> str:
            return '"' + value.replace('"', '""') + '"'

        match = f"words : {phrase(lowered)} OR code : {phrase(code)}"
        return select(literal_column("rowid")).select_from(table(TABLE)).where(literal_column(TABLE).op("MATCH")(match))
    words, codes = column("words"), column("code")
    code = START + (search if len(search) >= min_barcode_prefix else search + END)
    return (
        select(column("product_id"))
        .select_from(table(TABLE, column("product_id"), words, codes))
        .where(
            or_(
                words.ilike(f"%{_escape_like(search)}%", escape="/"),
                codes.ilike(f"{_escape_like(code)}%", escape="/"),
            )
        )
    )
