// The status page served at `/`: one self-contained HTML document (inline CSS and JavaScript, no
// external assets) that polls /targets and shows each mount target's AZ, health, request rate
// and latency, and the configuration generation.
#pragma once

#include <string_view>

namespace efsas::service {

std::string_view status_page_html();

}  // namespace efsas::service
