# SPDX-License-Identifier: GPL-2.0-or-later
"""kampy.db.schema: Kamailio 5.6's version and uacreg layouts on SQLite and
PostgreSQL, created once and left alone afterwards."""

import sqlite3

import pytest

from kampy.db import DbError, schema

# Kamailio 5.6 (kamdbctl) uacreg, version 5: name, SQL type, default
UACREG = [("id", "INTEGER", None)] + [
    (name, "VARCHAR(%d)" % size, "''") for name, size in (
        ("l_uuid", 64), ("l_username", 64), ("l_domain", 64), ("r_username", 64),
        ("r_domain", 64), ("realm", 64), ("auth_username", 64), ("auth_password", 64),
        ("auth_ha1", 128), ("auth_proxy", 128))
] + [("expires", "INTEGER", "0"), ("flags", "INTEGER", "0"), ("reg_delay", "INTEGER", "0"),
     ("contact_addr", "VARCHAR(255)", "''"), ("socket", "VARCHAR(128)", "''")]


def test_layout_is_kamailios(backend):
    if backend.kind == "sqlite":
        check_sqlite_layout(backend)
    else:
        check_postgres_layout(backend)
    assert sorted(backend.raw.sql("SELECT table_name, table_version FROM version")) == [
        ("uacreg", 5), ("version", 1)]


def check_sqlite_layout(backend):
    info = backend.raw.sql("PRAGMA table_info(uacreg)")
    assert [(r[1], r[2], r[4]) for r in info] == UACREG
    assert all(r[3] == 1 for r in info)                       # NOT NULL everywhere
    assert [r[1] for r in info if r[5]] == ["id"]             # the primary key
    uniques = [r[1] for r in backend.raw.sql("PRAGMA index_list(uacreg)") if r[2]]
    assert [[c[2] for c in backend.raw.sql("PRAGMA index_info(%s)" % u)] for u in uniques] == [["l_uuid"]]
    vinfo = backend.raw.sql("PRAGMA table_info(version)")
    assert [(r[1], r[2], r[3], r[4]) for r in vinfo] == [
        ("id", "INTEGER", 1, None), ("table_name", "VARCHAR(32)", 1, None),
        ("table_version", "INTEGER", 1, "0")]


def check_postgres_layout(backend):
    cols = backend.raw.sql(
        "SELECT column_name, data_type, character_maximum_length, column_default, is_nullable "
        "FROM information_schema.columns WHERE table_name = 'uacreg' ORDER BY ordinal_position")
    want = []
    for name, typ, default in UACREG:
        if name == "id":
            want.append(("id", "integer", None, "nextval('uacreg_id_seq'::regclass)", "NO"))
        elif typ.startswith("VARCHAR"):
            want.append((name, "character varying", int(typ[8:-1]), "''::character varying", "NO"))
        else:
            want.append((name, "integer", None, default, "NO"))
    assert cols == want
    cons = backend.raw.sql(
        "SELECT c.conname, c.contype, a.attname FROM pg_constraint c JOIN pg_class t "
        "ON t.oid = c.conrelid JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(c.conkey) "
        "WHERE t.relname = 'uacreg' ORDER BY c.conname")
    assert cons == [("uacreg_l_uuid_idx", "u", "l_uuid"), ("uacreg_pkey", "p", "id")]
    vcons = backend.raw.sql(
        "SELECT c.conname, c.contype FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
        "WHERE t.relname = 'version' ORDER BY c.conname")
    assert vcons == [("version_pkey", "p"), ("version_table_name_idx", "u")]


def test_create_is_idempotent(backend):
    db = backend.db()
    db.insert("uacreg", dict(l_uuid="keep", l_username="a", l_domain="d", r_username="r",
                             r_domain="rd", auth_username="a", auth_password="p", auth_proxy="sip:p"))
    assert schema.create(backend.url) == {"version": "exists", "uacreg": "exists"}
    assert schema.create(backend.url, ("uacreg",)) == {"version": "exists", "uacreg": "exists"}
    assert backend.raw.sql("SELECT count(*) FROM version") == [(2,)]
    assert db.query("uacreg", ["l_uuid"]) == [{"l_uuid": "keep"}]


def test_create_leaves_an_older_table_alone(backend):
    """A Kamailio 5.4 uacreg (version 4: no contact_addr) is reported, not changed."""
    backend.raw.sql("DROP TABLE uacreg")
    backend.raw.sql("CREATE TABLE uacreg (id INTEGER PRIMARY KEY, l_uuid VARCHAR(64) DEFAULT '' "
                    "NOT NULL, socket VARCHAR(128) DEFAULT '' NOT NULL)")
    backend.raw.sql("UPDATE version SET table_version = 4 WHERE table_name = 'uacreg'")
    assert schema.create(backend.url) == {
        "version": "exists", "uacreg": "exists, version 4 (kampy expects 5)"}
    assert backend.db().columns("uacreg") == ["id", "l_uuid", "socket"]


