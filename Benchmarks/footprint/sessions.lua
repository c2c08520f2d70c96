-- Every request a new conversation: the thread's number, and a counter of its own.
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
local sent = 0
request = function()
  sent = sent + 1
  local body = '{"userId":"u","sessionId":"t' .. tostring(id) .. '-' .. tostring(sent) .. '","text":"joke"}'
  return wrk.format("POST", wrk.path, { ["Content-Type"] = "application/json" }, body)
end
