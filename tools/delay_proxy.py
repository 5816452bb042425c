#!/usr/bin/env python
# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A TCP forwarding proxy that adds latency and counts bytes.

Stands in for ``tc netem`` where the kernel has none.  Every chunk read from
one side is delivered to the other RTT/2 after it was read (a pipelined stream
is shifted by RTT/2, not delayed cumulatively), so a request/response round
trip through the proxy costs one extra RTT.  The TCP handshake with the proxy
itself is local and is *not* delayed.

Usage::

    delay_proxy.py --listen 127.0.0.1:0 --target 127.0.0.1:2222 --rtt-ms 10 \\
        --stats /tmp/proxy.json

The first stdout line is ``PORT <n>`` (the port actually bound).  Stats JSON
``{"up": N, "down": N, "connections": N, ...}`` is written atomically on
SIGUSR1 and on SIGTERM/SIGINT (which then exit).  ``up`` counts bytes
delivered client->target, ``down`` target->client.

``delay_proxy.py --measure HOST:PORT`` prints the median SSH round-trip time
in ms (``measure_rtt()`` does the same from Python).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import signal
import socket
import statistics
import sys
import time
from typing import Deque, Dict, List, Optional, Tuple

CHUNK = 256 * 1024
# Bytes buffered per direction before the proxy stops reading from the sender.
MAX_BUFFERED = 32 * 1024 * 1024


class Stats:
    """Byte and connection counters, dumped as JSON."""

    def __init__(self, path: Optional[str]) -> None:
        self.path = path
        self.up = 0
        self.down = 0
        self.connections = 0
        self.active = 0
        self.errors = 0
        self.generation = 0

    def as_dict(self) -> Dict[str, int]:
        return {"up": self.up, "down": self.down, "connections": self.connections,
                "active": self.active, "errors": self.errors,
                "generation": self.generation}

    def write(self) -> None:
        """Write the stats file atomically (tmp + rename)."""
        if not self.path:
            return
        self.generation += 1
        tmp = "%s.tmp.%d" % (self.path, os.getpid())
        with open(tmp, "w") as f:
            json.dump(self.as_dict(), f)
            f.write("\n")
        os.replace(tmp, self.path)


class DelayPipe:
    """One direction of a proxied connection: read, timestamp, deliver later."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 delay: float, stats: Stats, counter: str) -> None:
        self.reader = reader
        self.writer = writer
        self.delay = delay
        self.stats = stats
        self.counter = counter
        self.queue: Deque[Tuple[float, Optional[bytes]]] = collections.deque()
        self.buffered = 0
        self.has_data = asyncio.Event()
        self.has_room = asyncio.Event()
        self.has_room.set()

    async def pump_in(self) -> None:
        """Read chunks and queue them with their delivery time; None marks EOF."""
        loop = asyncio.get_running_loop()
        # A read error propagates; the connection handler then closes both sides.
        while True:
            await self.has_room.wait()
            data = await self.reader.read(CHUNK)
            self.queue.append((loop.time() + self.delay, data or None))
            self.has_data.set()
            if not data:
                return
            self.buffered += len(data)
            if self.buffered >= MAX_BUFFERED:
                self.has_room.clear()

    async def pump_out(self) -> None:
        """Deliver queued chunks at their due time; half-close on EOF."""
        loop = asyncio.get_running_loop()
        while True:
            while not self.queue:
                self.has_data.clear()
                await self.has_data.wait()
            due, data = self.queue.popleft()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                if self.writer.can_write_eof():
                    self.writer.write_eof()
                await self.writer.drain()
                return
            self.writer.write(data)
            await self.writer.drain()
            self.buffered -= len(data)
            if self.buffered < MAX_BUFFERED:
                self.has_room.set()
            setattr(self.stats, self.counter, getattr(self.stats, self.counter) + len(data))


class Proxy:
    """Accepts connections and forwards them to the target with added delay."""

    def __init__(self, target: Tuple[str, int], rtt_ms: float, stats: Stats) -> None:
        self.target = target
        self.delay = max(0.0, rtt_ms) / 2000.0
        self.stats = stats
        self.tasks: set = set()

    async def handle(self, c_reader: asyncio.StreamReader,
                     c_writer: asyncio.StreamWriter) -> None:
        """Serve one client connection until both directions are done."""
        task = asyncio.current_task()
        self.tasks.add(task)
        self.stats.connections += 1
        self.stats.active += 1
        t_writer: Optional[asyncio.StreamWriter] = None
        try:
            try:
                t_reader, t_writer = await asyncio.open_connection(
                    self.target[0], self.target[1], limit=4 * CHUNK)
            except OSError:
                self.stats.errors += 1
                return
            for w in (c_writer, t_writer):
                _tune(w)
            up = DelayPipe(c_reader, t_writer, self.delay, self.stats, "up")
            down = DelayPipe(t_reader, c_writer, self.delay, self.stats, "down")
            jobs = [asyncio.ensure_future(j) for j in
                    (up.pump_in(), up.pump_out(), down.pump_in(), down.pump_out())]
            try:
                # Normal end: all four finish (both EOFs delivered).  Any error
                # ends the connection: cancel the rest and close both sides.
                done, pending = await asyncio.wait(jobs, return_when=asyncio.FIRST_EXCEPTION)
                if pending or any(not j.cancelled() and j.exception() for j in done):
                    self.stats.errors += 1
            finally:
                for j in jobs:
                    j.cancel()
                await asyncio.gather(*jobs, return_exceptions=True)
        except asyncio.CancelledError:
            # Proxy shutdown.  Return normally: a handler task that ends
            # cancelled makes asyncio's start_server log a spurious traceback.
            pass
        finally:
            self.stats.active -= 1
            for w in (c_writer, t_writer):
                if w is not None:
                    w.close()
            self.tasks.discard(task)


def _tune(writer: asyncio.StreamWriter) -> None:
    """Disable Nagle and raise the write buffer limits for throughput."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    writer.transport.set_write_buffer_limits(high=4 * CHUNK)


