// file-service's end-to-end cases (tests/integration/service/file_service_cases.cc), the same
// ones the directory back end passes, over the NFS back end and three nfs-ganesha servers.
#include "file_service_cases.h"
#include "nfs_storage.h"

namespace efsas::service::testing {

INSTANTIATE_TEST_SUITE_P(Nfs, FileServiceIntegration,
                         ::testing::Values(BackendCase{"nfs", make_nfs_storage}),
                         [](const ::testing::TestParamInfo<BackendCase>& param_info) {
                           return param_info.param.name;
                         });

}  // namespace efsas::service::testing
