"""``m2c billing ...``: billing runs with a progress bar, resume, progress, tariffs, quotes."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

DB_ENV = "M2C_CENTRAL_DB"


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "billing",
        help="billing runs, tariffs and quotes",
        description="Bill a period by route or station, resume a run, list tariffs, quote a bill.",
    )
    sub = parser.add_subparsers(dest="billing", metavar="ACTION", required=True)

    def db(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--db",
            default=os.environ.get(DB_ENV),
            help=f"central database URL (default: ${DB_ENV})",
        )
        p.add_argument(
            "--tariffs",
            type=Path,
            default=None,
            help="directory of tariff TOML files (default: config/tariffs)",
        )

    run = sub.add_parser("run", help="create a billing run and bill it")
    db(run)
    run.add_argument(
        "--period-start",
        type=date.fromisoformat,
        required=True,
        help="previous reading date, YYYY-MM-DD",
    )
    run.add_argument(
        "--period-end", type=date.fromisoformat, required=True, help="reading date, YYYY-MM-DD"
    )
    run.add_argument("--route", help="route code (default: every route)")
    run.add_argument("--station", help="station code")
    run.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    run.add_argument("--chunk-size", type=int, default=2000)
    run.add_argument("--issue", action="store_true", help="issue the bills when done")
    run.set_defaults(func=_run)

    resume = sub.add_parser("resume", help="go on with an unfinished run")
    db(resume)
    resume.add_argument("run_id", type=int)
    resume.add_argument("--workers", type=int, default=1)
    resume.add_argument(
        "--lease-seconds",
        type=int,
        default=0,
        help="take over chunks claimed longer ago than this (default 0: all)",
    )
    resume.set_defaults(func=_resume)

    prog = sub.add_parser("progress", help="show a run's progress")
    db(prog)
    prog.add_argument("run_id", type=int)
    prog.set_defaults(func=_progress)

    tariffs = sub.add_parser("tariffs", help="list tariffs and their versions")
    tariffs.add_argument("--tariffs", type=Path, default=None)
    tariffs.set_defaults(func=_tariffs)

    quote = sub.add_parser("quote", help="price a consumption with a tariff")
    quote.add_argument("code")
    quote.add_argument("--tariffs", type=Path, default=None)
    quote.add_argument("--consumption", required=True)
    quote.add_argument("--period-start", type=date.fromisoformat, required=True)
    quote.add_argument("--period-end", type=date.fromisoformat, required=True)
    quote.add_argument("--households", type=int, default=1)
    quote.add_argument("--persons", type=int, default=None)
    quote.add_argument(
        "--db",
        default=os.environ.get(DB_ENV),
        help=f"also the versions added over REST in this database (default: ${DB_ENV})",
    )
    quote.set_defaults(func=_quote)


def _files(path: Path | None) -> Any:
    from central.tariffs.catalog import DEFAULT_DIR, load_dir

    return load_dir(path or DEFAULT_DIR), path or DEFAULT_DIR


def _engine(args: argparse.Namespace) -> Any:
    from central.db.engine import make_engine

    if not args.db:
        print(f"no database: give --db URL or set ${DB_ENV}", file=sys.stderr)
        raise SystemExit(2)
    return make_engine(args.db)


def _bar(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, unit="acct", unit_scale=True, file=sys.stderr, disable=None, smoothing=0.1
    )


def _bill(args: argparse.Namespace, engine: Any, run_id: int, workers: int, lease: int) -> int:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy.orm import Session

    from central.billing import runs
    from central.billing.parallel import run_workers
    from central.tariffs.store import catalog

    files, directory = _files(args.tariffs)
    with Session(engine) as s:
        before = runs.progress(s, run_id)
        merged = catalog(s, files)
    bar = _bar(before.accounts)
    bar.update(before.accounts_done)
    try:
        if workers > 1:
            seen = [before.accounts_done]

            def show(p: runs.Progress) -> None:
                bar.update(p.accounts_done - seen[0])
                seen[0] = p.accounts_done

            run_workers(args.db, run_id, directory, workers=workers, on_progress=show)
        else:
            runs.work(
                engine,
                run_id,
                merged,
                clock=lambda: datetime.now(UTC),
                lease=timedelta(seconds=lease),
                on_chunk=bar.update,
            )
    finally:
        bar.close()
    with Session(engine) as s:
        p = runs.progress(s, run_id)
    print(
        f"run {p.run_id}: {p.status}; {p.accounts_done}/{p.accounts} accounts, "
        f"{p.bills} bills, {p.skipped} skipped, {p.failed} chunks failed"
    )
    for error in p.errors:
        print(f"  {error}", file=sys.stderr)
    return 0 if p.status == "done" and not p.failed else 1


def _run(args: argparse.Namespace) -> int:

    engine = _engine(args)
    try:
        return _run_on(args, engine)
    finally:
        engine.dispose()


def _run_on(args: argparse.Namespace, engine: Any) -> int:
    from datetime import UTC, datetime

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from central.billing import bills, runs
    from central.db.models.records import RouteRow, StationRow
    from central.records.errors import Invalid

    with Session(engine) as s:
        route_id = station_id = None
        if args.route:
            route_id = s.scalar(select(RouteRow.id).where(RouteRow.code == args.route))
            if route_id is None:
                print(f"no route {args.route!r}", file=sys.stderr)
                return 2
        if args.station:
            station_id = s.scalar(select(StationRow.id).where(StationRow.code == args.station))
            if station_id is None:
                print(f"no station {args.station!r}", file=sys.stderr)
                return 2
        try:
            run = runs.create_run(
                s,
                args.period_start,
                args.period_end,
                clock=lambda: datetime.now(UTC),
                route_id=route_id,
                station_id=station_id,
                chunk_size=args.chunk_size,
            )
        except Invalid as exc:
            print(str(exc), file=sys.stderr)
            return 2
        run_id = run.id
    print(f"run {run_id}: {run.accounts} accounts, {args.period_start} to {args.period_end}")
    code = _bill(args, engine, run_id, args.workers, lease=600)
    if code == 0 and args.issue:
        with Session(engine) as s:
            n = bills.issue_run(s, run_id, clock=lambda: datetime.now(UTC))
            s.commit()
        print(f"issued {n} bills")
    return code


def _resume(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from central.billing import runs

    engine = _engine(args)
    try:
        with Session(engine) as s:
            retried = runs.retry_failed(s, args.run_id)
        if retried:
            print(f"run {args.run_id}: {retried} failed chunks tried again")
        return _bill(args, engine, args.run_id, args.workers, lease=args.lease_seconds)
    finally:
        engine.dispose()


def _progress(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from central.billing import runs
    from central.records.errors import NotFound

    engine = _engine(args)
    try:
        with Session(engine) as s:
            p = runs.progress(s, args.run_id)
    except NotFound as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(
        f"run {p.run_id}: {p.status}; chunks {p.chunks_done}/{p.chunks}; accounts "
        f"{p.accounts_done}/{p.accounts}; {p.bills} bills, {p.skipped} skipped, "
        f"{p.failed} chunks failed"
    )
    for error in p.errors:
        print(f"  {error}")
    return 0


def _tariffs(args: argparse.Namespace) -> int:
    files, _ = _files(args.tariffs)
    for code in files:
        t = files[code]
        versions = ", ".join(f"{v.effective_from} ({v.source})" for v in t.versions)
        print(f"{code:28} {t.kind:22} {t.currency.code} {versions}")
    return 0


def _quote(args: argparse.Namespace) -> int:
    from decimal import Decimal, InvalidOperation

    from central.tariffs import QuoteError, Usage, quote

    files, _ = _files(args.tariffs)
    if args.db:
        from sqlalchemy.orm import Session

        from central.tariffs.store import catalog

        engine = _engine(args)
        try:
            with Session(engine) as s:
                files = catalog(s, files)
        finally:
            engine.dispose()
    if args.code not in files:
        print(f"no tariff {args.code!r}", file=sys.stderr)
        return 2
    try:
        usage = Usage(
            Decimal(args.consumption),
            args.period_start,
            args.period_end,
            households=args.households,
            persons=args.persons,
        )
        q = quote(files[args.code], usage)
    except (QuoteError, InvalidOperation) as exc:
        print(f"cannot quote: {exc}", file=sys.stderr)
        return 2
    for ln in q.lines:
        print(f"{ln.description:40} {ln.quantity:>10} × {ln.unit_price:>8} = {ln.amount:>12,}")
    print(f"{'subtotal':40} {q.subtotal:>35,}")
    for t in q.taxes:
        print(f"{t.description:40} {t.rate:>10} × {t.base:>8,} = {t.amount:>12,}")
    print(f"{'total ' + q.currency:40} {q.total:>35,}")
    return 0
