-- ingest.lua — wrk script for POST /v1/messages (tests/bench/10-ingest.part.sh).
--
--   wrk -t2 -c64 -d10s -s ingest.lua URL -- RUN_ID API_KEY
--
-- Every request is a new contact: its external_id is RUN_ID, the thread's
-- number and a per-thread counter, so no two requests (in any run) share an
-- idempotency key. 5,000 customers recur. done() prints one line the part
-- script reads:
--
--   WRK requests=N duration_us=N non2xx=N errors=N p50_us=N p99_us=N max_us=N
local threads = 0
counter = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  prefix = string.format("%s-t%d-", args[1] or "wrk", tid or 0)
  wrk.method = "POST"
  wrk.path = "/v1/messages"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. (args[2] or "")
end

function request()
  counter = counter + 1
  local k = counter % 5000
  local body = string.format(
    '{"channel":"zalo","external_id":"%s%d","customer":{"name":"Khách %d",' ..
    '"phone":"09%08d","handle":"zalo-%d"},"text":"Tôi cần hỗ trợ đơn hàng #%d",' ..
    '"occurred_at":"2026-11-23T09:00:00+07:00"}', prefix, counter, k, k, k, counter)
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d non2xx=%d errors=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
