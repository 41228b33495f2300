"""A real ``redis-server`` (Debian's package) per test, on a free 127.0.0.1 port, with AOF on
so a restart loses nothing; and helpers to run ``atelier worker`` processes against it."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """``redis-server`` in ``data_dir`` on ``port``; ``restart()`` stops it (SIGTERM: it
    writes its AOF and exits) and starts it again on the same files."""

    def __init__(
        self, data_dir: Path, password: str | None = None, tls: dict[str, Path] | None = None
    ) -> None:
        self.dir, self.port, self.password, self.tls = data_dir, _free_port(), password, tls
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        extra: dict[str, object] = {}
        if self.tls:
            extra = {"ssl": True, "ssl_ca_certs": str(self.tls["ca"])}
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, **extra)  # type: ignore[arg-type]

    def start(self) -> RedisServer:
        exe = shutil.which("redis-server")
        assert exe, "redis-server is not installed (scripts/setup.sh test installs it)"
        args = [exe, "--bind", "127.0.0.1", "--dir", str(self.dir)]
        if self.tls:
            args += ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no"]
            args += [
                "--tls-cert-file",
                str(self.tls["cert"]),
                "--tls-key-file",
                str(self.tls["key"]),
            ]
        else:
            args += ["--port", str(self.port)]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().ping()
                return self
            except redis.exceptions.AuthenticationError:
                return self
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def restart(self, down_s: float = 1.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    d = tmp_path / "redis"
    d.mkdir()
    server = RedisServer(d).start()
    yield server
    server.stop()


def start_worker(url: str, home: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """``atelier worker --queue URL ARGS`` in its own process with its own ATELIER_HOME."""
    full = {**os.environ, "ATELIER_HOME": str(home), "PYTHONPATH": str(REPO), **env}
    full["ATELIER_LANGUAGE"] = "en"  # the tests read its closing line
    return subprocess.Popen(
        [sys.executable, "-m", "atelier.cli", "worker", "--queue", url, *args],
        env=full,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def made_by(q: Any, store: Any, batch_id: int, workers: list[Any], timeout_s: float = 60):
    """Run ``workers`` (in this process) until the submitter's ``Follower`` of local batch
    ``batch_id`` returns; then stop them and close their connections. Returns what the
    follower saw (``FollowResult``)."""
    from atelier.team.follow import Follower

    stop = asyncio.Event()
    runs = [asyncio.create_task(w.run(stop)) for w in workers]
    try:
        return await asyncio.wait_for(Follower(q, store, batch_id).follow(), timeout_s)
    finally:
        stop.set()
        await asyncio.gather(*runs)
        for w in workers:
            await w.q.aclose()
