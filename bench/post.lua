-- wrk script: POST with an empty body (the bare app's /tpcb), then print the figures.
wrk.method = "POST"
-- wrk script: print one machine-readable line with the figures bench/http_load.py records.
function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT requests=%d seconds=%.3f errors=%d p50=%.3f p99=%.3f bytes=%d\n",
    summary.requests, summary.duration / 1e6, errors, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.bytes))
end
