-- wrk script shared by every target in bench/run.sh: POST the same chat request body with the
-- same headers, then print one machine-readable line (BENCH_RESULT) that run.sh parses.
-- Environment: BENCH_BODY_FILE (request JSON), BENCH_API_KEY (sent as a Bearer token; the
-- nginx targets ignore it, Basalt checks it when authentication is on).
local body_file = os.getenv("BENCH_BODY_FILE")
local f = assert(io.open(body_file, "rb"), "cannot open BENCH_BODY_FILE")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_API_KEY") or "sk-bench")

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  -- Latencies are in microseconds.
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_s=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d " ..
    "p999_us=%d max_us=%d non2xx=%d connect_err=%d read_err=%d write_err=%d timeouts=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
