-- wrk script for bench/load.py. STQ_SPEC names a file of requests, one per line,
-- tab-separated: method, path, auth header ("Name: value"), body, idempotent (1/0).
-- Each thread walks the list from its own offset, so requests rotate across personas.
-- done() prints one JSON line that load.py parses.

local spec_path = os.getenv("STQ_SPEC")
local reqs = {}
local counter = 0
local next_tid = 0
-- Unique per wrk process (bench/load.py sets it): two processes must never make the same key.
local wrk_id = os.getenv("STQ_WRK_ID") or "0"

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

function init(args)
  for line in io.lines(spec_path) do
    local method, path, auth, body, idem = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
    if method then
      local name, value = auth:match("^([^:]+):%s*(.*)$")
      table.insert(reqs, { method = method, path = path, hname = name, hvalue = value, body = body, idem = idem == "1" })
    end
  end
  counter = (tid or 0) * 7919
  math.randomseed(os.time() + (tid or 0))
end

function request()
  counter = counter + 1
  local r = reqs[(counter % #reqs) + 1]
  local headers = { ["Accept"] = "application/json" }
  if r.hname then headers[r.hname] = r.hvalue end
  local body = nil
  if r.body ~= "" then
    body = r.body
    headers["Content-Type"] = "application/json"
  end
  if r.idem then
    -- One-tap creates carry an Idempotency-Key, like the mini-program sends.
    headers["Idempotency-Key"] = string.format("wrk-%s-%d-%d-%d", wrk_id, tid or 0, counter, math.random(1000000000))
  end
  return wrk.format(r.method, r.path, headers, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {\"requests\":%d,\"duration_us\":%d,\"status_errors\":%d,\"connect_errors\":%d," ..
    "\"read_errors\":%d,\"write_errors\":%d,\"timeouts\":%d,\"p50_us\":%d,\"p90_us\":%d," ..
    "\"p99_us\":%d,\"mean_us\":%.1f,\"max_us\":%d}\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