def test_create_missing_version_row_is_added(backend):
    backend.raw.sql("DELETE FROM version WHERE table_name = 'uacreg'")
    assert schema.create(backend.url)["uacreg"] == "exists"
    assert backend.db().table_version("uacreg") == 5


def test_create_sql_per_dialect():
    pg = schema.create_sql(schema.TABLES["uacreg"], "postgres")[0]
    lite = schema.create_sql(schema.TABLES["uacreg"], "sqlite")[0]
    assert '"id" SERIAL PRIMARY KEY NOT NULL' in pg and '"id" INTEGER PRIMARY KEY NOT NULL' in lite
    for sql in (pg, lite):
        assert sql.startswith('CREATE TABLE IF NOT EXISTS "uacreg" (')
        assert '"auth_ha1" VARCHAR(128) DEFAULT \'\' NOT NULL' in sql
        assert '"expires" INTEGER DEFAULT 0 NOT NULL' in sql
        assert 'CONSTRAINT "uacreg_l_uuid_idx" UNIQUE ("l_uuid")' in sql


def test_tables_are_one_extensible_structure(tmp_path):
    """A later issue adds a table as one entry: create() renders it, with indexes."""
    extra = schema.Table("demo", 3, (
        schema.ID, schema.Column("name", "string", 32, ""),
        schema.Column("seen", "datetime", default="2000-01-01 00:00:01"),
        schema.Column("q", "float", default=1.0), schema.Column("note", "text", null=True),
        schema.Column("big", "bigint", default=0)),
        indexes=(("demo_name_idx", ("name",)),))
    schema.TABLES["demo"] = extra
    try:
        url = "sqlite://%s" % (tmp_path / "x.db")
        assert schema.create(url, ("demo",)) == {"version": "created", "demo": "created"}
        conn = sqlite3.connect(str(tmp_path / "x.db"))
        info = conn.execute("PRAGMA table_info(demo)").fetchall()
        assert [(r[1], r[2], r[3]) for r in info] == [
            ("id", "INTEGER", 1), ("name", "VARCHAR(32)", 1), ("seen", "TIMESTAMP WITHOUT TIME ZONE", 1),
            ("q", "REAL", 1), ("note", "TEXT", 0), ("big", "BIGINT", 1)]
        assert [r[1] for r in conn.execute("PRAGMA index_list(demo)")] == ["demo_name_idx"]
        assert conn.execute("SELECT table_version FROM version "
                            "WHERE table_name = 'demo'").fetchall() == [(3,)]
        conn.close()
    finally:
        del schema.TABLES["demo"]


def test_modules_declare_tables_in_dbschema(tmp_path):
    """A module's modules/<name>/dbschema.py with a module-level Table: found
    when a table of that name is asked for."""
    import sys
    from kampy import loader
    pkg = loader.modules_package()
    moddir = tmp_path / "zz_dbdemo"
    moddir.mkdir()
    (moddir / "__init__.py").write_text("")
    (moddir / "dbschema.py").write_text(
        "from kampy.db.schema import Column, Table, ID\n"
        "T = Table('zz_demo', 2, (ID, Column('name', 'string', 16, '')))\n")
    pkg.__path__.append(str(tmp_path))
    try:
        url = "sqlite://%s" % (tmp_path / "x.db")
        assert schema.create(url, ("zz_demo",)) == {"version": "created", "zz_demo": "created"}
        assert "zz_demo" in schema.discover()
    finally:
        pkg.__path__.remove(str(tmp_path))
        schema.TABLES.pop("zz_demo", None)
        for name in ("kampy.modules.zz_dbdemo.dbschema", "kampy.modules.zz_dbdemo"):
            sys.modules.pop(name, None)


def test_create_errors(tmp_path, pg_server):
    with pytest.raises(DbError) as ei:
        schema.create("sqlite://%s" % (tmp_path / "x.db"), ("uacreg", "no_such_table"))
    assert "unknown table no_such_table; known: version, uacreg" in str(ei.value)
    with pytest.raises(DbError):
        schema.create("sqlite://%s" % (tmp_path / "no" / "such" / "dir.db"))
    with pytest.raises(DbError) as ei:
        schema.create("mysql://k:pw@h/db")
    assert "MySQL" in str(ei.value)
    bad = pg_server.url("no_such_database").replace("kampy-Secret-pw", "wrong-password")
    with pytest.raises(DbError) as ei:
        schema.create(bad)
    assert "wrong-password" not in str(ei.value) and "***" in str(ei.value)


def test_create_postgresql_scheme(pg_server):
    url = pg_server.new_database().replace("postgres://", "postgresql://")
    assert schema.create(url) == {"version": "created", "uacreg": "created"}
