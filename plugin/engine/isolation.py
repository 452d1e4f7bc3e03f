"""Running untrusted work (validating and dry-running a diagram) in a separate process with limits.

A designer's diagram is executed for the first time at validation, before anyone has looked at it.
The diagram language already bounds every evaluation (`plugin.engine.sandbox`); this is the second
wall: the work runs in a child process forked from a clean fork server (no threads, no open
database connection of the web worker), with `RLIMIT_CPU`, `RLIMIT_AS` and a wall-clock timeout.
Whatever the child does — loop, allocate, crash — the caller gets an answer or `Isolated`, a
message in Chinese, and the worker stays responsive.

The function and its arguments must be picklable (a module-level function and plain data).
"""
from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import time

CPU_SECONDS = 20
MEMORY_MB = 768
WALL_SECONDS = 60

_context = None
_progress = None   # in a child: the connection to report progress on
_last_progress = None


class Isolated(RuntimeError):
    """The isolated work was stopped by a limit or crashed; the message says which, in Chinese,
    and `element_id` the diagram element the child was working on when it was stopped."""

    def __init__(self, message: str, limit: bool = True, element_id: str | None = None):
        super().__init__(message + (f"（停在元素 {element_id}）" if element_id else ""))
        self.limit = limit
        self.element_id = element_id


def progress(element_id: str | None) -> None:
    """In an isolated child, say which element is being worked on (no-op elsewhere)."""
    global _last_progress
    if _progress is not None and element_id and element_id != _last_progress:
        _last_progress = element_id
        _progress.send(("at", element_id))


def _fork_context():
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        # import the engine once in the fork server, so each child starts warm
        _context.set_forkserver_preload(["plugin.engine.validate"])
    return _context


def _vm_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _child(conn, function, args, cpu_seconds, memory_mb):
    global _progress
    _progress = conn
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        limit = _vm_bytes() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            result = ("ok", function(*args))
        except MemoryError:
            result = ("limit", "内存")
        except RecursionError:
            result = ("limit", "递归深度")
        conn.send(result)
    except BaseException as e:  # noqa: BLE001 — report, never hang the parent
        try:
            conn.send(("error", f"{type(e).__name__}: {e}"))
        except BaseException:  # noqa: BLE001
            pass
    finally:
        conn.close()
        os._exit(0)


def run(function, *args, cpu_seconds: int = CPU_SECONDS, memory_mb: int = MEMORY_MB,
        wall_seconds: float = WALL_SECONDS):
    """`function(*args)` computed in a child process under the limits; Isolated when a limit
    stopped it or it crashed."""
    context = _fork_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, function, args, cpu_seconds, memory_mb), daemon=True)
    process.start()
    sender.close()
    at = None
    deadline = time.monotonic() + wall_seconds
    try:
        while True:
            if not receiver.poll(max(0.0, deadline - time.monotonic())):
                raise Isolated(f"脚本超出时间限制（校验与试运行限 {wall_seconds:g} 秒）", element_id=at)
            try:
                status, value = receiver.recv()
            except (EOFError, OSError):
                process.join(5)
                code = process.exitcode
                if code is not None and -code in (signal.SIGXCPU, signal.SIGKILL):
                    raise Isolated(f"脚本超出时间限制（校验与试运行限 CPU {cpu_seconds} 秒）", element_id=at) from None
                raise Isolated(f"脚本超出内存限制或校验进程异常退出（退出码 {code}）", element_id=at) from None
            if status != "at":
                break
            at = value
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(5)
    if status == "ok":
        return value
    if status == "limit":
        raise Isolated(f"脚本超出{value}限制（校验与试运行限内存 {memory_mb} MB）", element_id=at)
    raise Isolated(f"校验进程出错：{value}", limit=False, element_id=at)
