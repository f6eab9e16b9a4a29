// The file-service end-to-end cases, parameterised over the storage back end: the fixture that
// starts the real binary over a StorageFixture. file_service_cases.cc holds the cases; each back
// end instantiates them in its own test executable, e.g.
//   INSTANTIATE_TEST_SUITE_P(Nfs, FileServiceIntegration,
//                            ::testing::Values(BackendCase{"nfs", make_nfs_storage}));
// with file_service_cases.cc among its SOURCES and efsas_service_test_harness among its LIBS.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "harness.h"

namespace efsas::service::testing {

namespace fs = std::filesystem;
using efsas::testing::read_file;
using efsas::testing::TempDir;
using efsas::testing::write_file;

using StorageFactory = std::function<std::unique_ptr<StorageFixture>()>;

struct BackendCase {
  std::string name;
  StorageFactory make;
};
inline void PrintTo(const BackendCase& backend, std::ostream* out) { *out << backend.name; }

class FileServiceIntegration : public ::testing::TestWithParam<BackendCase> {
 protected:
  void SetUp() override {
    storage_ = GetParam().make();
    list_file_ = config_dir_.path() / "mount-targets.json";
    write_file(list_file_, storage_->list_document(1));
  }

  void start(std::map<std::string, std::string> extra_env = {}) {
    service_ = std::make_unique<ServiceProcess>(*storage_, list_file_, std::move(extra_env));
  }
  std::string url(const std::string& path) const { return service_->url(path); }
  HttpResult get(const std::string& path, std::map<std::string, std::string> headers = {}) {
    return http("GET", url(path), "", headers);
  }
  HttpResult put(const std::string& path, const std::string& body,
                 std::map<std::string, std::string> headers = {}) {
    return http("PUT", url(path), body, headers);
  }
  // Temporary files of writes; the health probe's own file is not one, and may exist at any time,
  // nor are the directory back end's lock files.
  std::size_t temp_files() const {
    std::size_t n = 0;
    for (const auto& entry : fs::recursive_directory_iterator(storage_->data_dir())) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with(".efsas-") && !name.starts_with(".efsas-probe-") &&
          !name.starts_with(".efsas-locks-")) {
        ++n;
      }
    }
    return n;
  }
  nlohmann::json targets() { return nlohmann::json::parse(get("/targets").body); }
  // The value of an unlabelled series in /metrics; -1 when it is not there.
  double metric(const std::string& series) {
    const std::string body = "\n" + get("/metrics").body;
    const auto at = body.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::strtod(body.c_str() + at + series.size() + 2, nullptr);
  }
  bool target_healthy(const std::string& id) {
    const nlohmann::json doc = targets();
    for (const auto& t : doc["mount_targets"]) {
      if (t["id"] == id) return t["healthy"].get<bool>();
    }
    return false;
  }

  TempDir config_dir_;
  fs::path list_file_;
  std::unique_ptr<StorageFixture> storage_;
  std::unique_ptr<ServiceProcess> service_;
};

}  // namespace efsas::service::testing
