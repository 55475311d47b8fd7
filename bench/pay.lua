-- wrk script: POST the pay form (session cookie and CSRF token from bench/http_load.py), a fresh
-- idempotency key per request, to a random payee among the ids given; 302 counts as success.
local payees, token, counter = {}, nil, 0

function init(args)
  token = args[1]
  for id in string.gmatch(args[2], "%d+") do table.insert(payees, id) end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  counter = counter + 1
  local payee = payees[math.random(#payees)]
  local key = string.format("%x%x%d", math.random(0, 0x7fffffff), os.time(), counter)
  local body = "csrf_token=" .. token .. "&payee=" .. payee .. "&currency=HOUR&amount=0%3A01"
    .. "&description=bench&idempotency_key=" .. key
  -- wrk.format uses these headers instead of wrk.headers (the -H ones: Host, Cookie).
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return wrk.format("POST", "/pay", headers, body)
end

-- The figures line bench/http_load.py reads (as in report.lua; wrk takes one script).
function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT requests=%d seconds=%.3f errors=%d p50=%.3f p99=%.3f bytes=%d\n",
    summary.requests, summary.duration / 1e6, errors, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.bytes))
end
