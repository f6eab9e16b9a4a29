// What the file-service fuzz targets share: a FileService over directory back ends whose two
// mount targets share one root (as targets of one file system do), in a sandbox that also holds
// a file no request may reach. Created once per process; removed at exit.
#pragma once

#include <filesystem>
#include <memory>

#include "efsas/service/file_service.h"

namespace efsas::fuzz {

class ServiceSandbox {
 public:
  static ServiceSandbox& get();

  service::FileService& service() { return *service_; }
  const std::filesystem::path& root() const { return data_; }

  // Puts back the files every input starts from: a small one, an empty one, and one larger than
  // the service reads into a response at once (so it streams).
  void populate() const;
  // Aborts unless the sandbox holds just what it started with next to the root, the file there
  // is unchanged, and no temporary file is left under the root.
  void check_untouched() const;
  // Removes everything under the root.
  void clear() const;

 private:
  ServiceSandbox();

  std::filesystem::path sandbox_;
  std::filesystem::path data_;
  std::shared_ptr<service::BackendFactory> factory_;
  std::unique_ptr<service::FileService> service_;
};

}  // namespace efsas::fuzz
