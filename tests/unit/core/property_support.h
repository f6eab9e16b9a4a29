// Running a RapidCheck property inside a GoogleTest case with its own number of cases: fewer than
// the default for properties whose single case does a lot of work (100k routed keys), more for
// cheap ones whose interesting inputs are rare.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <iostream>
#include <sstream>
#include <string>
#include <utility>

namespace efsas::testing {

// Like RC_GTEST_PROP, but runs `cases` successful cases. The rest of RC_PARAMS (the seed in
// particular) is still honoured, so failures stay reproducible.
template <typename Testable>
void check_property(int cases, Testable&& testable) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = cases;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  rc::detail::TestMetadata metadata;
  metadata.id = std::string(info->test_suite_name()) + "/" + info->name();
  metadata.description = info->name();
  const auto result = rc::detail::checkProperty(
      rc::detail::toProperty(std::forward<Testable>(testable)), metadata, params);
  if (result.template is<rc::detail::SuccessResult>()) {
    if (!result.template get<rc::detail::SuccessResult>().distribution.empty()) {
      rc::detail::printResultMessage(result, std::cout);
      std::cout << '\n';
    }
  } else {
    std::ostringstream message;
    rc::detail::printResultMessage(result, message);
    FAIL() << message.str();
  }
}

}  // namespace efsas::testing
