-- wrk: GET a random file of the set: /files/dNN/fNNNNN (COUNT files, 100 per directory).
local count = tonumber(os.getenv("BENCH_COUNT") or "10000")
local prefix = os.getenv("BENCH_PREFIX") or "s"
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  local i = math.random(0, count - 1)
  return wrk.format("GET", string.format("/files/%s%02d/f%05d", prefix, i % 100, i))
end
