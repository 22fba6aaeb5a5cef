#include "agent/core/status.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(Status, OkHasNoMessage) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(s.message().empty());
}

TEST(Status, NamedConstructorsCarryCodeAndMessage) {
  Status s = Status::NotFound("/proc/42/exe");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.ToString(), "NotFound: /proc/42/exe");
  Status copy = s;
  EXPECT_EQ(copy.ToString(), s.ToString());
}

TEST(Status, WithContextPrefixesMessageAndKeepsCode) {
  Status s = Status::InvalidArgument("bad value").WithContext("key 'a.b'");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "key 'a.b': bad value");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

Result<int> Half(int n) {
  if (n % 2) return Status::InvalidArgument("odd");
  return n / 2;
}

Status UseHalf(int n, int* out) {
  auto r = Half(n);
  VIGIL_RETURN_IF_ERROR(r.status());
  *out = *r;
  return Status::Ok();
}

TEST(Result, HoldsValueOrStatus) {
  EXPECT_EQ(*Half(4), 2);
  EXPECT_FALSE(Half(3).ok());
  EXPECT_EQ(Half(3).status().message(), "odd");
  EXPECT_EQ(Half(3).value_or(-1), -1);
  int out = 0;
  EXPECT_TRUE(UseHalf(8, &out).ok());
  EXPECT_EQ(out, 4);
  EXPECT_EQ(UseHalf(7, &out).code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace vigil
