"""a local redis cluster of three masters, started for a test from the machine's redis-server."""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

MASTERS = 3


def cluster_missing() -> str | None:
    """why a local cluster can't be started here, or None."""
    for tool in ("redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed: the redis cluster test needs a local redis-server to build one"
    return None


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port(taken: list[int]) -> int:
    """a free port whose cluster bus port (10000 above it, so the port stays at most 55535) is free too."""
    for _ in range(1000):
        port = random.randint(20000, 45000)
        if port not in taken and _bindable(port) and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _cli(port: int, *args: str) -> str:
    return subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=30, check=False
    ).stdout


@contextlib.contextmanager
def local_cluster(directory: Path) -> Iterator[list[int]]:
    """three cluster-enabled redis-servers joined into one cluster (no replicas, no persistence); yields ports."""
    ports: list[int] = []
    for _ in range(MASTERS):
        ports.append(cluster_port(ports))
    processes = []
    try:
        for port in ports:
            node = directory / str(port)
            node.mkdir()
            command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(node)]
            command += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
            command += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "redis.log"]
            processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 30
        while not all(_cli(port, "ping").strip() == "PONG" for port in ports):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster's redis-servers did not start")
            time.sleep(0.05)
        created = subprocess.run(
            ["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports], "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if created.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {created.stdout}{created.stderr}")
        while not all("cluster_state:ok" in _cli(port, "cluster", "info") for port in ports):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster never reached cluster_state:ok")
            time.sleep(0.05)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def keys_per_node(ports: list[int]) -> list[int]:
    return [int(_cli(port, "dbsize").strip() or 0) for port in ports]
