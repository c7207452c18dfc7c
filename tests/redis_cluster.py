"""A real local Redis Cluster and a real Sentinel set-up, for tests.

- ``RedisClusterServers``: ``size`` ``redis-server`` nodes in cluster mode on
  spare ports of 127.0.0.1 (nothing persisted), joined with ``redis-cli
  --cluster create`` (masters only); ``url()`` is the ``redis+cluster://`` URL.
  ``stop()`` kills every node; ``start()`` again brings them back empty but with
  their slots (``nodes-<port>.conf`` is kept): an outage of the whole cluster.
- ``SentinelServers``: one master ``redis-server`` and one ``redis-server
  --sentinel`` monitoring it as ``aihub``; ``url(db)`` is the
  ``redis+sentinel://`` URL.

Run as a script it starts both, runs pytest on each (the arguments after
``--`` are pytest's) with ``AIHUB_TEST_REDIS_URL`` set, and stops them:
``python -m tests.redis_cluster -- tests/infra -q`` (see ``make test-cluster``).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.redis_server import REDIS_SERVER, RedisServer, free_port

REDIS_CLI = shutil.which("redis-cli")
SERVICE = "aihub"


def available() -> bool:
    return REDIS_SERVER is not None and REDIS_CLI is not None


def _cli(port: int, *args: str) -> str:
    assert REDIS_CLI is not None
    done = subprocess.run(
        [REDIS_CLI, "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _cluster_ports(count: int) -> list[int]:
    """Spare ports whose cluster bus port (+10000) is spare too; Redis refuses
    a cluster node above 55535."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randint(20000, 55535)
        if port not in ports and _bindable(port) and _bindable(port + 10000):
            ports.append(port)
    return ports


class RedisClusterServers:
    def __init__(self, workdir: Path, size: int = 3) -> None:
        if size < 3:
            raise ValueError("a Redis Cluster needs at least 3 masters")
        self._workdir = workdir
        self.nodes = [
            RedisServer(
                workdir,
                extra=[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    f"nodes-{port}.conf",
                    "--cluster-node-timeout",
                    "2000",
                ],
                port=port,
            )
            for port in _cluster_ports(size)
        ]
        self._created = False

    def url(self, db: int = 0) -> str:
        """Every node as a seed (a cluster has database 0 only: ``db`` is
        accepted for the single-Redis helpers' signature and ignored)."""
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)
        return f"redis+cluster://{hosts}"

    @property
    def running(self) -> bool:
        return all(node.running for node in self.nodes)

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        if not self._created:
            assert REDIS_CLI is not None
            subprocess.run(
                [
                    REDIS_CLI,
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{node.port}" for node in self.nodes),
                    "--cluster-replicas",
                    "0",
                    "--cluster-yes",
                ],
                capture_output=True,
                timeout=60,
                check=True,
            )
            self._created = True
        self._wait_ok()

    def _wait_ok(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(
                "cluster_state:ok" in _cli(node.port, "cluster", "info")
                for node in self.nodes
            ):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class SentinelServers:
    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self.master = RedisServer(workdir / "master")
        self.sentinel_port = free_port()
        self._sentinel: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{SERVICE}/{db}"

    @property
    def running(self) -> bool:
        return self.master.running

    def start(self) -> None:
        self.master.start()
        if self._sentinel is None or self._sentinel.poll() is not None:
            self._start_sentinel()

    def _start_sentinel(self) -> None:
        assert REDIS_SERVER is not None
        folder = self._workdir / "sentinel"
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "sentinel.conf"  # sentinel rewrites it: its own file
        config.write_text(
            f"port {self.sentinel_port}\n"
            "bind 127.0.0.1\n"
            f'dir "{folder}"\n'
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.master.port} 1\n"
            f"sentinel down-after-milliseconds {SERVICE} 60000\n"
        )
        log = (folder / "sentinel.log").open("ab")
        self._sentinel = subprocess.Popen(
            [REDIS_SERVER, str(config), "--sentinel"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._sentinel.poll() is not None:
                raise RuntimeError("redis sentinel exited")
            try:
                with socket.create_connection(
                    ("127.0.0.1", self.sentinel_port), 0.2
                ) as sock:
                    sock.sendall(
                        f"SENTINEL get-master-addr-by-name {SERVICE}\r\n".encode()
                    )
                    if str(self.master.port).encode() in sock.recv(128):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis sentinel did not answer")

    def stop(self) -> None:
        """Stop the master only (an outage); ``close()`` ends the sentinel too."""
        self.master.stop()

    def close(self) -> None:
        self.master.stop()
        if self._sentinel is not None and self._sentinel.poll() is None:
            self._sentinel.kill()
            self._sentinel.wait(timeout=10)
        self._sentinel = None


def main(argv: list[str] | None = None) -> int:
    """Start a cluster (then a Sentinel set-up), run pytest on each, stop them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--modes", default="cluster,sentinel", help="comma-separated: cluster,sentinel"
    )
    parser.add_argument("--size", type=int, default=3, help="cluster masters")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args(argv)
    if not available():
        sys.stderr.write("redis-server and redis-cli are needed\n")
        return 2
    status = 0
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        with tempfile.TemporaryDirectory(prefix=f"aihub-{mode}-") as tmp:
            servers: RedisClusterServers | SentinelServers
            if mode == "cluster":
                servers = RedisClusterServers(Path(tmp), size=args.size)
            elif mode == "sentinel":
                servers = SentinelServers(Path(tmp))
            else:
                parser.error(f"unknown mode {mode!r}")
            try:
                servers.start()
                url = servers.url()
                sys.stdout.write(f"== {mode}: {url}\n")
                sys.stdout.flush()
                env = {**os.environ, "AIHUB_TEST_REDIS_URL": url}
                env.pop("AIHUB_REDIS_URL", None)
                done = subprocess.run(
                    [sys.executable, "-m", "pytest", *args.pytest_args], env=env
                )
                status = status or done.returncode
            finally:
                if isinstance(servers, SentinelServers):
                    servers.close()
                else:
                    servers.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
