// file-monitor's configuration: defaults, the agreed variable names, and clear errors.
#include "efsas/monitor/config.h"

#include <gtest/gtest.h>

namespace efsas::monitor {
namespace {

TEST(MonitorConfig, DefaultsMatchTheDocumentedOnes) {
  auto config = config_from_env({});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->file_count_threshold, 100000u);
  EXPECT_EQ(config->ssm_parameter_name, "/efs-mount-autoscaling/mount-targets");
  EXPECT_EQ(config->max_mount_targets, 3);
  EXPECT_EQ(config->max_creates_per_run, 1);
  EXPECT_TRUE(config->force_ecs_deployment);
  EXPECT_FALSE(config->dry_run);
  EXPECT_EQ(config->scan_cache_path, "/tmp/file-monitor-scan.cache");
  EXPECT_EQ(config->scan_directory(), "/mnt/efs/data");
  // Without a file system id the value does not validate, and the message says what to set.
  Status status = validate(*config);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("EFS_FILE_SYSTEM_ID"), std::string::npos);
}

TEST(MonitorConfig, ReadsEveryAgreedVariable) {
  auto config = config_from_env({{"EFS_FILE_SYSTEM_ID", "fs-0123abcd"},
                                 {"EFS_MOUNT_PATH", "/mnt/x/"},
                                 {"EFS_TARGET_DIRECTORY", "/uploads"},
                                 {"FILE_COUNT_THRESHOLD", "250"},
                                 {"SSM_PARAMETER_NAME", "/p/q"},
                                 {"ECS_CLUSTER_NAME", "c"},
                                 {"ECS_SERVICE_NAME", "s"},
                                 {"FORCE_ECS_DEPLOYMENT", "false"},
                                 {"CANDIDATE_SUBNET_IDS", "subnet-1a, subnet-2b,,"},
                                 {"MOUNT_TARGET_SECURITY_GROUP_IDS", "sg-01"},
                                 {"MAX_MOUNT_TARGETS", "2"},
                                 {"MAX_CREATES_PER_RUN", "3"},
                                 {"DRY_RUN", "TRUE"},
                                 {"SCAN_CACHE_PATH", ""},
                                 {"SCAN_THREADS", "8"},
                                 {"LOG_LEVEL", "debug"}});
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_TRUE(validate(*config).ok());
  EXPECT_EQ(config->file_system_id, "fs-0123abcd");
  EXPECT_EQ(config->scan_directory(), "/mnt/x/uploads");
  EXPECT_EQ(config->file_count_threshold, 250u);
  EXPECT_EQ(config->ssm_parameter_name, "/p/q");
  EXPECT_TRUE(config->ecs_configured());
  EXPECT_FALSE(config->force_ecs_deployment);
  EXPECT_EQ(config->candidate_subnet_ids, (std::vector<std::string>{"subnet-1a", "subnet-2b"}));
  EXPECT_EQ(config->security_group_ids, (std::vector<std::string>{"sg-01"}));
  EXPECT_EQ(config->max_mount_targets, 2);
  EXPECT_EQ(config->max_creates_per_run, 3);
  EXPECT_TRUE(config->dry_run);
  EXPECT_EQ(config->scan_cache_path, "");  // set but empty: the cache is off
  EXPECT_EQ(config->scan_threads, 8);
  EXPECT_EQ(config->log_level, LogLevel::kDebug);
}

TEST(MonitorConfig, BadValuesNameTheVariable) {
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"FILE_COUNT_THRESHOLD", "ten"},
           {"FILE_COUNT_THRESHOLD", "-5"},
           {"MAX_MOUNT_TARGETS", "3x"},
           {"DRY_RUN", "maybe"},
           {"LOG_LEVEL", "loud"},
           {"CANDIDATE_SUBNET_IDS", ","},
           {"MOUNT_TARGET_SECURITY_GROUP_IDS", " , "}}) {
    auto config = config_from_env({{name, value}});
    ASSERT_FALSE(config.ok()) << name << "=" << value;
    EXPECT_NE(config.error().message.find(name), std::string::npos) << config.error().message;
  }
}

TEST(MonitorConfig, ValidateRejectsValuesThatCannotWork) {
  MonitorConfig base;
  base.file_system_id = "fs-12345678";
  ASSERT_TRUE(validate(base).ok());
  auto expect_bad = [&](MonitorConfig c, const std::string& mention) {
    Status s = validate(c);
    ASSERT_FALSE(s.ok()) << mention;
    EXPECT_NE(s.error().message.find(mention), std::string::npos) << s.error().message;
  };
  MonitorConfig c = base;
  c.file_system_id = "vol-123";
  expect_bad(c, "EFS_FILE_SYSTEM_ID");
  c = base;
  c.file_count_threshold = 0;
  expect_bad(c, "FILE_COUNT_THRESHOLD");
  c = base;
  c.max_mount_targets = 0;
  expect_bad(c, "MAX_MOUNT_TARGETS");
  c = base;
  c.max_creates_per_run = 0;
  expect_bad(c, "MAX_CREATES_PER_RUN");
  c = base;
  c.candidate_subnet_ids = {"sg-123"};
  expect_bad(c, "CANDIDATE_SUBNET_IDS");
  c = base;
  c.ecs_cluster_name = "only-cluster";
  expect_bad(c, "ECS_SERVICE_NAME");
}

}  // namespace
}  // namespace efsas::monitor
