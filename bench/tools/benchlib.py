#!/usr/bin/env python3
"""Helpers for bench/run.sh (Python 3 standard library only).

Subcommands:
  free-port                     print a TCP port that was free on 127.0.0.1 a moment ago
  rss PID                       VmRSS in KiB of PID plus all its descendants
  cpu PID                       CPU time (clock ticks) of PID plus all its descendants
  rss-peak PID OUT              sample `rss PID` every 50 ms until SIGTERM, then write the peak
  wait-ready LOG LAUNCH TIMEOUT FLAG   start before the server (creates FLAG when up); wait
                                for LAUNCH ("T0 PID"), "listening on HOST:PORT" in LOG, then
                                GET /healthz 200; print "PORT READY_MS LISTEN_MS" since T0
  http-status URL [BODYFILE] [KEY]  print the status of one request (POST when BODYFILE given)
  median FILE KEY               of lines of key=value pairs, print the one with the median KEY
  pct LOGFILE                   percentiles of an h2load --log-file (3rd column, microseconds)
  stream ...                    N concurrent streams over HTTP/1.1 or HTTP/2 (`stream --help`)
  chunks ...                    inter-chunk gaps and CPU per chunk of long streams (`chunks --help`)
  report RESULTS OUT_MD         render RESULTS (key=value lines) as the Markdown report
"""

import argparse
import asyncio
import collections
import json
import os
import platform
import re
import resource
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request


# ---------------------------------------------------------------------------------------------
# small process / network helpers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _vmrss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_tree_kib(pid):
    """VmRSS of pid and every descendant (nginx: master + workers). Shared pages (the binary,
    libraries) count once per process, so this overstates a multi-process server a little."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += _vmrss_kib(p)
        todo.extend(_children(p))
    return total


def cpu_tree_ticks(pid):
    """utime + stime (clock ticks) of pid and every descendant; a process's stat already sums
    its threads."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(") ", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(_children(p))
    return total


def rss_peak(pid, out):
    peak = 0
    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    while not stop:
        peak = max(peak, rss_tree_kib(pid))
        time.sleep(0.05)
    with open(out, "w") as f:
        f.write(f"{peak}\n")


def wait_ready(log, launch_file, timeout, started_flag):
    """Started before the server so that Python's own start-up is not timed. Creates
    started_flag, then waits for launch_file ("T0 PID": epoch seconds just before the launch,
    and the server's pid), for "listening on HOST:PORT" in log, and for GET /healthz 200."""
    open(started_flag, "w").close()
    deadline = time.time() + timeout
    pat = re.compile(r"listening on (\S+):(\d+)")
    port = pid = None

    def alive_or_exit():
        if time.time() > deadline:
            sys.exit(f"not ready after {timeout}s (see {log})")
        if pid is not None and not os.path.exists(f"/proc/{pid}/stat"):
            sys.exit(f"the server exited during start-up (see {log})")
        try:  # a zombie (exited, not yet reaped) still has /proc/PID
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ", 1)[1].startswith("Z"):
                    sys.exit(f"the server exited during start-up (see {log})")
        except (OSError, IndexError, TypeError):
            pass

    while port is None:
        if pid is None:
            try:
                with open(launch_file) as f:
                    t0_text, pid_text = f.read().split()
                    t0, pid = float(t0_text), int(pid_text)
            except (OSError, ValueError):
                pass
        try:
            with open(log, errors="replace") as f:
                m = pat.search(f.read())
                if m:
                    port = int(m.group(2))
        except OSError:
            pass
        if port is None:
            alive_or_exit()
            time.sleep(0.0005)
    t_listen = time.time()
    req = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(req)
                head = s.recv(64)
                if head.startswith(b"HTTP/1.1 200"):
                    break
        except OSError:
            pass
        alive_or_exit()
        time.sleep(0.0005)
    t_ready = time.time()
    while pid is None:  # the launch file is written right after the launch
        try:
            with open(launch_file) as f:
                t0_text, pid_text = f.read().split()
                t0, pid = float(t0_text), int(pid_text)
        except (OSError, ValueError):
            alive_or_exit()
            time.sleep(0.001)
    print(port, f"{(t_ready - t0) * 1000:.1f}", f"{(t_listen - t0) * 1000:.1f}")


