-- One webhook message per request; each wrk connection is its own session (a new session every 50 requests), so
-- turns run in parallel across sessions as they would with many users.
local counter = 0
request = function()
  counter = counter + 1
  local session = "s" .. tostring(math.floor(counter / 50)) .. "-" .. tostring(math.random(1, 1000000))
  local body = '{"userId":"u","sessionId":"' .. session .. '","text":"hello"}'
  return wrk.format("POST", wrk.path, { ["Content-Type"] = "application/json" }, body)
end
