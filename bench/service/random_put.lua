-- wrk: PUT BENCH_SIZE bytes (default 4 KiB) to a random path of BENCH_COUNT under BENCH_PREFIX
-- (overwrites after the first round).
local count = tonumber(os.getenv("BENCH_COUNT") or "10000")
local size = tonumber(os.getenv("BENCH_SIZE") or "4096")
local prefix = os.getenv("BENCH_PREFIX") or "put"
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
local body = string.rep("p", size)
request = function()
  local i = math.random(0, count - 1)
  return wrk.format("PUT", string.format("/files/%s%02d/f%05d", prefix, i % 100, i), nil, body)
end
