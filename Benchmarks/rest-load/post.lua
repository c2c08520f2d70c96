-- One REST message per request, {"userId","sessionId","text"}; a new session every 50 requests of a connection, so
-- turns of many conversations run in parallel. RASA=1 in the environment sends Rasa's REST channel shape instead.
local counter = 0
local rasa = os.getenv("RASA") == "1"
request = function()
  counter = counter + 1
  local session = "s" .. tostring(math.floor(counter / 50)) .. "-" .. tostring(math.random(1, 1000000))
  local body
  if rasa then
    body = '{"sender":"' .. session .. '","message":"joke"}'
  else
    body = '{"userId":"u","sessionId":"' .. session .. '","text":"joke"}'
  end
  return wrk.format("POST", wrk.path, { ["Content-Type"] = "application/json" }, body)
end
