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
  stream ...                    the streaming load client (see `stream --help`)
  report RESULTS OUT_MD         render RESULTS (key=value lines) as the Markdown report
"""

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import signal
import socket
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
# streaming client: N concurrent chat.completion streams over HTTP/1.1


class _StreamProtocol(asyncio.Protocol):
    """One HTTP/1.1 streamed request. Callbacks only (no per-read coroutine or timer), so that
    one Python process can hold 10,000 streams without becoming the bottleneck."""

    def __init__(self, request, t_start, opened, done_future):
        self.request, self.t_start, self.opened, self.done = request, t_start, opened, done_future
        self.first_byte = self.first_data = None
        self.status = None
        self.finished = False
        self.tail = b""
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        now = time.perf_counter()
        if self.first_byte is None:
            self.first_byte = now
            self.opened.append(now)
            line_end = data.find(b"\r\n")
            parts = data[:line_end if line_end > 0 else 64].split(b" ", 2)
            self.status = parts[1].decode(errors="replace") if len(parts) > 1 else "?"
        buf = self.tail + data
        if self.first_data is None and b"\ndata:" in buf:
            self.first_data = now
        if b"[DONE]" in buf:
            self.finished = True
            self._finish(("ok", self.first_byte - self.t_start, self.first_data - self.t_start,
                          now - self.t_start) if self.status == "200" and self.first_data
                         else ("status", f"{self.status}"))
            self.transport.close()
            return
        self.tail = buf[-16:]

    def connection_lost(self, exc):
        if not self.done.done():
            self._finish(("io", f"closed before [DONE] (status {self.status}, {exc!r})"))

    def _finish(self, result):
        if not self.done.done():
            self.done.set_result(result)


async def one_stream(host, port, request, t_results, idx, opened, timeout):
    loop = asyncio.get_running_loop()
    t_start = time.perf_counter()
    fut = loop.create_future()
    transport = None
    try:
        transport, _ = await loop.create_connection(
            lambda: _StreamProtocol(request, t_start, opened, fut), host, port)
    except OSError as e:
        t_results[idx] = ("connect", str(e))
        return
    timer = loop.call_later(timeout, lambda: fut.done() or fut.set_result(("timeout", "")))
    t_results[idx] = await fut
    timer.cancel()
    transport.close()


async def stream_main(a):
    body = json.load(open(a.body))
    body["stream"] = True
    raw = json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {a.host}:{a.port}\r\n"
        f"Content-Type: application/json\r\nAccept: text/event-stream\r\n"
        f"Authorization: Bearer {a.key}\r\nContent-Length: {len(raw)}\r\n\r\n"
    ).encode()
    request = head + raw
    results = [None] * a.n
    opened = []
    tasks = []
    t0 = time.perf_counter()
    # Ramp up at a fixed rate (in 5 ms batches) so that connection setup is spread out.
    started = 0
    while started < a.n:
        due = min(a.n, int((time.perf_counter() - t0) * a.ramp) + 1)
        while started < due:
            tasks.append(asyncio.ensure_future(
                one_stream(a.host, a.port, request, results, started, opened, a.timeout)))
            started += 1
        await asyncio.sleep(0.005)
    t_all_started = time.perf_counter()
    # Signal run.sh once every stream got its first byte (all are open at once then, as long as
    # each stream lasts longer than the ramp).
    while len(opened) < a.n and any(not t.done() for t in tasks):
        await asyncio.sleep(0.05)
    t_all_open = time.perf_counter()
    if a.ready_file:
        with open(a.ready_file, "w") as f:
            f.write(f"{len(opened)}\n")
    await asyncio.gather(*tasks)
    t_end = time.perf_counter()
    ok = [r for r in results if r and r[0] == "ok"]
    errs = {}
    for r in results:
        if not r or r[0] != "ok":
            kind = r[0] if r else "none"
            errs[kind] = errs.get(kind, 0) + 1
            if a.verbose and r:
                print("stream error:", r, file=sys.stderr)
    if a.dump:
        with open(a.dump, "w") as f:
            for r in results:
                f.write(" ".join(str(x) for x in r) + "\n" if r else "none\n")
    ttfb = sorted(r[1] * 1e6 for r in ok)
    ttfd = sorted(r[2] * 1e6 for r in ok)
    dur = sorted(r[3] for r in ok)
    print(
        f"STREAM_RESULT n={a.n} ok={len(ok)} errors={sum(errs.values())} "
        f"error_kinds={','.join(f'{k}:{v}' for k, v in sorted(errs.items())) or '-'} "
        f"max_open={len(opened)} ramp_s={t_all_started - t0:.2f} "
        f"all_open_s={t_all_open - t0:.2f} total_s={t_end - t0:.2f} "
        f"ttfb_p50_us={percentile(ttfb, 50):.0f} ttfb_p99_us={percentile(ttfb, 99):.0f} "
        f"ttfd_p50_us={percentile(ttfd, 50):.0f} ttfd_p99_us={percentile(ttfd, 99):.0f} "
        f"dur_p50_s={percentile(dur, 50):.2f}"
    )


def stream(argv):
    p = argparse.ArgumentParser(prog="benchlib.py stream")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--body", required=True, help="chat request JSON; stream=true is added")
    p.add_argument("--key", default="sk-bench")
    p.add_argument("-n", type=int, default=100, help="concurrent streams")
    p.add_argument("--ramp", type=float, default=2000.0, help="new streams per second")
    p.add_argument("--timeout", type=float, default=120.0, help="per-stream limit, seconds")
    p.add_argument("--ready-file", help="written once every stream has its first byte")
    p.add_argument("--dump", help="write one line per stream (kind, ttfb, first data, total s)")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(stream_main(a))


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
               ("basalt_open", "Basalt, perimeter off (no auth, policy, quota, audit)")]
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
        w(f"| concurrent streams (all open at once) | {g('stream.max_open', '?')} of "
          f"{g('stream.n', '?')} ({g('stream.errors', '?')} errors) | 10,000 |")
        w(f"| TTFB p50 / p99 under that load (first response byte) | "
          f"{_ms(g('stream.ttfb_p50_us'))} / {_ms(g('stream.ttfb_p99_us'))} ms | |")
        w(f"| first SSE data p50 / p99 under that load | {_ms(g('stream.ttfd_p50_us'))} / "
          f"{_ms(g('stream.ttfd_p99_us'))} ms | |")
        w(f"| TTFB p50 / p99, {g('stream1.n', '?')} streams, light load | "
          f"{_ms(g('stream1.ttfb_p50_us'))} / {_ms(g('stream1.ttfb_p99_us'))} ms | |")
        w(f"| peak RSS with the streams open | {_mb(g('stream.peak_rss_kib'))} MB | ≤ 300 MB |")
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
    elif cmd == "report":
        report(args[0], args[1] if len(args) > 1 else "-")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
