#include "src/store/pg_array.h"

#include <gtest/gtest.h>

#include <string>

namespace protomesh::store {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(PgBinaryArrayTest, EmptyHasNoDimensions) {
  PgBinaryArray array(PgBinaryArray::Type::kText);
  EXPECT_EQ(array.Finish(), Bytes({0, 0, 0, 0, /*no nulls*/ 0, 0, 0, 0, /*text*/ 0, 0, 0, 25}));
}

TEST(PgBinaryArrayTest, IntegersAreBigEndianAndNullsAreFlagged) {
  PgBinaryArray array(PgBinaryArray::Type::kInt8);
  array.AddInt8(258);
  array.AddNull();
  EXPECT_EQ(array.size(), 2u);
  EXPECT_EQ(array.Finish(), Bytes({0, 0, 0, 1, /*has nulls*/ 0, 0, 0, 1, /*int8*/ 0, 0, 0, 20,
                                   /*length*/ 0, 0, 0, 2, /*lower bound*/ 0, 0, 0, 1,
                                   0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 1, 2,
                                   0xff, 0xff, 0xff, 0xff}));
}

TEST(PgBinaryArrayTest, TextBoolAndUuidElements) {
  PgBinaryArray text(PgBinaryArray::Type::kText);
  text.AddText("ab");
  EXPECT_EQ(text.Finish().substr(20), Bytes({0, 0, 0, 2, 'a', 'b'}));

  PgBinaryArray flags(PgBinaryArray::Type::kBool);
  flags.AddBool(true);
  flags.AddBool(false);
  EXPECT_EQ(flags.Finish().substr(20), Bytes({0, 0, 0, 1, 1, 0, 0, 0, 1, 0}));

  PgBinaryArray ids(PgBinaryArray::Type::kUuid);
  ids.AddUuid("00010203-0405-0607-0809-0a0b0c0d0e0f");
  ids.AddUuid("not a uuid");
  EXPECT_EQ(ids.Finish().substr(20),
            Bytes({0, 0, 0, 16, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                   0xff, 0xff, 0xff, 0xff}));
}

}  // namespace
}  // namespace protomesh::store