def parse_hostport(text: str) -> Tuple[str, int]:
    """Parse HOST:PORT (IPv6 as [addr]:port)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % text)
    return host.strip("[]") or "127.0.0.1", int(port)


def _recv_until(s: socket.socket, buf: bytes, need: int) -> bytes:
    """Receive into buf until the bytes after the first line number >= need."""
    while True:
        nl = buf.find(b"\n")
        if nl >= 0 and len(buf) - (nl + 1) >= need:
            return buf
        data = s.recv(65536)
        if not data:
            raise ConnectionError("server closed the connection early")
        buf += data


def measure_rtt(host: str, port: int, n: int = 5, mode: str = "roundtrip",
                timeout: float = 10.0) -> float:
    """Return the median time in ms of n SSH probes to host:port (e.g. via the proxy).

    mode "roundtrip" (default): connect, wait for the server's banner, then
    time from sending our identification line until the server's KEXINIT
    arrives.  OpenSSH's sshd sends KEXINIT only after reading the client
    banner, so this is one full client->server->client trip: ~base + RTT
    through the proxy, and not skewed by sshd's per-connection fork/exec.

    mode "banner": time TCP connect + first byte (the server banner).  Through
    this proxy that shows only RTT/2 (the handshake with the proxy is local)
    plus sshd's start-up time (~10+ ms here).
    """
    samples: List[float] = []
    for dummy in range(n):
        t0 = time.perf_counter()
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if mode == "banner":
                if not s.recv(1):
                    raise ConnectionError("server closed before its banner")
                samples.append((time.perf_counter() - t0) * 1000.0)
                continue
            buf = _recv_until(s, b"", 0)
            t1 = time.perf_counter()
            s.sendall(b"SSH-2.0-velocity_rtt_probe\r\n")
            _recv_until(s, buf, 5)
            samples.append((time.perf_counter() - t1) * 1000.0)
    return statistics.median(samples)


def request_stats(pid: int, path: str, timeout: float = 5.0) -> Dict[str, int]:
    """Ask a running proxy (by pid) to write its stats and return them."""
    def gen() -> int:
        try:
            with open(path) as f:
                return int(json.load(f).get("generation", 0))
        except (OSError, ValueError):
            return -1
    before = gen()
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while gen() <= before:
        if time.monotonic() > deadline:
            raise TimeoutError("proxy %d did not write %s" % (pid, path))
        time.sleep(0.01)
    with open(path) as f:
        return json.load(f)


async def serve(listen: Tuple[str, int], target: Tuple[str, int], rtt_ms: float,
                stats: Stats) -> None:
    """Run the proxy until SIGTERM/SIGINT."""
    proxy = Proxy(target, rtt_ms, stats)
    server = await asyncio.start_server(proxy.handle, listen[0], listen[1],
                                        limit=4 * CHUNK, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    print("PORT %d" % port, flush=True)
    stats.write()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, stats.write)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    for t in list(proxy.tasks):
        t.cancel()
    await asyncio.gather(*proxy.tasks, return_exceptions=True)
    stats.write()


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", type=parse_hostport, default=("127.0.0.1", 0),
                   help="HOST:PORT to listen on; port 0 picks one (default 127.0.0.1:0)")
    p.add_argument("--target", type=parse_hostport, help="HOST:PORT to forward to")
    p.add_argument("--rtt-ms", type=float, default=0.0,
                   help="added round-trip time in ms (RTT/2 each way); 0 = plain forwarding")
    p.add_argument("--stats", default=None, help="JSON stats file")
    p.add_argument("--measure", type=parse_hostport, metavar="HOST:PORT",
                   help="print the median SSH round-trip time in ms to HOST:PORT and exit")
    p.add_argument("-n", type=int, default=5, help="samples for --measure")
    p.add_argument("--measure-mode", choices=("roundtrip", "banner"), default="roundtrip",
                   help="what --measure times (see measure_rtt)")
    args = p.parse_args(argv)
    if args.measure:
        print("%.2f" % measure_rtt(args.measure[0], args.measure[1], args.n, args.measure_mode))
        return 0
    if not args.target:
        p.error("--target is required")
    try:
        asyncio.run(serve(args.listen, args.target, args.rtt_ms, Stats(args.stats)))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
