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
