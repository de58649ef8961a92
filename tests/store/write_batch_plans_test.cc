// protomesh_write_batch (migrations/0002, 0003) on a connection that made its
// plans while the tables were empty, as a store's write connection does on a
// new database: once the tables have grown, it must still read them by key.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "src/store/migrations.h"
#include "tests/support/postgres_server.h"

namespace protomesh::testing {
namespace {

// Puts keys first..last (md5 of the number as the id) with content that
// depends on `content`, as one batch of one mutation per key.
constexpr char kPutKeys[] = R"sql(
SELECT count(*) FROM protomesh_write_batch(
  '00000000-0000-4000-8000-0000000000aa'::uuid, $1::bigint,
  ARRAY(SELECT 'plans'::text FROM generate_series($2::int, $3::int) g),
  ARRAY(SELECT md5(g::text)::uuid FROM generate_series($2::int, $3::int) g),
  ARRAY(SELECT g - $2::int + 1 FROM generate_series($2::int, $3::int) g),
  ARRAY(SELECT g - $2::int + 1 FROM generate_series($2::int, $3::int) g),
  ARRAY(SELECT true FROM generate_series($2::int, $3::int) g),
  ARRAY(SELECT NULL::bigint FROM generate_series($2::int, $3::int) g),
  ARRAY(SELECT 'r' || g FROM generate_series($2::int, $3::int) g),
  ARRAY(SELECT 'type.googleapis.com/test.Spec'::text FROM generate_series($2::int, $3::int) g),
  ARRAY(SELECT convert_to($4::text || g, 'UTF8') FROM generate_series($2::int, $3::int) g),
  ARRAY(SELECT md5($4::text || g) FROM generate_series($2::int, $3::int) g)))sql";

constexpr char kDropKey[] = R"sql(
SELECT count(*) FROM protomesh_write_batch(
  '00000000-0000-4000-8000-0000000000aa'::uuid, $1::bigint,
  ARRAY['plans'], ARRAY[md5($2::int::text)::uuid], '{1}', '{1}', '{false}', '{NULL}',
  '{""}', '{""}', ARRAY[''::bytea], '{""}'))sql";

TEST(WriteBatchPlansTest, PlansMadeOnEmptyTablesStillReadThemByKeyOnceTheyHaveGrown) {
  auto& postgres = SharedPostgres();
  ASSERT_TRUE(postgres.CreateDatabase("plans").ok());
  pqxx::connection connection(postgres.Url("plans"));
  ASSERT_TRUE(store::ApplyMigrations(connection, store::EmbeddedMigrations()).ok());
  {
    // ANALYZE would make the function plan again: keep it from running.
    pqxx::nontransaction tx(connection);
    tx.exec("ALTER TABLE resources SET (autovacuum_enabled = false)");
    tx.exec("ALTER TABLE changes SET (autovacuum_enabled = false)");
  }
  {
    pqxx::nontransaction autocommit(connection);
    // The first call makes the plans, on empty tables; a put and a drop use
    // every statement of the function.
    EXPECT_EQ(autocommit.exec_params1(kPutKeys, 1, 0, 0, "first")[0].as<int>(), 1);
    EXPECT_EQ(autocommit.exec_params1(kDropKey, 2, 0)[0].as<int>(), 1);
    EXPECT_EQ(autocommit.exec_params1(kPutKeys, 3, 1, 3000, "grown")[0].as<int>(), 3000);
  }

  // Counted by the backend since it last reported (so the migrations'
  // index builds may be in): what matters is how many the calls add.
  auto sequential_scans = [](pqxx::transaction_base& tx, const std::string& table) {
    return tx.exec_params1("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = $1",
                           table)[0].as<int64_t>();
  };
  pqxx::work tx(connection);
  const int64_t resources_before = sequential_scans(tx, "resources");
  const int64_t changes_before = sequential_scans(tx, "changes");
  EXPECT_EQ(tx.exec_params1(kPutKeys, 4, 10, 21, "changed")[0].as<int>(), 12);
  EXPECT_EQ(tx.exec_params1(kDropKey, 5, 100)[0].as<int>(), 1);
  EXPECT_EQ(sequential_scans(tx, "resources") - resources_before, 0);
  EXPECT_EQ(sequential_scans(tx, "changes") - changes_before, 0);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM resources")[0].as<int>(), 2999);
}

}  // namespace
}  // namespace protomesh::testing
