// The file-service fuzz targets' sandbox.
#include "service_sandbox.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "efsas/clock.h"
#include "efsas/log.h"
#include "efsas/mount_target_list.h"
#include "efsas/path.h"
#include "efsas/service/directory_backend.h"
#include "efsas/service/routing_table.h"
#include "fuzz_check.h"

namespace efsas::fuzz {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSecret = "outside the root: never touched\n";
const std::vector<std::string> kTargets = {"fsmt-00000000000000000", "fsmt-00000000000000001"};

}  // namespace

ServiceSandbox& ServiceSandbox::get() {
  static ServiceSandbox* const sandbox = [] {
    auto* created = new ServiceSandbox;
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(get().sandbox_, ec);
    });
    return created;
  }();
  return *sandbox;
}

ServiceSandbox::ServiceSandbox() {
  std::string name = (fs::temp_directory_path() / "efsas-fuzz-XXXXXX").string();
  FUZZ_CHECK(::mkdtemp(name.data()) != nullptr, "a sandbox directory");
  sandbox_ = name;
  data_ = sandbox_ / "data";
  fs::create_directory(data_);
  std::ofstream(sandbox_ / "secret.txt") << kSecret;
  MountTargetList list;
  list.file_system_id = "fs-0123456789abcdef0";
  list.generation = 1;
  list.updated_at = "2026-11-25T19:30:00.000Z";
  for (std::size_t i = 0; i < kTargets.size(); ++i) {
    const std::string n = std::to_string(i);
    list.mount_targets.push_back(
        {kTargets[i], "ap-northeast-1" + std::string(1, static_cast<char>('a' + i)), "apne1-az" + n,
         "subnet-0000000" + n, "10.0.1." + n, "available"});
    fs::create_directory_symlink(data_, sandbox_ / kTargets[i]);
  }
  factory_ = service::make_directory_backend_factory((sandbox_ / "{id}").string(), "fuzz",
                                                     std::chrono::nanoseconds{0});
  service::ServiceOptions options;
  options.body_limit = 1024 * 1024;
  service_ =
      std::make_unique<service::FileService>(options, std::make_shared<RealClock>(), Logger());
  auto table = service::build_routing_table(list, nullptr, *factory_, service::HealthPolicy{});
  FUZZ_CHECK(table.ok(), "a routing table over the sandbox");
  service_->set_table(*table);
}

void ServiceSandbox::populate() const {
  fs::create_directory(data_ / "a");
  std::ofstream(data_ / "a" / "b.txt") << "hello, world\n";
  std::ofstream(data_ / "empty").flush();
  std::ofstream(data_ / "big.bin") << std::string(100 * 1024, 'z');
}

void ServiceSandbox::check_untouched() const {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(sandbox_)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> expected = kTargets;
  expected.push_back("data");
  expected.push_back("secret.txt");
  std::sort(expected.begin(), expected.end());
  FUZZ_CHECK(names == expected, "nothing appears or disappears next to the root");
  std::string content(fs::file_size(sandbox_ / "secret.txt"), '\0');
  std::ifstream(sandbox_ / "secret.txt", std::ios::binary)
      .read(content.data(), static_cast<std::streamsize>(content.size()));
  FUZZ_CHECK(content == kSecret, "a file outside the root is never changed");
  for (const auto& target : kTargets) {
    FUZZ_CHECK(fs::is_symlink(sandbox_ / target), "the mount targets' roots stay in place");
  }
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(data_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    FUZZ_CHECK(name.rfind(kReservedPrefix, 0) != 0 || service::is_name_lock_file(name),
               "no temporary file is left behind");
  }
}

void ServiceSandbox::clear() const {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(data_)) fs::remove_all(entry.path(), ec);
}

}  // namespace efsas::fuzz
