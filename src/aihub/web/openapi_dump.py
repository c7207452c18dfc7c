"""Print the app's OpenAPI document as JSON (``python -m aihub.web.openapi_dump``).

The web client's types are generated from this output (``npm run gen:api``).
Building the app object touches nothing: no database, no data directory, no
network (those happen in the lifespan, which is not run here).
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from aihub.core.settings import Settings
from aihub.main import create_app


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of an app built from default settings."""
    settings = Settings(_env_file=None, sentry_dsn=None, cors_origins=[])
    return create_app(settings).openapi()


def main() -> None:
    sys.stdout.buffer.write(
        orjson.dumps(openapi_document(), option=orjson.OPT_INDENT_2) + b"\n"
    )


if __name__ == "__main__":
    main()
