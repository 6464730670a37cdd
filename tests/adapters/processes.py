"""Run an adapter as a real process (`python -m adapters.slack`, ...) against the local fakes.

The process gets its own settings file (the session's indexed sample knowledge base, so it starts
without indexing), no Redis (the in-process fallback) and nothing from the developer's .env. Its
log lines (structlog writes to stderr) are collected as they come, so a test can wait for
"connected" or "retrying" before it sends a signal, and measure how long the stop takes.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import REPO

UNREACHABLE = {
    "closed port": "http://127.0.0.1:9",  # connection refused at once
    "unroutable address": "http://10.255.255.1",  # nothing answers: the connection attempt hangs
}


def settings_file(folder: Path, sample_root: Path, sections: dict[str, dict[str, Any]], *,
                  data_dir: Path | None = None) -> Path:
    """A settings file on the session's sample knowledge base, already indexed unless `data_dir`
    names a fresh folder (then the adapter indexes it at start)."""
    data_dir = data_dir or sample_root / "data"
    lines = [f'data_dir = "{data_dir}"', f'prompts_dir = "{REPO / "prompts"}"', 'log_level = "INFO"']
    for audience in ("public", "staff"):
        lines += ["[[knowledge]]", f'path = "{sample_root / "kb" / audience}"', f'audience = "{audience}"']
    # The health/metrics port is off unless a test asks for it: the default (9102) is fixed, and
    # another process on the machine may hold it.
    for name, values in {"ops": {"port": 0}, **sections}.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
    path = folder / "supportbot.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace('"', '\\"') + '"'


class AdapterProcess:
    def __init__(self, args: list[str], *, cwd: Path, env: dict[str, str]) -> None:
        self.args = args
        self.cwd = cwd
        self.env = env
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None
        self._changed = asyncio.Event()

    async def start(self) -> AdapterProcess:
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT")}
        env = {**keep, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **self.env}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, *self.args, cwd=self.cwd, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.proc and self.proc.stdout
        while line := await self.proc.stdout.readline():
            self.lines.append(line.decode(errors="replace").rstrip())
            self._changed.set()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def wait_for(self, pattern: str, timeout_s: float = 90.0) -> str:
        """The first output line matching `pattern` (generous timeout: a loaded machine starts slowly)."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = next((line for line in self.lines if re.search(pattern, line)), None)
            if found:
                return found
            if self.proc and self.proc.returncode is not None and self._reader and self._reader.done():
                raise AssertionError(f"the process ended ({self.proc.returncode}) without {pattern!r}:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} within {timeout_s} s:\n{self.output}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), 0.5)
            except TimeoutError:
                pass

    async def stop(self, sig: int = signal.SIGTERM) -> tuple[float, int]:
        """Send `sig`; how long until the process had exited, and its exit code."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(sig)
        code = await self.finish(timeout_s=30)
        seconds = time.monotonic() - started
        print(f"stopped by {signal.Signals(sig).name} in {seconds:.2f} s (exit {code})")  # the figure, with -s
        return seconds, code

    async def finish(self, timeout_s: float = 90.0) -> int:
        assert self.proc is not None
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout_s)
        except TimeoutError:
            self.proc.kill()
            raise AssertionError(f"the process did not end within {timeout_s} s:\n{self.output}") from None
        if self._reader:
            await self._reader
        return code

    async def kill(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self._reader:
            await self._reader


class Processes:
    """The processes a test started, killed at its end if still running."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.started: list[AdapterProcess] = []

    async def start(self, args: list[str], env: dict[str, str]) -> AdapterProcess:
        process = AdapterProcess(args, cwd=self.cwd, env=env)
        self.started.append(await process.start())
        return process

    async def kill_all(self) -> None:
        for process in self.started:
            await process.kill()
