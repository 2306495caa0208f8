-- Mixed traffic for Loupan's group benchmark (bench/group/run.sh), one request
-- mix for every wrk thread: searches by phone and name, customer reads, the
-- 销控图, the workbench, registrations (each a new customer) and the ageing
-- report, in the proportions a sales office makes them. The tokens and ids
-- come from the environment the script sets. `LOUPAN_DELAY_MS` paces each
-- connection (the soak at a set share of the maximum); 0 runs flat out.

local agent = os.getenv("LOUPAN_AGENT_TOKEN")
local finance = os.getenv("LOUPAN_FINANCE_TOKEN")
local project = os.getenv("LOUPAN_PROJECT")
local building = os.getenv("LOUPAN_BUILDING")
local customers = {}
for id in string.gmatch(os.getenv("LOUPAN_CUSTOMERS"), "[^,]+") do customers[#customers + 1] = id end
local surnames = { "%E7%8E%8B", "%E6%9D%8E", "%E5%BC%A0", "%E5%88%98", "%E9%99%88" } -- 王 李 张 刘 陈
local pace = tonumber(os.getenv("LOUPAN_DELAY_MS") or "0")

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  threads[#threads + 1] = thread
end

local n = 0
local run = tostring(os.time())

function request()
  n = n + 1
  local pick = n % 20
  local auth = { ["Authorization"] = "Bearer " .. agent }
  if pick < 5 then
    return wrk.format("GET", "/api/v1/customers?q=1390013" .. string.format("%04d", n % 10000) .. "&limit=20", auth)
  elseif pick < 8 then
    return wrk.format("GET", "/api/v1/customers?q=" .. surnames[(n % #surnames) + 1] .. "&limit=20", auth)
  elseif pick < 11 then
    return wrk.format("GET", "/api/v1/customers/" .. customers[(n % #customers) + 1], auth)
  elseif pick < 14 then
    return wrk.format("GET", "/api/v1/buildings/" .. building .. "/chart", auth)
  elseif pick < 16 then
    return wrk.format("GET", "/api/v1/workbench", auth)
  elseif pick < 19 then
    -- A phone and a name of their own: wrk loads the script once a step and
    -- a minute, so `n` starts again, and a phone or name registered again in
    -- the project is a duplicate record of every earlier customer with it
    -- (S3). The phones once overlapped from one minute to the next (the run's
    -- second times 7, plus `n`), so by minute 30 each registration matched
    -- some 35 earlier customers and wrote a record for each: work that grew
    -- with the time since the start, until the instances could no longer keep
    -- up with the soak's pace. A thread sends fewer than 2,000 requests a
    -- second, so with the run's second times 2,000 no two runs share a phone.
    local phone = string.format("13%01d%08d", id % 10, (tonumber(run) * 2000 + n) % 100000000)
    local body = '{"project_id":"' .. project .. '","name":"压测' .. id .. '-' .. run .. '-' .. n .. '","phone":"' .. phone .. '"}'
    auth["Content-Type"] = "application/json"
    return wrk.format("POST", "/api/v1/customers", auth, body)
  else
    return wrk.format("GET", "/api/v1/finance/reports/ageing?as_of=2026-12-06&limit=50",
      { ["Authorization"] = "Bearer " .. finance })
  end
end

function delay()
  return pace
end

-- Errors counted by status: wrk's summary only says "non-2xx".
local failed = 0
function response(status, headers, body)
  if status >= 400 then failed = failed + 1 end
end

function done(summary, latency, requests)
  local p = function(q) return latency:percentile(q) / 1000 end
  io.write(string.format("RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    p(50), p(99), latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