def http_status(url, body_file=None, key=None):
    data = open(body_file, "rb").read() if body_file else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    req.add_header("content-type", "application/json")
    if key:
        req.add_header("authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
            print(r.status)
    except urllib.error.HTTPError as e:
        print(e.code)
    except OSError as e:
        print(f"error:{e}")


def percentile(sorted_values, p):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return 0
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def median_line(path, key):
    rows = []
    for line in open(path):
        kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
        if key in kv:
            rows.append((float(kv[key]), line.strip()))
    rows.sort(key=lambda r: r[0])
    # lower median for an even count: a 2-run median should not pick the better of two
    print(rows[(len(rows) - 1) // 2][1] if rows else "")


def pct(logfile):
    vals, bad = [], 0
    with open(logfile) as f:
        for line in f:
            cols = line.split()
            if len(cols) < 3:
                continue
            if not cols[1].startswith("2"):
                bad += 1
            vals.append(int(cols[2]))
    vals.sort()
    print(
        f"count={len(vals)} non2xx={bad} p50_us={percentile(vals, 50)} "
        f"p90_us={percentile(vals, 90)} p99_us={percentile(vals, 99)} "
        f"p999_us={percentile(vals, 99.9)} max_us={vals[-1] if vals else 0}"
    )


# ---------------------------------------------------------------------------------------------
# streaming clients: chat.completion streams over HTTP/1.1 (one connection per stream) or HTTP/2
# (h2c with prior knowledge, many streams per connection). Callbacks only (no per-read coroutine
# or timer), so that one Python process can hold 10,000 streams without becoming the bottleneck.
# h2load is not used for HTTP/2 because it reports time to first byte per connection, not per
# stream; this client times every stream.


class _StreamTiming:
    """What one streamed response looked like from the client: when its first byte and first SSE
    `data:` line arrived, how many SSE events it carried and, with record=True, when each read
    delivered how many of them (for the inter-chunk gaps)."""

    __slots__ = ("t_start", "opened", "done", "first_byte", "first_data", "last_data", "t_end",
                 "status", "events", "done_seen", "tail", "reads")

    def __init__(self, opened, done, record=False):
        self.opened, self.done = opened, done
        self.t_start = self.first_byte = self.first_data = self.last_data = self.t_end = None
        self.status = None
        self.events = 0
        self.done_seen = False
        self.tail = b""
        self.reads = [] if record else None

    def on_first_byte(self, now, status):
        self.first_byte = now
        self.status = status
        self.opened.append(now)

    def on_body(self, now, data):
        # Count in tail + data minus the tail, so that a `data:` split over two reads counts once.
        buf = self.tail + data
        n = buf.count(b"data:") - self.tail.count(b"data:")
        if n:
            if self.first_data is None:
                self.first_data = now
            self.last_data = now
            self.events += n
            if self.reads is not None:
                self.reads.append((now, n))
        if not self.done_seen and b"[DONE]" in buf:
            self.done_seen = True
        self.tail = buf[-16:]

    def finish(self, now):
        if self.done.done():
            return
        self.t_end = now
        if self.status != "200":
            self.done.set_result(("status", f"{self.status}"))
        elif not self.done_seen or self.first_data is None:
            self.done.set_result(("io", "the stream ended before [DONE]"))
        else:
            self.done.set_result(("ok", self))

    def fail(self, kind, detail=""):
        if not self.done.done():
            self.done.set_result((kind, detail))


class _H1Stream(asyncio.Protocol):
    """One HTTP/1.1 streamed request on its own connection; done at `[DONE]`."""

    def __init__(self, request, timing):
        self.request, self.timing = request, timing
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        now = time.perf_counter()
        t = self.timing
        if t.first_byte is None:
            line_end = data.find(b"\r\n")
            parts = data[:line_end if line_end > 0 else 64].split(b" ", 2)
            t.on_first_byte(now, parts[1].decode(errors="replace") if len(parts) > 1 else "?")
        t.on_body(now, data)
        if t.done_seen:
            t.finish(now)
            self.transport.close()

    def connection_lost(self, exc):
        self.timing.fail("io", f"closed before [DONE] (status {self.timing.status}, {exc!r})")


_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_DATA, _HEADERS, _RST_STREAM, _SETTINGS, _PING, _GOAWAY, _WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
_END_STREAM = _ACK = 0x1
_END_HEADERS, _PADDED, _PRIORITY = 0x4, 0x8, 0x20
_MAX_WINDOW = 2**31 - 1
_MAX_FRAME = 16384
# HPACK static table entries for :status (RFC 7541 appendix A), and "200" Huffman-coded.
_STATIC_STATUS = {8: "200", 9: "204", 10: "206", 11: "304", 12: "400", 13: "404", 14: "500"}
_HUFFMAN_200 = b"\x10\x01"


def _frame(ftype, flags, sid, payload=b""):
    head = len(payload).to_bytes(3, "big") + bytes((ftype, flags)) + sid.to_bytes(4, "big")
    return head + payload


def _hpack_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first | value,))
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _hpack_block(headers):
    """Literal fields without indexing and with literal names (RFC 7541 6.2.2): the encoder keeps
    no state, so one block serves every stream."""
    out = bytearray()
    for name, value in headers:
        n, v = name.encode(), value.encode()
        out += b"\x00" + _hpack_int(len(n), 7) + n + _hpack_int(len(v), 7) + v
    return bytes(out)


def _h2_status(block):
    """The response status from the first field of a header block, without a full HPACK decoder
    (servers send :status first; nghttp2 sends 200 as the indexed field 0x88)."""
    if not block:
        return "?"
    b = block[0]
    if b & 0x80:  # beyond the static table: a dynamic entry, never used for 200 by nghttp2
        return _STATIC_STATUS.get(b & 0x7F, f"indexed {b & 0x7F}")
    if len(block) < 2:
        return "?"
    # A literal with an indexed name (one byte, :status is index 8..14), then the value string.
    huffman, length = block[1] & 0x80, block[1] & 0x7F
    value = bytes(block[2:2 + length])
    if huffman:
        return "200" if value == _HUFFMAN_200 else "non-200"
    return value.decode(errors="replace")


class _H2Connection(asyncio.Protocol):
    """A minimal HTTP/2 client connection (h2c, prior knowledge) for streamed POSTs: it opens
    stream and connection windows to the maximum at once, acknowledges SETTINGS and PING,
    honours the connection send window for request bodies, and times each stream."""

    def __init__(self, ready):
        self.ready = ready  # future: True once the server's first SETTINGS arrived
        self.transport = None
        self.buf = bytearray()
        self.streams = {}  # stream id -> _StreamTiming
        self.next_id = 1
        self.send_window = 65535
        self.pending = collections.deque()  # (stream id, body) waiting for the send window
        self.max_streams = None
        self.recv_unacked = 0
        self.closed = None  # why no new stream can be opened

    def connection_made(self, transport):
        self.transport = transport
        settings = (struct.pack(">HI", 2, 0)  # SETTINGS_ENABLE_PUSH = 0
                    + struct.pack(">HI", 4, _MAX_WINDOW))  # SETTINGS_INITIAL_WINDOW_SIZE
        transport.write(_H2_PREFACE + _frame(_SETTINGS, 0, 0, settings) +
                        _frame(_WINDOW_UPDATE, 0, 0, struct.pack(">I", _MAX_WINDOW - 65535)))

    def open_stream(self, header_block, body, timing):
        """Sends HEADERS and the body; returns the stream id (None when the connection is gone)."""
        if self.closed:
            timing.fail("io", self.closed)
            return None
        sid = self.next_id
        self.next_id += 2
        self.streams[sid] = timing
        timing.t_start = time.perf_counter()
        self.transport.write(_frame(_HEADERS, _END_HEADERS, sid, header_block))
        self.pending.append((sid, body))
        self._flush()
        return sid

    def cancel(self, sid):
        if sid is not None and self.streams.pop(sid, None) is not None and not self.closed:
            self.transport.write(_frame(_RST_STREAM, 0, sid, struct.pack(">I", 8)))  # CANCEL

    def _flush(self):
        out = []
        while self.pending and len(self.pending[0][1]) <= self.send_window:
            sid, body = self.pending.popleft()
            if sid in self.streams:
                self.send_window -= len(body)
                out.append(_frame(_DATA, _END_STREAM, sid, body))
        if out:
            self.transport.write(b"".join(out))

    def data_received(self, data):
        now = time.perf_counter()
        buf = self.buf
        buf += data
        pos, out = 0, []
        while len(buf) - pos >= 9:
            length = int.from_bytes(buf[pos:pos + 3], "big")
            if len(buf) - pos - 9 < length:
                break
            ftype, flags = buf[pos + 3], buf[pos + 4]
            sid = int.from_bytes(buf[pos + 5:pos + 9], "big") & 0x7FFFFFFF
            payload = bytes(buf[pos + 9:pos + 9 + length])
            pos += 9 + length
            self._on_frame(now, ftype, flags, sid, payload, out)
        del buf[:pos]
        if out and not self.closed:
            self.transport.write(b"".join(out))

    @staticmethod
    def _strip(flags, payload, priority_flag=0):
        start, end = 0, len(payload)
        if flags & _PADDED:
            start, end = 1, len(payload) - payload[0]
        if flags & priority_flag:
            start += 5
        return payload[start:end]

    def _on_frame(self, now, ftype, flags, sid, payload, out):
        if ftype == _DATA:
            self.recv_unacked += len(payload)
            if self.recv_unacked > 1 << 30:  # keep the connection window open
                out.append(_frame(_WINDOW_UPDATE, 0, 0, struct.pack(">I", self.recv_unacked)))
                self.recv_unacked = 0
            t = self.streams.get(sid)
            if t is not None:
                t.on_body(now, self._strip(flags, payload))
                if flags & _END_STREAM:
                    del self.streams[sid]
                    t.finish(now)
        elif ftype == _HEADERS:
            t = self.streams.get(sid)
            if t is not None:
                if t.first_byte is None:  # not trailers
                    t.on_first_byte(now, _h2_status(self._strip(flags, payload, _PRIORITY)))
                if flags & _END_STREAM:
                    del self.streams[sid]
                    t.finish(now)
        elif ftype == _RST_STREAM:
            t = self.streams.pop(sid, None)
            if t is not None:
                t.fail("reset", f"RST_STREAM {int.from_bytes(payload[:4], 'big')}")
        elif ftype == _SETTINGS:
            if not flags & _ACK:
                for i in range(0, len(payload) - 5, 6):
                    key, value = struct.unpack(">HI", payload[i:i + 6])
                    if key == 3:
                        self.max_streams = value
                out.append(_frame(_SETTINGS, _ACK, 0))
                if not self.ready.done():
                    self.ready.set_result(True)
        elif ftype == _PING:
            if not flags & _ACK:
                out.append(_frame(_PING, _ACK, 0, payload))
        elif ftype == _GOAWAY:
            last = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            self.closed = f"GOAWAY {int.from_bytes(payload[4:8], 'big')}"
            for s in [s for s in self.streams if s > last]:
                self.streams.pop(s).fail("goaway", self.closed)
        elif ftype == _WINDOW_UPDATE and sid == 0:
            self.send_window += int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            self._flush()

    def connection_lost(self, exc):
        self.closed = f"connection closed ({exc!r})"
        for t in self.streams.values():
            t.fail("io", self.closed)
        self.streams.clear()
        if not self.ready.done():
            self.ready.set_result(False)


class _Target:
    """Where and what to send: the same chat request (stream = true) over either protocol."""

    def __init__(self, a):
        body = json.load(open(a.body))
        body["stream"] = True
        if getattr(a, "mock", None):  # a `#mock` directive line for basalt mock-upstream
            user = [m for m in body["messages"] if m.get("role") == "user"][-1]
            user["content"] += f"\n#mock {a.mock}"
        self.raw = json.dumps(body, separators=(",", ":")).encode()
        if len(self.raw) > _MAX_FRAME:
            sys.exit("the request body must fit in one HTTP/2 DATA frame (16 KiB)")
        self.host, self.port, self.proto = a.host, a.port, a.proto
        self.h1_request = (
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: {a.host}:{a.port}\r\n"
            f"Content-Type: application/json\r\nAccept: text/event-stream\r\n"
            f"Authorization: Bearer {a.key}\r\nContent-Length: {len(self.raw)}\r\n\r\n"
        ).encode() + self.raw
        self.h2_headers = _hpack_block([
            (":method", "POST"), (":scheme", "http"), (":path", "/v1/chat/completions"),
            (":authority", f"{a.host}:{a.port}"), ("content-type", "application/json"),
            ("accept", "text/event-stream"), ("authorization", f"Bearer {a.key}"),
            ("content-length", str(len(self.raw)))])

    async def open_h2(self, count):
        """`count` HTTP/2 connections, each past the server's SETTINGS."""
        loop = asyncio.get_running_loop()
        conns = []
        for _ in range(count):
            ready = loop.create_future()
            try:
                _, conn = await loop.create_connection(lambda: _H2Connection(ready), self.host,
                                                       self.port)
            except OSError as e:
                sys.exit(f"cannot connect to {self.host}:{self.port}: {e}")
            if not await asyncio.wait_for(ready, 10):
                sys.exit(f"no HTTP/2 SETTINGS from {self.host}:{self.port}: {conn.closed}")
            conns.append(conn)
        return conns

    async def one(self, opened, timeout, conn=None, record=False):
        """One stream (HTTP/1.1 on a new connection, or HTTP/2 on `conn`): (kind, detail), where
        kind "ok" comes with the _StreamTiming."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        timing = _StreamTiming(opened, fut, record)
        transport = sid = None
        if conn is None:
            timing.t_start = time.perf_counter()
            try:
                transport, _ = await loop.create_connection(
                    lambda: _H1Stream(self.h1_request, timing), self.host, self.port)
            except OSError as e:
                return ("connect", str(e))
        else:
            sid = conn.open_stream(self.h2_headers, self.raw, timing)
        timer = loop.call_later(timeout, timing.fail, "timeout", "")
        result = await fut
        timer.cancel()
        if transport is not None:
            transport.close()
        elif result[0] == "timeout":
            conn.cancel(sid)
        return result


def _error_kinds(results, verbose=False):
    errs = {}
    for r in results:
        if not r or r[0] != "ok":
            kind = r[0] if r else "none"
            errs[kind] = errs.get(kind, 0) + 1
            if verbose and r:
                print("stream error:", r, file=sys.stderr)
    return sum(errs.values()), ",".join(f"{k}:{v}" for k, v in sorted(errs.items())) or "-"


async def stream_main(a):
    """N concurrent streams opened at a fixed rate; over HTTP/2 spread round-robin over
    --conns connections opened first."""
    target = _Target(a)
    conns = [None]
    if a.proto == "h2":
        conns = await target.open_h2(a.conns)
        per_conn = -(-a.n // a.conns)
        limit = min(c.max_streams or per_conn for c in conns)
        if per_conn > limit:
            sys.exit(f"{per_conn} streams per connection, but the server allows {limit}: "
                     "use more --conns")
    results = [None] * a.n
    opened = []
    tasks = []

    async def run(idx, conn):
        results[idx] = await target.one(opened, a.timeout, conn)

    t0 = time.perf_counter()
    # Ramp up at a fixed rate (in 5 ms batches) so that stream setup is spread out.
    started = 0
    while started < a.n:
        due = min(a.n, int((time.perf_counter() - t0) * a.ramp) + 1)
        while started < due:
            tasks.append(asyncio.ensure_future(run(started, conns[started % len(conns)])))
            started += 1
        await asyncio.sleep(0.005)
    t_all_started = time.perf_counter()
    # All are open at once once every stream got its first byte, as long as each stream lasts
    # longer than the ramp.
    while len(opened) < a.n and any(not t.done() for t in tasks):
        await asyncio.sleep(0.05)
    t_all_open = time.perf_counter()
    if a.ready_file:
        with open(a.ready_file, "w") as f:
            f.write(f"{len(opened)}\n")
    await asyncio.gather(*tasks)
    t_end = time.perf_counter()
    ok = [r[1] for r in results if r and r[0] == "ok"]
    errors, kinds = _error_kinds(results, a.verbose)
    if a.dump:
        with open(a.dump, "w") as f:
            for r in results:
                if r and r[0] == "ok":
                    t = r[1]
                    f.write(f"ok {t.first_byte - t.t_start} {t.first_data - t.t_start} "
                            f"{t.t_end - t.t_start}\n")
                else:
                    f.write(" ".join(str(x) for x in r) + "\n" if r else "none\n")
    ttfb = sorted((t.first_byte - t.t_start) * 1e6 for t in ok)
    ttfd = sorted((t.first_data - t.t_start) * 1e6 for t in ok)
    dur = sorted(t.t_end - t.t_start for t in ok)
    # The most streams open at the same moment (between first byte and end), from the client's
    # timestamps: "all open at once" is checked, not assumed from the ramp.
    # Starts sort before ends at the same instant: a stream whose first byte and end came in
    # one read was open for that instant.
    edges = sorted([(t.first_byte, -1) for t in ok] + [(t.t_end, 1) for t in ok])
    peak = level = 0
    for _, end in edges:
        level -= end
        peak = max(peak, level)
    print(
        f"STREAM_RESULT proto={a.proto} conns={len(conns) if a.proto == 'h2' else a.n} "
        f"n={a.n} ok={len(ok)} errors={errors} error_kinds={kinds} "
        f"max_open={len(opened)} peak_open={peak} ramp_s={t_all_started - t0:.2f} "
        f"all_open_s={t_all_open - t0:.2f} total_s={t_end - t0:.2f} "
        f"ttfb_p50_us={percentile(ttfb, 50):.0f} ttfb_p99_us={percentile(ttfb, 99):.0f} "
        f"ttfd_p50_us={percentile(ttfd, 50):.0f} ttfd_p99_us={percentile(ttfd, 99):.0f} "
        f"dur_p50_s={percentile(dur, 50):.2f}"
    )


async def chunks_main(a):
    """Streams one after another (each with many chunks), timing every SSE event; with --cpu-pid
    also the CPU time that process tree used for the measured streams, per event."""
    target = _Target(a)
    conn = (await target.open_h2(1))[0] if a.proto == "h2" else None
    opened = []
    for _ in range(a.warmup):  # the first stream of a process pays for its upstream connection
        await target.one(opened, a.timeout, conn, record=True)
    c0 = cpu_tree_ticks(a.cpu_pid) if a.cpu_pid else 0
    results = []
    for _ in range(a.n):
        results.append(await target.one(opened, a.timeout, conn, record=True))
    c1 = cpu_tree_ticks(a.cpu_pid) if a.cpu_pid else 0
    ok = [r[1] for r in results if r[0] == "ok"]
    errors, kinds = _error_kinds(results, a.verbose)
    events = sum(t.events for t in ok)
    # Mean gap of a stream: first to last event over the gaps between its events. The gap list
    # has one entry per event after the first: the time since the previous read for the first
    # event of a read, 0 for the others that arrived in the same read.
    means, spans, gaps = [], [], []
    for t in ok:
        if t.events < 2:
            continue
        spans.append((t.last_data - t.first_data) * 1e3)
        means.append((t.last_data - t.first_data) * 1e6 / (t.events - 1))
        prev = None
        for now, n in t.reads:
            if prev is not None:
                gaps.append((now - prev) * 1e6)
            gaps.extend([0.0] * (n - 1))
            prev = now
    means.sort()
    spans.sort()
    gaps.sort()
    cpu = ""
    if a.cpu_pid:
        ticks = c1 - c0
        cpu = (f" cpu_ticks={ticks} cpu_us_per_event="
               f"{ticks * 1e6 / os.sysconf('SC_CLK_TCK') / max(1, events):.2f}")
    print(
        f"CHUNK_RESULT proto={a.proto} n={a.n} ok={len(ok)} errors={errors} error_kinds={kinds} "
        f"events={events} events_per_stream={events / max(1, len(ok)):.0f} "
        f"gap_mean_us={percentile(means, 50):.2f} gap_p50_us={percentile(gaps, 50):.1f} "
        f"gap_p99_us={percentile(gaps, 99):.1f} span_ms={percentile(spans, 50):.1f}{cpu}"
    )


def _stream_args(prog, argv, extra):
    p = argparse.ArgumentParser(prog=f"benchlib.py {prog}")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--proto", choices=("h1", "h2"), default="h1",
                   help="h1: HTTP/1.1, a connection per stream; h2: h2c with prior knowledge")
    p.add_argument("--body", required=True, help="chat request JSON; stream=true is added")
    p.add_argument("--key", default="sk-bench")
    p.add_argument("--timeout", type=float, default=120.0, help="per-stream limit, seconds")
    p.add_argument("-v", "--verbose", action="store_true")
    extra(p)
    a = p.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return a


def stream(argv):
    def extra(p):
        p.add_argument("-n", type=int, default=100, help="concurrent streams")
        p.add_argument("--conns", type=int, default=1, help="HTTP/2 connections")
        p.add_argument("--ramp", type=float, default=2000.0, help="new streams per second")
        p.add_argument("--ready-file", help="written once every stream has its first byte")
        p.add_argument("--dump", help="one line per stream (kind, ttfb, first data, total s)")

    asyncio.run(stream_main(_stream_args("stream", argv, extra)))


def chunks(argv):
    def extra(p):
        p.add_argument("-n", type=int, default=10, help="measured streams, one after another")
        p.add_argument("--warmup", type=int, default=1, help="unmeasured streams first")
        p.add_argument("--cpu-pid", type=int, help="report this process tree's CPU per event")
        p.add_argument("--mock", help="append this `#mock` directive to the last user message")

    asyncio.run(chunks_main(_stream_args("chunks", argv, extra)))


# ---------------------------------------------------------------------------------------------
# report


def _machine():
    def sh(cmd):
        try:
            out = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10)
            return (out.stdout + out.stderr).strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "nginx": sh("nginx -v 2>&1").replace("nginx version: ", ""),
        "wrk": (sh("wrk --version 2>&1 | head -1").split(" Copyright")[0]),
        "h2load": sh("h2load --version 2>&1 | head -1"),
        "python": platform.python_version(),
    }


def _f(v, fmt="{:.0f}", dash="—"):
    if v is None or v == "":
        return dash
    try:
        return fmt.format(float(v))
    except ValueError:
        return str(v)


def _ms(us):
    return _f(None if us is None else float(us) / 1000.0, "{:.2f}")


def _mb(kib):
    return _f(None if kib is None else float(kib) / 1024.0, "{:.1f}")


def _errors(r, prefix):
    return sum(int(r.get(f"{prefix}.{k}", "0") or 0)
               for k in ("non2xx", "connect_err", "read_err", "write_err", "timeouts"))


_PROTOCOLS = (("HTTP/1.1", "stream", "stream1", "h1"), ("HTTP/2", "stream_h2", "stream1_h2", "h2"))


def _us(v, fmt="{:.1f}"):
    return _f(v, fmt)


def _stream_rows(w, g):
    """The streaming rows of the Streaming table: per protocol, the concurrent streams with
    their TTFB and memory, then the per-chunk overhead."""
    for label, key, light, _ in _PROTOCOLS:
        if g(f"{key}.n") is None:
            w(f"| {label} streams | not run | |")
            continue
        extra = ""
        if key == "stream_h2":
            extra = f", {g(f'{key}.conns', '?')} connections"
        w(f"| {label}: concurrent streams (most open at the same moment{extra}) | "
          f"{g(f'{key}.peak_open', g(f'{key}.max_open', '?'))} of {g(f'{key}.n', '?')} "
          f"({g(f'{key}.errors', '?')} errors) | 10,000 |")
    for label, key, light, _ in _PROTOCOLS:
        if g(f"{light}.n") is None:
            continue
        w(f"| {label}: TTFB p50 / p99, {g(f'{light}.n', '?')} streams, light load | "
          f"{_ms(g(f'{light}.ttfb_p50_us'))} / {_ms(g(f'{light}.ttfb_p99_us'))} ms | |")
    for label, key, light, _ in _PROTOCOLS:
        if g(f"{key}.n") is None:
            continue
        first = "first response byte" if key == "stream" else "response HEADERS"
        w(f"| {label}: TTFB p50 / p99 under that load ({first}) | "
          f"{_ms(g(f'{key}.ttfb_p50_us'))} / {_ms(g(f'{key}.ttfb_p99_us'))} ms | |")
        w(f"| {label}: first SSE data p50 / p99 under that load | "
          f"{_ms(g(f'{key}.ttfd_p50_us'))} / {_ms(g(f'{key}.ttfd_p99_us'))} ms | |")
    for label, key, light, _ in _PROTOCOLS:
        if g(f"{key}.n") is None:
            continue
        w(f"| {label}: peak RSS with the streams open | {_mb(g(f'{key}.peak_rss_kib'))} MB "
          f"| ≤ 300 MB |")
        per = None
        try:
            per = ((float(g(f"{key}.peak_rss_kib")) - float(g(f"{key}.base_rss_kib"))) /
                   max(1.0, float(g(f"{key}.max_open"))))
        except (TypeError, ValueError):
            pass
        w(f"| {label}: RSS per open stream | {_f(per, '{:.1f}')} KiB | "
          f"(≤ 30 KiB: 300 MB / 10,000) |")
    if g("chunk.words") is None:
        return
    for mode in ("unpaced", "paced"):
        how = (f"unpaced" if mode == "unpaced"
               else f"paced at {_f(g('chunk.paced_rate'))} chunks/s")
        for label, _, _, proto in _PROTOCOLS:
            c = f"chunk.{mode}.{proto}"
            if g(f"{c}.basalt.events") is None:
                w(f"| {label}: per chunk, {how} | not run | |")
                continue
            added = None
            if g(f"{c}.direct.gap_mean_us") and g(f"{c}.basalt.gap_mean_us"):
                added = float(g(f"{c}.basalt.gap_mean_us")) - float(g(f"{c}.direct.gap_mean_us"))
            errors = int(g(f"{c}.direct.errors", "0") or 0) + int(g(f"{c}.basalt.errors", "0") or 0)
            w(f"| {label}: per chunk, {how} ({g('chunk.words')}-chunk streams): time added, "
              f"Basalt CPU | {_us(added)} µs added (mean gap "
              f"{_us(g(f'{c}.direct.gap_mean_us'))} → {_us(g(f'{c}.basalt.gap_mean_us'))} µs, "
              f"p99 {_f(g(f'{c}.direct.gap_p99_us'))} → {_f(g(f'{c}.basalt.gap_p99_us'))} µs); "
              f"CPU {_us(g(f'{c}.basalt.cpu_us_per_event'))} µs"
              f"{f' ({errors} errors)' if errors else ''} | |")


def report(results_path, out_path):
    r = {}
    for line in open(results_path):
        line = line.strip()
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            r[k] = v
    m = _machine()
    g = r.get
    lines = []
    w = lines.append
    w(f"# Basalt benchmark results — {m['date']}")
    w("")
    w("Produced by `bench/run.sh --record` (how to run and read it: `bench/README.md`).")
    w("")
    w(f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, Linux {m['kernel']}; "
      f"nginx {m['nginx']}, {m['wrk']}, {m['h2load']}, Python {m['python']}.")
    w(f"Load generator and servers share these {m['nproc']} cores ({g('pinning', '?')}).")
    w(f"Basalt: `{g('basalt.binary', '?')}` (tree at commit {g('basalt.commit', '?')}), "
      f"server.threads = {g('basalt.threads', '?')}, governance: "
      f"{g('basalt.governance', 'n/a')}.")
    w("")
    w(f"### Non-streaming throughput: wrk {g('wrk.args', '?')}, POST /v1/chat/completions "
      f"({g('req.bytes', '?')}-byte request, {g('resp.bytes', '?')}-byte chat.completion reply)")
    w("")
    w(f"Every measurement below ran {g('rounds', '?')} time(s), round-robin over the targets; "
      "each row is the run with the median RPS (throughput) or median p99 (latency tables). "
      "Server CPU µs/req = CPU time (user + system, all threads and workers) the server used "
      "during that run divided by its requests: for the direct row the upstream nginx, for the "
      "proxies the proxy alone. It is the least noise-sensitive column on a shared machine.")
    w("")
    w("| target | RPS | p50 ms | p99 ms | added p50 ms | added p99 ms | server CPU µs/req | "
      "RSS after run MB | errors |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    targets = [("direct", "upstream direct (nginx, static reply)"),
               ("nginx", "nginx reverse proxy"), ("basalt", "Basalt, governance on"),
               ("basalt_open", "Basalt, perimeter off (no auth, policy, quota, audit)"),
               ("portkey", f"Portkey gateway {g('portkey.version', '')} (npm @portkey-ai/gateway, "
                           f"Node {g('portkey.node', '?')})")]
    for key, label in targets:
        if g(f"sat.{key}.rps") is None:
            w(f"| {label} | not run: {g(f'sat.{key}.skip', '?')} | | | | | | | |")
            continue
        add50 = add99 = None
        if key != "direct" and g("sat.direct.p50_us"):
            add50 = float(g(f"sat.{key}.p50_us")) - float(g("sat.direct.p50_us"))
            add99 = float(g(f"sat.{key}.p99_us")) - float(g("sat.direct.p99_us"))
        w(f"| {label} | {_f(g(f'sat.{key}.rps'))} | {_ms(g(f'sat.{key}.p50_us'))} | "
          f"{_ms(g(f'sat.{key}.p99_us'))} | {_ms(add50)} | {_ms(add99)} | "
          f"{_f(g(f'sat.{key}.cpu_us_per_req'), '{:.1f}')} | "
          f"{_mb(g(f'sat.{key}.rss_kib')) if key != 'direct' else '—'} | "
          f"{_errors(r, f'sat.{key}')} |")
    if g("sat.basalt.rps") and g("sat.nginx.rps"):
        ratio = float(g("sat.basalt.rps")) / float(g("sat.nginx.rps"))
        w("")
        w(f"**Basalt / nginx RPS = {ratio:.2f}** with governance on (target ≥ 0.90).")
        if g("sat.basalt_open.rps"):
            open_ratio = float(g("sat.basalt_open.rps")) / float(g("sat.nginx.rps"))
            w(f"**Basalt (perimeter off) / nginx RPS = {open_ratio:.2f}**.")
            cost = ""
            if g("sat.basalt.cpu_us_per_req") and g("sat.basalt_open.cpu_us_per_req"):
                extra = (float(g("sat.basalt.cpu_us_per_req")) -
                         float(g("sat.basalt_open.cpu_us_per_req")))
                cost = f", {extra:.1f} µs of server CPU per request"
            w(f"Governance (key auth + IAM policy + quota + durable audit) costs "
              f"{(1 - float(g('sat.basalt.rps')) / float(g('sat.basalt_open.rps'))) * 100:.0f}% "
              f"of the open gateway's throughput{cost}.")
    if g("sat.basalt.rps") and g("sat.portkey.rps"):
        pk = float(g("sat.portkey.rps"))
        w(f"**Basalt (governance on) / Portkey RPS = {float(g('sat.basalt.rps')) / pk:.1f}×** "
          f"(target ≥ 10×)" + (f"; perimeter off {float(g('sat.basalt_open.rps')) / pk:.1f}×."
                              if g("sat.basalt_open.rps") else "."))
    w("")
    w(f"### Added latency below saturation")
    w("")
    w(f"Fixed rate: h2load {g('fixed.args', '?')} — the same absolute rate for every target, "
      f"half of {g('fixed.basis', '?')}'s saturated RPS above (wrk cannot hold a fixed rate; "
      f"h2load `--rps` paces each connection on a timer, so this is close to open-loop as long "
      f"as a response takes less than a period). Light closed loop: wrk "
      f"{g('light.args', '?')}.")
    w("")
    w("| target | fixed-rate p50 ms | fixed-rate p99 ms | added p99 ms | "
      f"wrk -c{g('light.conns', '?')} RPS | p50 ms | p99 ms | added p99 ms |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for key, label in targets:
        if key == "portkey":  # saturation only
            continue
        fadd = ladd = None
        if key != "direct" and g(f"fixed.{key}.p99_us") and g("fixed.direct.p99_us"):
            fadd = float(g(f"fixed.{key}.p99_us")) - float(g("fixed.direct.p99_us"))
        if key != "direct" and g(f"light.{key}.p99_us") and g("light.direct.p99_us"):
            ladd = float(g(f"light.{key}.p99_us")) - float(g("light.direct.p99_us"))
        w(f"| {label} | {_ms(g(f'fixed.{key}.p50_us'))} | {_ms(g(f'fixed.{key}.p99_us'))} | "
          f"{_ms(fadd)} | {_f(g(f'light.{key}.rps'))} | {_ms(g(f'light.{key}.p50_us'))} | "
          f"{_ms(g(f'light.{key}.p99_us'))} | {_ms(ladd)} |")
    w("")
    w("### Streaming, memory, start-up (Basalt)")
    w("")
    w("| measure | value | target |")
    w("|---|---:|---:|")
    if g("stream.skip"):
        w(f"| streaming | not run: {g('stream.skip')} | |")
    else:
        _stream_rows(w, g)
    w(f"| idle RSS just after start | {_mb(g('basalt.idle_rss_kib'))} MB | ≤ 30 MB |")
    if g("startup.restart_median_ms"):
        w(f"| restart on an existing data dir (launch → GET /healthz 200), median of "
          f"{g('startup.runs', '?')} | {_f(g('startup.restart_median_ms'), '{:.1f}')} ms "
          f"| ≤ 100 ms |")
    w(f"| first start on a new data dir (launch → GET /healthz 200), median of "
      f"{g('startup.runs', '?')} | "
      f"{_f(g('startup.median_ms'), '{:.1f}')} ms (min {_f(g('startup.min_ms'), '{:.1f}')}; "
      f"'listening on' printed after {_f(g('startup.listen_median_ms'), '{:.1f}')} ms) "
      f"| ≤ 100 ms |")
    w("")
    if g("notes"):
        w("Notes:")
        w("")
        w(g("notes").replace("\\n", "\n").rstrip())
        w("")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if out_path and out_path != "-":
        with open(out_path, "w") as f:
            f.write(text)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "free-port":
        print(free_port())
    elif cmd == "rss":
        print(rss_tree_kib(int(args[0])))
    elif cmd == "cpu":
        print(cpu_tree_ticks(int(args[0])))
    elif cmd == "rss-peak":
        rss_peak(int(args[0]), args[1])
    elif cmd == "wait-ready":
        wait_ready(args[0], args[1], float(args[2]), args[3])
    elif cmd == "http-status":
        http_status(*args)
    elif cmd == "median":
        median_line(args[0], args[1])
    elif cmd == "pct":
        pct(args[0])
    elif cmd == "stream":
        stream(args)
    elif cmd == "chunks":
        chunks(args)
    elif cmd == "report":
        report(args[0], args[1] if len(args) > 1 else "-")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
