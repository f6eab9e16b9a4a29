// Routing lookups per second for 1 to 16 mount targets: pick() (the first choice, used on every
// request) and rank() (the full fail-over order). Keys are realistic normalised paths.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "efsas/router.h"

namespace {

std::vector<std::string> target_ids(std::int64_t count) {
  std::vector<std::string> ids;
  for (std::int64_t i = 0; i < count; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "fsmt-%017llx",
                  0x0123456789abcULL + static_cast<unsigned long long>(i));
    ids.emplace_back(id);
  }
  return ids;
}

// 4096 distinct paths of 30 to 60 bytes, like "projects/p17/reports/2026/file-1234.csv".
std::vector<std::string> keys() {
  std::vector<std::string> out;
  for (int i = 0; i < 4096; ++i) {
    out.push_back("projects/p" + std::to_string(i % 37) + "/reports/" +
                  std::to_string(2000 + i % 27) + "/file-" + std::to_string(i) + ".csv");
  }
  return out;
}

void BM_RouterPick(benchmark::State& state) {
  const efsas::Router router(target_ids(state.range(0)));
  const std::vector<std::string> paths = keys();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(router.pick(paths[i++ & (paths.size() - 1)]));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RouterRank(benchmark::State& state) {
  const efsas::Router router(target_ids(state.range(0)));
  const std::vector<std::string> paths = keys();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(router.rank(paths[i++ & (paths.size() - 1)]));
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_RouterPick)->ArgName("targets")->Arg(1)->Arg(2)->Arg(3)->Arg(4)->Arg(8)->Arg(16);
BENCHMARK(BM_RouterRank)->ArgName("targets")->Arg(1)->Arg(2)->Arg(3)->Arg(4)->Arg(8)->Arg(16);

}  // namespace

BENCHMARK_MAIN();
