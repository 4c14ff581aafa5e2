-- wrk script of the benchmark harness (bench/lean_driver.py writes its input files):
-- every wrk thread POSTs the pre-built signed packages of its own file in order, each with
-- its sender system's API key; past the end it starts again (duplicates, counted apart).
-- For each 202 it appends "recipient package_id" of every poll-mode copy to its .poll file,
-- which the driver's poller reads to know which inboxes to drain (a polling agency's cue).
-- done() writes the status counts as JSON to $WRK_DIR/wrk-summary.json.
--   WRK_DIR=DIR wrk -t T -c C -d S -s bench/wrk_intake.lua http://127.0.0.1:PORT

dir = os.getenv("WRK_DIR")
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  bodies, keys, poll = {}, {}, {}
  local f = assert(io.open(dir .. "/wrk-" .. id .. ".bin", "rb"))
  while true do
    local key = f:read("*l")
    if not key then break end
    local size = tonumber(f:read("*l"))
    table.insert(keys, key)
    table.insert(bodies, f:read(size))
  end
  f:close()
  for code in io.lines(dir .. "/poll-agencies.txt") do poll[code] = true end
  out = assert(io.open(dir .. "/wrk-" .. id .. ".poll", "w"))
  out:setvbuf("line")
  sent, wrapped, statuses = 0, 0, {}
end

function request()
  sent = sent + 1
  local i = (sent - 1) % #bodies + 1
  if sent > #bodies then wrapped = wrapped + 1 end
  return wrk.format("POST", "/api/v1/packages", {
    ["Content-Type"] = "application/xml",
    ["Authorization"] = "Bearer " .. keys[i],
  }, bodies[i])
end

function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
  if status == 202 then
    local package = body:match('"package_id":"([^"]+)"')
    for recipient in body:gmatch('"recipient":"([^"]+)"') do
      if poll[recipient] then out:write(recipient, " ", package or "", "\n") end
    end
  end
end

function done(summary, latency, requests)
  local f = assert(io.open(dir .. "/wrk-summary.json", "w"))
  local parts = {}
  for _, t in ipairs(threads) do
    local st = t:get("statuses") or {}
    for k, v in pairs(st) do table.insert(parts, string.format('"%s": %d', k, v)) end
    table.insert(parts, string.format('"wrapped_%d": %d', t:get("id"), t:get("wrapped") or 0))
  end
  f:write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d, %s}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), table.concat(parts, ", ")))
  f:close()
end
