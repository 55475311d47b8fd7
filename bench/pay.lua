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
  local body = "csrf_token=" .. token .. "&payee=" .. payee .. "&currency=HRS&amount=0%3A01"
    .. "&description=bench&idempotency_key=" .. key
  return wrk.format("POST", "/pay", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
