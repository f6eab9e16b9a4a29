// The file-service end-to-end cases over the plain-directory back end, with file I/O on the
// network threads (local disks, the default) and on the worker pool (INLINE_LOCAL_IO=false).
#include "file_service_cases.h"

namespace efsas::service::testing {

INSTANTIATE_TEST_SUITE_P(
    Backends, FileServiceIntegration,
    ::testing::Values(BackendCase{"directory", make_directory_storage},
                      BackendCase{"directory_worker_pool", make_directory_storage_on_worker_pool}),
    [](const ::testing::TestParamInfo<BackendCase>& param_info) { return param_info.param.name; });

}  // namespace efsas::service::testing

namespace efsas::service::testing {
namespace {

// A configuration that cannot work is refused at start, with the reason, before anything runs.
TEST(FileServiceConfiguration, UploadMemoryLimitBelowTheBodyLimitIsRefused) {
  const auto result = efsas::testing::run_command({file_service_binary().string()},
                                                  {{"MOUNT_TARGETS_JSON", "{}"},
                                                   {"MOUNT_PATH_TEMPLATE", "/nonexistent/{id}"},
                                                   {"BODY_LIMIT_BYTES", "2000"},
                                                   {"UPLOAD_MEMORY_LIMIT_BYTES", "1000"}});
  EXPECT_EQ(result.status, 2) << result.output;
  EXPECT_NE(
      result.output.find("UPLOAD_MEMORY_LIMIT_BYTES (1000) must be at least BODY_LIMIT_BYTES"),
      std::string::npos)
      << result.output;
}

}  // namespace
}  // namespace efsas::service::testing
