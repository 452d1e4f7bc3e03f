"""The OIDC test harness: the real provider (`provider.mjs`, oidc-provider from npm) as a child
process on 127.0.0.1, and a man-in-the-middle proxy in front of it that can tamper with the token
endpoint's answers (the attacker in the forged / unsigned / wrong-audience tests). Everything listens
on 127.0.0.1 only."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}


class Unavailable(RuntimeError):
    """Node.js, npm or the provider cannot be had on this machine."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_installed() -> None:
    """`npm ci` in tests/oidc when its node_modules are missing or older than the lock file."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise Unavailable("node and npm are needed for the OIDC tests (apt-get install -y nodejs npm)")
    stamp = HERE / "node_modules" / ".package-lock.json"
    if stamp.exists() and stamp.stat().st_mtime >= (HERE / "package-lock.json").stat().st_mtime:
        return
    done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True,
                          timeout=600)
    if done.returncode != 0:
        raise Unavailable(f"npm ci in tests/oidc failed: {done.stderr[-2000:]}")


class ProviderProcess:
    """`node provider.mjs` listening on `port` with `issuer` as its issuer URL."""

    def __init__(self, issuer: str, port: int, clients: list[dict]):
        ensure_installed()
        env = dict(os.environ, OIDC_ISSUER=issuer, OIDC_PORT=str(port), OIDC_CLIENTS=json.dumps(clients))
        self.process = subprocess.Popen(["node", str(HERE / "provider.mjs")], cwd=HERE, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if "oidc-provider ready" in line:
                return
            if self.process.poll() is not None:
                raise Unavailable(f"oidc-provider exited: {self.process.stderr.read()[-2000:]}")
        self.stop()
        raise Unavailable("oidc-provider did not start within 60 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()


class TamperProxy:
    """Forwards every request to the provider unchanged (the Host header too, so the provider's URLs
    name the proxy), except that `tamper(token_response_json) -> json` rewrites the token endpoint's
    answers while it is set."""

    def __init__(self, port: int, upstream_port: int):
        self.tamper = None
        self.token_responses: list[dict] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if self.path.split("?")[0] == "/token" and response.status == 200:
                    token = json.loads(data)
                    proxy.token_responses.append(dict(token))
                    if proxy.tamper is not None:
                        data = json.dumps(proxy.tamper(token)).encode()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="oidc-tamper-proxy", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
