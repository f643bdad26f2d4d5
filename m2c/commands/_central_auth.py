"""``m2c central user ...`` and ``m2c central apikey ...``: people and integrations.

The first admin is made here, on the server, before anyone can log in:
``m2c central user add admin --role admin`` (the password is asked twice on a terminal, or read
from ``--password-file FILE`` or ``--password-stdin``).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROLES = [
    "admin",
    "billing_clerk",
    "operator",
    "cashier",
    "meter_reader",
    "auditor",
    "customer",
]


def add_actions(sub: Any, config: Callable[[argparse.ArgumentParser], None]) -> None:
    user = sub.add_parser("user", help="people who log in: add, list, disable, passwd, bind")
    users = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    p = users.add_parser("add", help="add a user (the first admin too)")
    p.add_argument("login")
    _roles(p)
    p.add_argument("--name", default="", help="display name")
    _password_source(p)
    p.set_defaults(func=_user_add)
    p = users.add_parser("list", help="list users, their roles and state")
    p.set_defaults(func=_user_list)
    for name, text, disabled in [
        ("disable", "refuse a user's logins and end their sessions", True),
        ("enable", "let a disabled user log in again", False),
    ]:
        p = users.add_parser(name, help=text)
        p.add_argument("login")
        p.set_defaults(func=_user_disable, disabled=disabled)
    p = users.add_parser("passwd", help="set a user's password (unlocks, ends sessions)")
    p.add_argument("login")
    _password_source(p)
    p.set_defaults(func=_user_passwd)
    p = users.add_parser("roles", help="replace a user's roles")
    p.add_argument("login")
    _roles(p)
    p.set_defaults(func=_user_roles)
    p = users.add_parser("bind", help="let a customer login see an account")
    p.add_argument("login")
    p.add_argument("--utility", required=True, help="utility code")
    p.add_argument("--account", required=True, help="account number")
    p.add_argument("--default", action="store_true", help="make it the default account")
    p.set_defaults(func=_user_bind)

    key = sub.add_parser("apikey", help="API keys for integrations: add, list, revoke")
    keys = key.add_subparsers(dest="apikey_command", metavar="ACTION", required=True)
    p = keys.add_parser("add", help="make a key; it is printed once, never stored")
    p.add_argument("name")
    _roles(p)
    p.set_defaults(func=_key_add)
    p = keys.add_parser("list", help="list keys (name, prefix, roles, last used)")
    p.set_defaults(func=_key_list)
    p = keys.add_parser("revoke", help="revoke a key by name or prefix")
    p.add_argument("name")
    p.set_defaults(func=_key_revoke)
    for parser in [*users.choices.values(), *keys.choices.values()]:
        config(parser)


def _roles(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--role",
        dest="roles",
        action="append",
        choices=ROLES,
        required=True,
        help="a role (repeat for several)",
    )


def _password_source(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--password-file", type=Path, help="read the password from this file")
    g.add_argument("--password-stdin", action="store_true", help="read it from standard input")


def _password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        return str(args.password_file.read_text("utf-8")).rstrip("\r\n")
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise _Refused("no password: give --password-file or --password-stdin, or use a terminal")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise _Refused("the passwords differ")
    return first


class _Refused(Exception):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _session(args: argparse.Namespace) -> Iterator[Any]:
    from sqlalchemy.orm import Session

    from central.db.engine import make_engine
    from central.db.migrate import upgrade
    from central.settings import CentralSettings
    from m2c.configfile import load

    settings = load(CentralSettings, args.config)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    try:
        with Session(engine) as session:
            yield session
            session.commit()
    finally:
        engine.dispose()


def _guard(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from central.auth.errors import AccountError

        try:
            return func(args)
        except (AccountError, _Refused) as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"cannot read the password: {exc}", file=sys.stderr)
            return 1

    return run


@_guard
def _user_add(args: argparse.Namespace) -> int:
    from central.auth import users

    password = _password(args)
    with _session(args) as session:
        row = users.create(
            session, args.login, password, args.roles, display_name=args.name, clock=_now
        )
        print(f"user {row.login} added with roles {row.roles}")
    return 0


@_guard
def _user_list(args: argparse.Namespace) -> int:
    from central.auth import users

    with _session(args) as session:
        print(f"{'login':<24} {'roles':<32} {'state':<10} name")
        now = _now()
        for u in users.all_users(session):
            state = "disabled" if u.disabled else "active"
            if u.locked_until is not None and u.locked_until > now:
                state = "locked"
            print(f"{u.login:<24} {u.roles:<32} {state:<10} {u.display_name}")
    return 0


@_guard
def _user_disable(args: argparse.Namespace) -> int:
    from central.auth import users

    with _session(args) as session:
        users.set_disabled(session, args.login, args.disabled, clock=_now)
    print(f"user {args.login} {'disabled' if args.disabled else 'enabled'}")
    return 0


@_guard
def _user_passwd(args: argparse.Namespace) -> int:
    from central.auth import users

    password = _password(args)
    with _session(args) as session:
        users.set_password(session, args.login, password, clock=_now)
    print(f"password of {args.login} set; its sessions ended")
    return 0


@_guard
def _user_roles(args: argparse.Namespace) -> int:
    from central.auth import users

    with _session(args) as session:
        row = users.set_roles(session, args.login, args.roles)
        print(f"user {row.login} now has roles {row.roles}")
    return 0


@_guard
def _user_bind(args: argparse.Namespace) -> int:
    from central.auth import users

    with _session(args) as session:
        users.bind_account(
            session, args.login, args.utility, args.account, clock=_now, default=args.default
        )
    print(f"{args.login} may see account {args.account} of {args.utility}")
    return 0


@_guard
def _key_add(args: argparse.Namespace) -> int:
    from central.auth import apikeys

    with _session(args) as session:
        row, key = apikeys.create(session, args.name, args.roles, clock=_now)
        print(f"API key {row.name} ({row.prefix}) with roles {row.roles}; shown only now:")
        print(key)
    return 0


@_guard
def _key_list(args: argparse.Namespace) -> int:
    from central.auth import apikeys

    with _session(args) as session:
        print(f"{'name':<24} {'prefix':<9} {'roles':<32} {'state':<8} last used")
        for k in apikeys.all_keys(session):
            state = "revoked" if k.revoked_at is not None else "active"
            used = k.last_used_at.isoformat(timespec="seconds") if k.last_used_at else "never"
            print(f"{k.name:<24} {k.prefix:<9} {k.roles:<32} {state:<8} {used}")
    return 0


@_guard
def _key_revoke(args: argparse.Namespace) -> int:
    from central.auth import apikeys

    with _session(args) as session:
        row = apikeys.revoke(session, args.name, clock=_now)
        print(f"API key {row.name} ({row.prefix}) revoked")
    return 0
