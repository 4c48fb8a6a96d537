"""A real uvicorn server on a free loopback port, in a background thread, per fixture."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from rag.config import Settings
from rag.pipeline import Pipeline
from tests.conftest import make_settings
from ui.server import create_app

PORTAL = "https://portal.example.gov.cn"
ADMIN_TOKEN = "test-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """``create_app(...)`` served by uvicorn on 127.0.0.1 until ``stop()``."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.port}", daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)  # type: ignore[arg-type]

    def wait_ready(self, timeout: float = 600) -> dict:
        """Poll /readyz until 200 (the first-start index build may take a while)."""
        deadline = time.monotonic() + timeout
        with self.client() as c:
            while True:
                r = c.get("/readyz")
                if r.status_code == 200:
                    return r.json()
                if time.monotonic() > deadline:
                    raise AssertionError(f"never ready: {r.json()}")
                time.sleep(0.25)


@pytest.fixture(scope="session")
def live() -> Iterator[list[LiveServer]]:
    """Collects servers started by fixtures so they all stop at the end."""
    servers: list[LiveServer] = []
    yield servers
    for s in servers:
        s.stop()


def serve(live: list[LiveServer], settings: Settings, pipeline: Pipeline | None = None) -> LiveServer:
    server = LiveServer(create_app(settings, pipeline)).start()
    live.append(server)
    return server


@pytest.fixture(scope="session")
def api_server(live: list[LiveServer], bundled: Pipeline, cache_dir: Path) -> LiveServer:
    """The API over the session's bundled index, one allowed portal origin, no admin token."""
    settings = make_settings(bundled.settings.home, cache_dir, server={"allowed_origins": [PORTAL]})
    return serve(live, settings, bundled)
