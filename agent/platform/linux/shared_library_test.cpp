#include "agent/platform/linux/shared_library.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

// zlib is part of every Debian system (zlib1g is essential).
TEST(SharedLibrary, BindsTheFunctionsOfALibraryThatLoads) {
  SharedLibrary lib({"libvigil-absent.so.9", "libz.so.1"}, "install the package zlib1g");
  const char* (*version)() = nullptr;
  lib.Bind(version, "zlibVersion");
  ASSERT_TRUE(lib.status().ok()) << lib.status().ToString();
  ASSERT_NE(version, nullptr);
  EXPECT_EQ(version()[0], '1') << "zlib's version string";
}

TEST(SharedLibrary, AMissingSymbolIsAnErrorNamingIt) {
  SharedLibrary lib({"libz.so.1"}, "install the package zlib1g");
  const char* (*version)() = nullptr;
  int (*absent)() = nullptr;
  lib.Bind(absent, "vigil_no_such_function");
  lib.Bind(version, "zlibVersion");
  EXPECT_EQ(absent, nullptr);
  EXPECT_NE(version, nullptr) << "later symbols are still bound";
  EXPECT_EQ(lib.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(lib.status().message(), "libz.so.1 lacks vigil_no_such_function");
}

TEST(SharedLibrary, ALibraryThatDoesNotLoadIsAnErrorNamingItAndThePackage) {
  SharedLibrary lib({"libvigil-absent.so.9", "libvigil-absent.so"}, "install the package vigil-absent");
  int (*fn)() = reinterpret_cast<int (*)()>(1);
  lib.Bind(fn, "anything");
  EXPECT_EQ(fn, nullptr);
  const std::string msg(lib.status().message());
  EXPECT_EQ(msg.rfind("libvigil-absent.so.9 cannot be loaded (install the package vigil-absent): ", 0), 0u) << msg;
  EXPECT_NE(msg.find("libvigil-absent.so.9"), std::string::npos) << "dlerror names the first one tried";
}

struct ZlibApi {
  const char* (*version)() = nullptr;
};
int zlib_binds = 0;  // how often LoadForProcess<ZlibApi> ran its bind function
struct AbsentApi {
  int (*fn)() = nullptr;
};

TEST(SharedLibrary, LoadForProcessBindsOnceAndReturnsTheSameEachTime) {
  auto load = [] {
    return LoadForProcess<ZlibApi>({"libz.so.1"}, "install the package zlib1g", [](SharedLibrary& lib, ZlibApi& a) {
      ++zlib_binds;
      lib.Bind(a.version, "zlibVersion");
    });
  };
  auto first = load();
  auto second = load();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  EXPECT_EQ((*first)->version()[0], '1');
  EXPECT_EQ(zlib_binds, 1);

  auto absent = LoadForProcess<AbsentApi>({"libvigil-absent.so.9"}, "install the package vigil-absent",
                                          [](SharedLibrary& lib, AbsentApi& a) { lib.Bind(a.fn, "fn"); });
  EXPECT_EQ(absent.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(absent.status().message().find("install the package vigil-absent"), std::string_view::npos);
}

}  // namespace
}  // namespace vigil
