-- wrk: PUT 4 KiB to a random path of COUNT (overwrites after the first round).
local count = tonumber(os.getenv("BENCH_COUNT") or "10000")
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
local body = string.rep("p", 4096)
request = function()
  local i = math.random(0, count - 1)
  return wrk.format("PUT", string.format("/files/put%02d/f%05d", i % 100, i), nil, body)
end
