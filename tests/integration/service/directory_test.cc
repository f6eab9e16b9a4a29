// The file-service end-to-end cases over the plain-directory back end.
#include "file_service_cases.h"

namespace efsas::service::testing {

INSTANTIATE_TEST_SUITE_P(Backends, FileServiceIntegration,
                         ::testing::Values(BackendCase{"directory", make_directory_storage}),
                         [](const ::testing::TestParamInfo<BackendCase>& param_info) {
                           return param_info.param.name;
                         });

}  // namespace efsas::service::testing
