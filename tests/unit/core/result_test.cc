// Result and Error: what callers and logs see of a failure.
#include "efsas/result.h"

#include <gtest/gtest.h>

namespace efsas {
namespace {

Result<int> parse_positive(int x) {
  if (x <= 0) return make_error(ErrorCode::kInvalidArgument, "must be positive");
  return x;
}

TEST(ResultTest, CarriesValueOrError) {
  auto good = parse_positive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().to_string(), "InvalidArgument: must be positive");
  EXPECT_FALSE(bad.error().retryable);
}

TEST(ResultTest, RemoteErrorNamesServiceCode) {
  Error e = make_error(ErrorCode::kRemote, "Rate exceeded", true);
  e.remote_code = "ThrottlingException";
  EXPECT_EQ(e.to_string(), "Remote(ThrottlingException): Rate exceeded");
}

TEST(ResultTest, StatusDefaultsToSuccess) {
  Status s;
  EXPECT_TRUE(s.ok());
  Status failed = make_error(ErrorCode::kIo, "disk on fire");
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kIo);
}

TEST(ResultDeathTest, ValueOfAnErrorAborts) {
  auto bad = parse_positive(0);
  EXPECT_DEATH((void)bad.value(), "invariant violated");
}

}  // namespace
}  // namespace efsas
