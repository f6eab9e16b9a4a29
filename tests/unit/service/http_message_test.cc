// Pure HTTP helpers: percent-decoding, query strings, Range and entity-tag matching, dates.
#include "efsas/service/http_message.h"

#include <gtest/gtest.h>

#include "efsas/clock.h"

namespace efsas::service {
namespace {

TEST(PercentDecode, DecodesEscapesAndRejectsMalformedOnes) {
  EXPECT_EQ(*percent_decode("a%20b/%2e%2e/c"), "a b/../c");
  EXPECT_EQ(*percent_decode("x%00y"), std::string("x\0y", 3));
  EXPECT_EQ(*percent_decode("%41%6a"), "Aj");
  EXPECT_FALSE(percent_decode("abc%").ok());
  EXPECT_FALSE(percent_decode("abc%4").ok());
  EXPECT_FALSE(percent_decode("%zz").ok());
  EXPECT_EQ(percent_encode_path("a b/ü?.txt"), "a%20b/%C3%BC%3F.txt");
  EXPECT_EQ(*percent_decode(percent_encode_path("a b/ü?#%.txt")), "a b/ü?#%.txt");
}

TEST(ParseQuery, SplitsAndDecodes) {
  auto q = parse_query("limit=10&token=a%2Fb&flag&x=1+2");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->at("limit"), "10");
  EXPECT_EQ(q->at("token"), "a/b");
  EXPECT_EQ(q->at("flag"), "");
  EXPECT_EQ(q->at("x"), "1 2");
  EXPECT_FALSE(parse_query("a=%").ok());
}

TEST(ParseRange, ServesOneByteRange) {
  auto r = parse_range("bytes=0-99", 1000);
  EXPECT_EQ(r.outcome, RangeOutcome::kSatisfiable);
  EXPECT_EQ(r.range.first, 0u);
  EXPECT_EQ(r.range.last, 99u);
  r = parse_range("bytes=990-", 1000);
  EXPECT_EQ(r.range.first, 990u);
  EXPECT_EQ(r.range.last, 999u);
  r = parse_range("bytes=-10", 1000);
  EXPECT_EQ(r.range.first, 990u);
  EXPECT_EQ(r.range.length(), 10u);
  r = parse_range("bytes=-5000", 1000);  // a suffix longer than the file is the whole file
  EXPECT_EQ(r.range.first, 0u);
  r = parse_range("bytes=500-5000", 1000);  // clipped to the end
  EXPECT_EQ(r.range.last, 999u);
}

TEST(ParseRange, UnsatisfiableAndIgnoredForms) {
  EXPECT_EQ(parse_range("bytes=1000-", 1000).outcome, RangeOutcome::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 1000).outcome, RangeOutcome::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).outcome, RangeOutcome::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-5", 0).outcome, RangeOutcome::kIgnore);  // the whole empty file
  EXPECT_EQ(parse_range("bytes=5-1", 1000).outcome, RangeOutcome::kIgnore);
  EXPECT_EQ(parse_range("bytes=0-1,5-6", 1000).outcome, RangeOutcome::kIgnore);
  EXPECT_EQ(parse_range("items=0-1", 1000).outcome, RangeOutcome::kIgnore);
  EXPECT_EQ(parse_range("bytes=abc", 1000).outcome, RangeOutcome::kIgnore);
  EXPECT_EQ(parse_range("bytes=1-x", 1000).outcome, RangeOutcome::kIgnore);
}

TEST(EtagMatching, StrongAndWeak) {
  EXPECT_TRUE(etag_list_matches("*", "\"a\"", false));
  EXPECT_TRUE(etag_list_matches("\"x\", \"a\"", "\"a\"", false));
  EXPECT_FALSE(etag_list_matches("\"x\"", "\"a\"", false));
  EXPECT_FALSE(etag_list_matches("W/\"a\"", "\"a\"", false));
  EXPECT_TRUE(etag_list_matches("W/\"a\"", "\"a\"", true));
}

TEST(HttpDate, RoundTripsWithFormat) {
  const SystemTime t{std::chrono::seconds{1'764'098'400}};
  const auto parsed = parse_http_date(format_http_date(t));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, t);
  EXPECT_FALSE(parse_http_date("yesterday").has_value());
}

// A date far in the past or future is still before or after every file time, not a time that
// overflowed into some other one.
TEST(HttpDate, FarDatesStayFar) {
  const auto ancient = parse_http_date("Wed, 25 Nov 1013 19:30:00 GMT");
  ASSERT_TRUE(ancient.has_value());
  EXPECT_LT(*ancient, SystemTime{});
  EXPECT_EQ(parse_http_date(format_http_date(*ancient)), ancient);
  const auto distant = parse_http_date("Sat, 25 Nov 2500 19:30:00 GMT");
  ASSERT_TRUE(distant.has_value());
  EXPECT_GT(*distant, SystemTime{std::chrono::seconds{4'102'444'800}});  // 2100
}

// A recipient must take all three date forms (RFC 9110 5.6.7); an If-Modified-Since in an old
// form was once ignored, and a client that sent one never got a 304.
TEST(HttpDate, TheObsoleteFormsMeanTheSameTime) {
  const SystemTime now{std::chrono::seconds{1'795'600'000}};  // 2026-11-25
  const auto fixdate = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", now);
  ASSERT_TRUE(fixdate.has_value());
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", now), fixdate);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994", now), fixdate);
  // A two-digit year is read in this century unless that is more than 50 years ahead.
  const auto expect_same = [&](const char* rfc850, const char* imf) {
    const auto expected = parse_http_date(imf, now);
    ASSERT_TRUE(expected.has_value()) << imf;
    EXPECT_EQ(parse_http_date(rfc850, now), expected) << rfc850;
  };
  expect_same("Wednesday, 25-Nov-26 19:30:00 GMT", "Wed, 25 Nov 2026 19:30:00 GMT");
  expect_same("Wednesday, 01-Jan-70 00:00:00 GMT", "Wed, 01 Jan 2070 00:00:00 GMT");
  expect_same("Wednesday, 24-Nov-76 00:00:00 GMT", "Tue, 24 Nov 2076 00:00:00 GMT");
  expect_same("Friday, 31-Dec-76 00:00:00 GMT", "Fri, 31 Dec 1976 00:00:00 GMT");
  expect_same("Saturday, 01-Jan-77 00:00:00 GMT", "Sat, 01 Jan 1977 00:00:00 GMT");
  EXPECT_FALSE(parse_http_date("Sunday, 06-Nov-94 08:49:37", now).has_value());
  EXPECT_FALSE(parse_http_date("Sun Nov  6 08:49:37 1994 GMT", now).has_value());
}

// A server must accept a request target in absolute form (RFC 9112 3.2.2): it is served as the
// path it names.
TEST(OriginForm, AnAbsoluteTargetBecomesItsPath) {
  EXPECT_EQ(origin_form("/files/a?x=1"), "/files/a?x=1");
  EXPECT_EQ(origin_form("http://example.com/files/a?x=1"), "/files/a?x=1");
  EXPECT_EQ(origin_form("HTTP://example.com:8080/files/a%2F"), "/files/a%2F");
  EXPECT_EQ(origin_form("https://[::1]:8443/healthz"), "/healthz");
  EXPECT_EQ(origin_form("http://example.com"), "/");
  EXPECT_EQ(origin_form("http://example.com?x"), "/");
  EXPECT_EQ(origin_form("ftp://example.com/files/a"), "ftp://example.com/files/a");
  EXPECT_EQ(origin_form("*"), "*");
}

}  // namespace
}  // namespace efsas::service
