"""Hatch build hook: a wheel built from the repo carries the web app.

The build (``src/aihub/web/dist``, git-ignored) is made with npm when it is
missing and npm is here; the hook skips the npm step, saying so, when the build
exists or npm is missing, and never fails the wheel for it (the wheel then
serves the API alone and ``/`` says how to get the app). Editable installs are
left alone. Nothing but npm packages is downloaded.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

DIST = Path("src/aihub/web/dist")


class WebAppBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        dist = root / DIST
        if (dist / "index.html").is_file():
            self.app.display_info(f"web app: using the existing build in {DIST}")
        else:
            self._build(root)
        if (dist / "index.html").is_file():
            build_data["force_include"][str(dist)] = "aihub/web/dist"
        else:
            self.app.display_warning(
                "web app: no build, so this wheel serves the API alone "
                "(install Node 20+ and npm, then build the wheel again)"
            )

    def _build(self, root: Path) -> None:
        npm = shutil.which("npm")
        web = root / "web"
        if npm is None or not (web / "package.json").is_file():
            self.app.display_warning("web app: npm or web/ not found, skipping")
            return
        self.app.display_info("web app: npm ci && npm run build in web/")
        for step in (["ci", "--no-audit", "--no-fund"], ["run", "build"]):
            done = subprocess.run([npm, *step], cwd=web, check=False)  # noqa: S603
            if done.returncode != 0:
                self.app.display_warning(f"web app: npm {step[0]} failed, skipping")
                return
