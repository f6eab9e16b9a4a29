// What AWS (or a proxy in front of it) answers, as every typed call of the AWS client parses it:
// EC2 and its XML, EFS and ECS and SSM and their JSON, error shapes of each, any status. Any
// answer gives a value or an error with a message, never a crash or an endless page loop. The
// input is a call selector byte, a status selector byte, then "name: value" header lines, an empty
// line and the body; every page of a paginated call gets the same answer.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "efsas/aws/client.h"
#include "efsas/aws/credentials.h"
#include "efsas/aws/ec2.h"
#include "efsas/aws/ecs.h"
#include "efsas/aws/efs.h"
#include "efsas/aws/endpoints.h"
#include "efsas/aws/ssm.h"
#include "efsas/clock.h"
#include "fuzz_check.h"

namespace {

using namespace efsas::aws;

constexpr int kStatuses[] = {200, 200, 200, 201, 400, 403, 404, 409, 429, 500, 503, 302};
constexpr int kMaxCalls = 64;  // more pages than this means the client follows pages forever

class CannedTransport final : public HttpTransport {
 public:
  explicit CannedTransport(HttpResponse response) : response_(std::move(response)) {}
  efsas::Result<HttpResponse> send(const HttpRequest&, const HttpTimeouts&) override {
    FUZZ_CHECK(++calls_ <= kMaxCalls, "a paginated call stops");
    return response_;
  }

 private:
  HttpResponse response_;
  int calls_ = 0;
};

HttpResponse response_from(std::uint8_t status_selector, std::string_view rest) {
  HttpResponse response;
  response.status = kStatuses[status_selector % std::size(kStatuses)];
  const auto blank = rest.find("\n\n");
  std::string_view head =
      blank == std::string_view::npos ? std::string_view{} : rest.substr(0, blank);
  response.body = std::string(blank == std::string_view::npos ? rest : rest.substr(blank + 2));
  while (!head.empty()) {
    const auto newline = head.find('\n');
    const auto line = head.substr(0, newline);
    head = newline == std::string_view::npos ? std::string_view{} : head.substr(newline + 1);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    response.headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
  }
  return response;
}

template <class T>
void check(const efsas::Result<T>& result) {
  if (!result.ok()) FUZZ_CHECK(!result.error().message.empty(), "an error says what went wrong");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  AwsClientConfig config;
  config.region = "us-east-1";
  for (const auto service : {Service::kEfs, Service::kEc2, Service::kSsm, Service::kEcs}) {
    config.endpoints[service] = parse_endpoint_url("http://127.0.0.1:9").value();
  }
  config.credentials = make_static_provider({"AKID", "secret", "", std::nullopt});
  config.transport = std::make_shared<CannedTransport>(response_from(data[1], rest));
  config.clock = std::make_shared<efsas::ManualClock>();
  config.random = [] { return 0.5; };
  config.retry.max_attempts = 2;
  const AwsClient client(std::move(config));

  switch (data[0] % 10) {
    case 0:
      check(ec2::describe_subnets(client, {.max_results = 5}));
      break;
    case 1:
      check(ec2::describe_availability_zones(client, {}));
      break;
    case 2:
      check(efs::describe_file_systems(client, {.max_items = 5}));
      break;
    case 3:
      check(efs::describe_mount_targets(client, {.file_system_id = "fs-1", .max_items = 5}));
      break;
    case 4:
      check(efs::create_mount_target(client, {.file_system_id = "fs-1", .subnet_id = "subnet-1"}));
      break;
    case 5:
      check(ssm::get_parameter(client, "/efs-mount-autoscaling/mount-targets"));
      break;
    case 6:
      check(ssm::put_parameter(client, {.name = "/p", .value = "{}", .overwrite = true}));
      break;
    case 7:
      check(ecs::update_service(client, {.cluster = "c", .service = "s"}));
      break;
    case 8:
      check(ssm::get_parameter_history(client, "/efs-mount-autoscaling/mount-targets"));
      break;
    default:
      check(ecs::describe_services(client, "c", {"s"}));
      break;
  }
  return 0;
}
