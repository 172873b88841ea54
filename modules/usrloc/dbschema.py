# SPDX-License-Identifier: GPL-2.0-or-later
"""Kamailio 5.6's `location` table (version 9), in kampy.db.schema's form, so
that `kampy.db.schema.create(url, tables=("location",))` and `kampyctl db
create URL location` make the table Kamailio's kamdbctl makes."""

from kampy.db.schema import Column, Table, ID

VERSION = 9


def _s(name, size, default="", null=False):
    return Column(name, "string", size, default, null)


def _i(name, default=0, null=False):
    return Column(name, "int", 0, default, null)


def _t(name, default):
    return Column(name, "datetime", 0, default)


LOCATION = Table("location", VERSION, (
    ID,
    _s("ruid", 64), _s("username", 64), _s("domain", 64, default=None, null=True),
    _s("contact", 512), _s("received", 128, default=None, null=True),
    _s("path", 512, default=None, null=True),
    _t("expires", "2030-05-28 21:32:15"),
    Column("q", "float", 0, 1.0),
    _s("callid", 255, default="Default-Call-ID"), _i("cseq", 1),
    _t("last_modified", "2000-01-01 00:00:01"),
    _i("flags"), _i("cflags"), _s("user_agent", 255),
    _s("socket", 64, default=None, null=True), _i("methods", default=None, null=True),
    _s("instance", 255, default=None, null=True),
    _i("reg_id"), _i("server_id"), _i("connection_id"), _i("keepalive"), _i("partition"),
), unique=(("location_ruid_idx", ("ruid",)),),
   indexes=(("location_account_contact_idx", ("username", "domain", "contact")),
            ("location_expires_idx", ("expires",)),
            ("location_connection_idx", ("server_id", "connection_id"))))
