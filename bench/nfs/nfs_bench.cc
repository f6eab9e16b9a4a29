// GET and PUT throughput of the NFS back end against real nfs-ganesha servers on loopback:
// 4 KiB and 1 MiB files through one mount target, through three (files spread over them as the
// router would), and through the directory back end reading and writing the exported directory
// itself (the floor: the same disk without NFS). Several client threads, as file-service's
// worker pool would run them. Figures and what they mean: docs/benchmarks/nfs.md.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "efsas/clock.h"
#include "efsas/nfs/nfs_backend.h"
#include "efsas/router.h"
#include "efsas/service/directory_backend.h"
#include "efsas/testing/ganesha.h"

namespace {

using efsas::MountTarget;
using efsas::service::Backend;

constexpr std::size_t k4KiB = 4 * 1024;
constexpr std::size_t k1MiB = 1024 * 1024;

MountTarget target(int i) {
  return MountTarget{
      "fsmt-0000000000000000" + std::to_string(i), "ap-northeast-1a",
      "apne1-az" + std::to_string(i + 1),          "subnet-0000000" + std::to_string(i),
      "10.0." + std::to_string(i) + ".10",         "available"};
}

struct Fixture {
  std::vector<std::shared_ptr<Backend>> one_target;
  std::vector<std::shared_ptr<Backend>> three_targets;
  std::vector<std::shared_ptr<Backend>> directory;
};

std::size_t file_count(std::size_t size) { return size == k4KiB ? 1000 : 32; }

std::string file_name(std::size_t size, std::size_t i) {
  return (size == k4KiB ? "bench/4k/f" : "bench/1m/f") + std::to_string(i);
}

// Which back end serves a path: rendezvous hashing over the targets, as file-service does.
Backend& route(const std::vector<std::shared_ptr<Backend>>& backends, const efsas::Router& router,
               const std::string& path) {
  return *backends[router.pick(path)];
}

efsas::Router router_for(const std::vector<std::shared_ptr<Backend>>& backends) {
  std::vector<std::string> ids;
  for (const auto& b : backends) ids.push_back(b->target().id);
  return efsas::Router(ids);
}

void run_get(benchmark::State& state, const std::vector<std::shared_ptr<Backend>>& backends,
             std::size_t size) {
  const efsas::Router router = router_for(backends);
  std::vector<char> buffer(256 * 1024);
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    const std::string path = file_name(size, i++ % file_count(size));
    auto reader = route(backends, router, path).open(path);
    if (!reader.ok()) {
      state.SkipWithError(reader.error().to_string().c_str());
      break;
    }
    std::uint64_t offset = 0;
    while (true) {
      auto n = (*reader)->read_at(offset, buffer);
      if (!n.ok() || *n == 0) break;
      offset += *n;
    }
    if (offset != size) {
      state.SkipWithError("short read");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}

void run_put(benchmark::State& state, const std::vector<std::shared_ptr<Backend>>& backends,
             std::size_t size) {
  const efsas::Router router = router_for(backends);
  const std::string body(size, static_cast<char>('a' + state.thread_index()));
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string path = "bench/put/t" + std::to_string(state.thread_index()) + "-" +
                             std::to_string(size) + "-" + std::to_string(i++ % 64);
    efsas::service::MemoryBodySource source(body);
    auto written = route(backends, router, path).put(path, source, {});
    if (!written.ok()) {
      state.SkipWithError(written.error().to_string().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  efsas::testing::GaneshaCluster cluster;
  auto clock = std::make_shared<efsas::RealClock>();
  efsas::nfs::NfsBackendOptions options;
  options.instance_id = "bench";
  options.sessions_per_target = 4;
  auto map =
      efsas::nfs::parse_address_map("10.0.0.10=127.0.0.2,10.0.1.10=127.0.0.3,10.0.2.10=127.0.0.4");
  if (!map.ok()) return 1;
  options.address_map = *map;

  Fixture fixture;
  for (int i = 0; i < 3; ++i) {
    fixture.three_targets.push_back(efsas::nfs::make_nfs_backend(target(i), options, clock));
  }
  fixture.one_target.push_back(fixture.three_targets[0]);
  fixture.directory.push_back(efsas::service::make_directory_backend(
      target(0), efsas::service::DirectoryBackendOptions{cluster.export_dir().string(), "bench"}));

  for (std::size_t size : {k4KiB, k1MiB}) {
    const std::string body(size, 'x');
    for (std::size_t i = 0; i < file_count(size); ++i) {
      efsas::service::MemoryBodySource source(body);
      if (!fixture.directory[0]->put(file_name(size, i), source, {}).ok()) {
        std::fprintf(stderr, "nfs_bench: cannot write the test files\n");
        return 1;
      }
    }
  }

  struct Case {
    const char* name;
    const std::vector<std::shared_ptr<Backend>>* backends;
  };
  const Case cases[] = {{"nfs_1_target", &fixture.one_target},
                        {"nfs_3_targets", &fixture.three_targets},
                        {"directory", &fixture.directory}};
  for (const char* op : {"GET", "PUT"}) {
    for (std::size_t size : {k4KiB, k1MiB}) {
      for (const Case& c : cases) {
        const std::string name =
            std::string(op) + "/" + (size == k4KiB ? "4KiB" : "1MiB") + "/" + c.name;
        const bool get = std::string(op) == "GET";
        const auto* backends = c.backends;
        benchmark::RegisterBenchmark(name.c_str(),
                                     [=](benchmark::State& state) {
                                       if (get) {
                                         run_get(state, *backends, size);
                                       } else {
                                         run_put(state, *backends, size);
                                       }
                                     })
            ->Threads(8)
            ->UseRealTime()
            ->MinTime(1.0);
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
