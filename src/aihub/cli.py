"""The aihub command: serve, migrate, create-admin, --version."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import subprocess
import sys

from aihub import __version__
from aihub.core.settings import get_settings


def _migrate() -> None:
    from aihub.migrate import upgrade

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)


def _migrate_in_child() -> None:
    """Migrations in a short-lived child process: Alembic and the sync engine it
    builds (~15 MiB) are then never part of the serving process."""
    done = subprocess.run([sys.executable, "-m", "aihub", "migrate"], check=False)
    if done.returncode != 0:
        raise SystemExit(done.returncode)


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    os.environ.setdefault("AIHUB_GC_TUNING", "true")  # inherited by the workers
    get_settings.cache_clear()  # read again, with the line above
    settings = get_settings()
    _migrate_in_child()
    uvicorn.run(
        "aihub.main:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )


def _create_admin(args: argparse.Namespace) -> None:
    from aihub.core.db import build_engine, build_sessionmaker
    from aihub.users import service as users_service

    settings = get_settings()
    password = args.password or getpass.getpass("Admin password: ")
    _migrate()

    async def run() -> None:
        engine = build_engine(settings.resolved_database_url)
        try:
            await users_service.create_or_update_admin(
                build_sessionmaker(engine),
                email=args.email,
                username=args.username,
                password=password,
                settings=settings,
            )
        finally:
            await engine.dispose()

    asyncio.run(run())
    sys.stdout.write(f"admin {args.email} is ready\n")


def _worker() -> None:
    from aihub.core.logging import configure_logging
    from aihub.lifecycle import serve_media_worker

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    _migrate()
    import uvloop  # ships with uvicorn[standard], like the API's loop

    uvloop.run(serve_media_worker(settings))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="aihub", description=__doc__)
    parser.add_argument("--version", action="version", version=f"aihub {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="apply migrations, then serve the API")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1)
    commands.add_parser("migrate", help="apply database migrations")
    commands.add_parser(
        "worker", help="run media generation jobs from the queue (needs Redis)"
    )
    admin = commands.add_parser("create-admin", help="create or update an admin")
    admin.add_argument("--email", required=True)
    admin.add_argument("--username", default="admin")
    admin.add_argument("--password", default=None, help="prompted when omitted")
    args = parser.parse_args(argv)
    if args.command == "serve":
        _serve(args)
    elif args.command == "migrate":
        _migrate()
    elif args.command == "worker":
        _worker()
    elif args.command == "create-admin":
        _create_admin(args)
