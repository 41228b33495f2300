"""Security of the team queue (issue 16): AUTH and ACL users with the password from the keyring,
TLS with rediss://, only ``atelier:*`` keys touched, and no provider key ever on the queue."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from atelier.core.models import JobSpec, RunSettings
from atelier.core.secrets import set_secret
from atelier.store import Store
from atelier.team.connection import QueueError, queue_secret_name, safe_url
from atelier.team.follow import submit_batch
from atelier.team.queue import TeamQueue
from atelier.team.worker import Worker
from tests.support.batches import store_batch
from tests.support.redis import RedisServer, made_by


async def _draft_batch(url: str, tmp_path: Path, n: int = 4) -> int:
    store = Store(tmp_path / "submitter.db")
    rs = RunSettings(provider="draft", model="draft")
    specs = [JobSpec(prompt=f"p{i}", output_path=f"p{i}.png", size="64x64") for i in range(n)]
    bid = store_batch(store, rs, specs, tmp_path / "out")
    q = TeamQueue.open(url)
    await submit_batch(q, store, bid)
    w = Worker(TeamQueue.open(url), ["draft"], 2, 5.0, home=tmp_path / "w")
    result = await made_by(q, store, bid, [w], 30)
    await q.aclose()
    return result.completed


async def test_password_from_the_keyring(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    server = RedisServer(tmp_path / "r", password="s3cret-queue").start()
    try:
        q = TeamQueue.open(server.url)
        with pytest.raises(QueueError, match=f"127.0.0.1:{server.port}"):
            await q.ping()
        await q.aclose()
        set_secret(queue_secret_name(server.url), "s3cret-queue")
        assert await _draft_batch(server.url, tmp_path) == 4
    finally:
        server.stop()


async def test_an_acl_user_limited_to_atelier_keys(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    server = RedisServer(tmp_path / "r", password="admin-pw").start()
    try:
        # Only keys under atelier:* and no dangerous commands: whatever we touch is our own.
        server.client().acl_setuser(
            "studio",
            enabled=True,
            passwords=["+team-pw"],
            keys=["atelier:*"],
            commands=["+@all", "-@dangerous"],
        )
        server.client().set("someone-elses-key", b"untouched")
        url = f"redis://studio@127.0.0.1:{server.port}/0"
        set_secret(queue_secret_name(url), "team-pw")
        assert queue_secret_name(url) == f"redis:studio@127.0.0.1:{server.port}"
        assert await _draft_batch(url, tmp_path) == 4
        assert server.client().get("someone-elses-key") == b"untouched"
        assert safe_url(f"redis://studio:team-pw@127.0.0.1:{server.port}/0") == url
    finally:
        server.stop()


def _certs(d: Path) -> dict[str, Path]:
    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    ssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=atelier test CA",
    )
    ssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    ssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
    )
    return {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}


async def test_tls_with_rediss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "pki").mkdir()
    certs = _certs(tmp_path / "pki")
    server = RedisServer(tmp_path / "r", tls=certs).start()
    try:
        assert server.url.startswith("rediss://")
        q = TeamQueue.open(server.url)
        with pytest.raises(QueueError, match="certificate"):  # not trusted yet
            await q.ping()
        await q.aclose()
        monkeypatch.setenv("SSL_CERT_FILE", str(certs["ca"]))  # the team's CA, trusted
        assert await _draft_batch(server.url, tmp_path) == 4
        with pytest.raises(QueueError, match="rediss://"):  # not a Redis address at all
            bad = TeamQueue.open("http://127.0.0.1:1/0")
            await bad.ping()
    finally:
        server.stop()
