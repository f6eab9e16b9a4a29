// file-service reading its mount-target list from SSM Parameter Store (moto_server): a new
// generation becomes active without a restart, a malformed one and an outage keep the last good
// list, SIGHUP polls at once, and the task is ready only once it has a list.
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "efsas/aws/client.h"
#include "efsas/aws/http.h"
#include "efsas/aws/ssm.h"
#include "efsas/clock.h"
#include "efsas/testing/moto.h"
#include "harness.h"

namespace efsas::service::testing {
namespace {

constexpr const char* kParameter = "/efs-mount-autoscaling/mount-targets";

class SsmReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    efsas::aws::Environment env;
    for (const auto& [name, value] : moto_.client_env()) env[name] = value;
    auto client = efsas::aws::make_aws_client(env, efsas::aws::make_curl_transport(),
                                              std::make_shared<efsas::RealClock>());
    ASSERT_TRUE(client.ok()) << client.error().to_string();
    client_ = *client;
  }

  void publish(const std::string& value) {
    efsas::aws::ssm::PutParameterRequest request;
    request.name = kParameter;
    request.value = value;
    request.overwrite = true;
    auto result = efsas::aws::ssm::put_parameter(*client_, request);
    ASSERT_TRUE(result.ok()) << result.error().to_string();
  }

  std::uint64_t generation() {
    auto response = http("GET", service_->url("/targets"));
    if (response.status != 200) return 0;
    return nlohmann::json::parse(response.body)["generation"].get<std::uint64_t>();
  }
  std::string metrics() { return http("GET", service_->url("/metrics")).body; }
  // file-service reading its list from the parameter in moto, polling every `poll_seconds`.
  void start(int poll_seconds) {
    std::map<std::string, std::string> env = moto_.client_env();
    env["SSM_PARAMETER_NAME"] = kParameter;
    env["CONFIG_POLL_SECONDS"] = std::to_string(poll_seconds);
    service_ = std::make_unique<ServiceProcess>(*storage_, "", env);
  }

  efsas::testing::MotoServer moto_;
  std::shared_ptr<efsas::aws::AwsClient> client_;
  std::unique_ptr<StorageFixture> storage_ = make_directory_storage();
  std::unique_ptr<ServiceProcess> service_;
};

TEST_F(SsmReloadTest, NewGenerationsApplyLiveAndBadOnesAreIgnored) {
  publish(storage_->list_document(1, 3));
  start(1);
  ASSERT_TRUE(eventually([&] { return generation() == 1; })) << service_->log();
  const auto pid = service_->process().pid();
  ASSERT_EQ(http("PUT", service_->url("/files/a.txt"), "a").status, 201);

  publish(storage_->list_document(2, 2));
  ASSERT_TRUE(eventually([&] { return generation() == 2; })) << service_->log();
  EXPECT_EQ(service_->process().pid(), pid);
  EXPECT_EQ(
      nlohmann::json::parse(http("GET", service_->url("/targets")).body)["mount_targets"].size(),
      2u);
  EXPECT_EQ(http("GET", service_->url("/files/a.txt")).body, "a");

  publish("{\"schema_version\": 1, \"generation\": \"three\"}");
  EXPECT_TRUE(eventually([&] {
    return metrics().find("file_service_config_reload_failures_total 0") == std::string::npos;
  }));
  EXPECT_EQ(generation(), 2u);
  EXPECT_TRUE(eventually([&] { return http("GET", service_->url("/readyz")).status == 200; }));

  publish(storage_->list_document(3, 3));
  ASSERT_TRUE(eventually([&] { return generation() == 3; })) << service_->log();

  // An outage of the parameter store keeps the list too.
  moto_.reset();
  const std::string before = metrics();
  EXPECT_TRUE(eventually([&] {
    const std::string now = metrics();
    const auto line = [](const std::string& text) {
      const auto at = text.find("\nfile_service_config_reload_failures_total ") + 1;
      return text.substr(at, text.find('\n', at) - at);
    };
    return line(now) != line(before);
  })) << service_->log();
  EXPECT_EQ(generation(), 3u);
  EXPECT_EQ(http("GET", service_->url("/files/a.txt")).status, 200);
}

// With no list in the parameter store yet, the task is alive but not ready (the load balancer
// sends it nothing) and file requests are 503; it turns ready once a list is published.
TEST_F(SsmReloadTest, ReadyOnlyOnceAListIsLoaded) {
  start(1);
  EXPECT_EQ(http("GET", service_->url("/healthz")).status, 200);
  EXPECT_EQ(http("GET", service_->url("/readyz")).status, 503);
  EXPECT_EQ(http("GET", service_->url("/files/a.txt")).status, 503);
  publish(storage_->list_document(1, 2));
  EXPECT_TRUE(eventually([&] { return http("GET", service_->url("/readyz")).status == 200; }))
      << service_->log();
  EXPECT_EQ(http("PUT", service_->url("/files/a.txt"), "a").status, 201);
}

// SIGHUP reads the parameter at once, whatever the poll interval (an hour here).
TEST_F(SsmReloadTest, SighupReadsTheParameterAtOnce) {
  publish(storage_->list_document(1, 3));
  start(3600);
  ASSERT_TRUE(eventually([&] { return generation() == 1; })) << service_->log();
  publish(storage_->list_document(2, 2));
  service_->process().signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return generation() == 2; })) << service_->log();
}

}  // namespace
}  // namespace efsas::service::testing
