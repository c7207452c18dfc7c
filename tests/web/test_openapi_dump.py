"""The web client's API types are generated from ``aihub.web.openapi_dump``; the
committed copy (web/src/api/openapi.json) must be the app's current spec, so a
changed endpoint fails here until ``npm run gen:api`` is run again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from aihub.web.openapi_dump import openapi_document

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "web" / "src" / "api" / "openapi.json"


def _differences(old: object, new: object, path: str = "") -> list[str]:
    """Where two JSON values differ, as readable paths (first few only)."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[str] = []
        for key in sorted(set(old) | set(new)):
            if key not in new:
                found.append(f"{path}/{key}: gone from the app")
            elif key not in old:
                found.append(f"{path}/{key}: new in the app")
            else:
                found += _differences(old[key], new[key], f"{path}/{key}")
        return found
    if old != new:
        return [f"{path}: changed"]
    return []


def test_committed_openapi_json_is_the_apps_spec() -> None:
    assert COMMITTED.is_file(), f"{COMMITTED} is missing: run `npm run gen:api` in web/"
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    current = openapi_document()
    diff = _differences(committed, current)
    assert not diff, (
        "web/src/api/openapi.json is out of date; run `npm run gen:api` in web/ "
        "and commit openapi.json and schema.d.ts:\n  " + "\n  ".join(diff[:20])
    )


def test_dump_prints_the_spec_and_writes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "never-created"
    env = {**os.environ, "AIHUB_DATA_DIR": str(data_dir)}
    env.pop("AIHUB_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "aihub.web.openapi_dump"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    spec = json.loads(result.stdout)
    assert spec["info"]["title"] == "aihub"
    assert "/api/auth/login" in spec["paths"]
    assert list(tmp_path.iterdir()) == [], "the dump created files"
    assert not data_dir.exists()
