// The NFS storage fixture for file-service's integration harness: three nfs-ganesha servers on
// 127.0.0.2-4 exporting one directory, reached by the service over NFSv4 through
// NFS_ADDRESS_MAP (the list names them 10.0.0.10, 10.0.1.10, 10.0.2.10, as EFS would).
// Tests that use it need the CTest RESOURCE_LOCK "ganesha".
#pragma once

#include <memory>

#include "efsas/testing/ganesha.h"
#include "harness.h"

namespace efsas::service::testing {

class NfsStorage final : public StorageFixture {
 public:
  NfsStorage();
  std::string name() const override { return "nfs"; }
  std::map<std::string, std::string> env() const override;
  std::filesystem::path data_dir() const override { return cluster_.export_dir(); }
  bool local_storage() const override { return false; }
  bool reads_may_lag_unavailable() const override { return false; }
  // A killed server: every call to it fails at once.
  void make_unavailable(int index) override;
  void restore(int index) override;
  // SIGSTOP / SIGCONT: a hung server, whose calls fail only after NFS_TIMEOUT_MS.
  void pause(int index);
  void resume(int index);

 private:
  efsas::testing::GaneshaCluster cluster_;
};

std::unique_ptr<StorageFixture> make_nfs_storage();

}  // namespace efsas::service::testing
