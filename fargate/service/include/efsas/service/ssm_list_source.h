// The mount-target list from an SSM parameter (what file-monitor publishes), via the project's
// AWS client. Thread safety: fetch may be called from any thread.
#pragma once

#include <memory>
#include <string>

#include "efsas/service/config_reload.h"

namespace efsas::aws {
class AwsClient;
}

namespace efsas::service {

std::unique_ptr<ListSource> make_ssm_list_source(std::shared_ptr<const aws::AwsClient> client,
                                                 std::string parameter_name);

}  // namespace efsas::service
