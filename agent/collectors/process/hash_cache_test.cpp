#include "agent/collectors/process/hash_cache.h"

#include <gtest/gtest.h>

namespace vigil::process {
namespace {

FileKey Key(uint64_t inode, int64_t mtime = 1, uint64_t size = 10) { return FileKey{1, inode, mtime, size}; }

TEST(HashCache, HitsOnTheSameFileVersionOnly) {
  HashCache cache(8);
  cache.Put(Key(5), "aa");
  EXPECT_EQ(cache.Get(Key(5)).value_or(""), "aa");
  EXPECT_FALSE(cache.Get(Key(5, 2)).has_value());             // modified
  EXPECT_FALSE(cache.Get(Key(5, 1, 11)).has_value());         // resized
  EXPECT_FALSE(cache.Get(Key(6)).has_value());                // another file
  EXPECT_FALSE(cache.Get(FileKey{2, 5, 1, 10}).has_value());  // another device
}

TEST(HashCache, EvictsTheLeastRecentlyUsedWhenFull) {
  HashCache cache(2);
  cache.Put(Key(1), "one");
  cache.Put(Key(2), "two");
  ASSERT_TRUE(cache.Get(Key(1)).has_value());  // 1 is now the most recent
  cache.Put(Key(3), "three");
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.Get(Key(1)).has_value());
  EXPECT_FALSE(cache.Get(Key(2)).has_value());
  EXPECT_TRUE(cache.Get(Key(3)).has_value());
}

TEST(HashCache, PutOfAKnownKeyReplacesWithoutGrowing) {
  HashCache cache(2);
  cache.Put(Key(1), "old");
  cache.Put(Key(1), "new");
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Get(Key(1)).value_or(""), "new");
}

}  // namespace
}  // namespace vigil::process
