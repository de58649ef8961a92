// The plans PostgreSQL makes for the store's SQL: what it reads must grow
// with what it returns, not with the tables.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "src/store/migrations.h"
#include "src/store/sql.h"
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

// A new database on the shared server with the store's schema; its URL.
std::string MigratedDatabase(const std::string& name) {
  auto& postgres = SharedPostgres();
  absl::Status created = postgres.CreateDatabase(name);
  if (!created.ok()) throw std::runtime_error(created.ToString());
  pqxx::connection connection(postgres.Url(name));
  absl::StatusOr<int> migrated = store::ApplyMigrations(connection, store::EmbeddedMigrations());
  if (!migrated.ok()) throw std::runtime_error(migrated.status().ToString());
  return postgres.Url(name);
}

// protomesh_write_batch (migrations/0002, 0003) on a connection that made its
// plans while the tables were empty, as a store's write connection does on a
// new database: once the tables have grown, it must still read them by key.
TEST(SqlPlansTest, WriteFunctionPlansMadeOnEmptyTablesStillReadByKeyOnceTheTablesGrew) {
  pqxx::connection connection(MigratedDatabase("plans"));
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

// A List page (and a watch's initial state) of a large namespace reads the
// primary key from where the page starts, in order: no sort of the whole
// namespace.
TEST(SqlPlansTest, AListPageReadsTheNamespaceInKeyOrderWithoutSortingIt) {
  pqxx::connection connection(MigratedDatabase("list_plans"));
  {
    pqxx::nontransaction tx(connection);
    tx.exec(
        "INSERT INTO resources SELECT 'big', md5(g::text)::uuid, 'r' || g, 't', '\\x00', "
        "md5(g::text), g, now() FROM generate_series(1, 20000) g");
    tx.exec("ANALYZE resources");
  }
  pqxx::nontransaction tx(connection);
  tx.exec(std::string("PREPARE list_page (text, text, text[], text, bigint) AS ") +
          store::sql::kListHeadSql);
  for (const char* page : {"EXECUTE list_page('big', '', '{}', '', 101)",
                           "EXECUTE list_page('big', '', '{}', '', 9223372036854775807)",
                           "EXECUTE list_page('big', md5('7')::uuid::text, '{}', '', 101)"}) {
    std::string plan;
    for (const auto& row : tx.exec(std::string("EXPLAIN ") + page)) {
      plan += row[0].as<std::string>() + "\n";
    }
    EXPECT_THAT(plan, ::testing::HasSubstr("Index Scan using resources_pkey")) << page;
    EXPECT_THAT(plan, ::testing::Not(::testing::HasSubstr("Sort"))) << page << "\n" << plan;
  }  // A name prefix still finds its few resources through the name index.
  std::string plan;
  for (const auto& row : tx.exec("EXPLAIN EXECUTE list_page('big', '', '{}', 'r1999', 101)")) {
    plan += row[0].as<std::string>() + "\n";
  }
  EXPECT_THAT(plan, ::testing::HasSubstr("resources_by_name")) << plan;
}

// Right after a bulk load, before anything analyzed the tables, a List (at
// the head or at a past revision) still reads in index order: with no
// statistics the planner takes the namespace for a few hundred rows, and
// sorted 100 000 of them on disk.
TEST(SqlPlansTest, AListRightAfterABulkLoadStillReadsInKeyOrder) {
  pqxx::connection connection(MigratedDatabase("bulk_plans"));
  pqxx::work tx(connection);
  tx.exec("ALTER TABLE resources SET (autovacuum_enabled = false)");
  tx.exec("ALTER TABLE changes SET (autovacuum_enabled = false)");
  tx.exec(
      "INSERT INTO resources SELECT 'big', md5(g::text)::uuid, 'r' || g, 't', '\\x00', "
      "md5(g::text), g, now() FROM generate_series(1, 20000) g");
  tx.exec(
      "INSERT INTO changes SELECT revision, namespace, id, false, name, type_url, spec, sha256, "
      "committed_at FROM resources");
  tx.exec(store::sql::kListSettingsSql);
  tx.exec(std::string("PREPARE list_page (text, text, text[], text, bigint) AS ") +
          store::sql::kListHeadSql);
  tx.exec(std::string("PREPARE list_page_at (text, text, text[], text, bigint, bigint) AS ") +
          store::sql::kListAtSql);
  for (const char* list : {"EXECUTE list_page('big', '', '{}', '', 9223372036854775807)",
                           "EXECUTE list_page_at('big', '', '{}', '', 9223372036854775807, 100)"}) {
    std::string plan;
    for (const auto& row : tx.exec(std::string("EXPLAIN ") + list)) {
      plan += row[0].as<std::string>() + "\n";
    }
    EXPECT_THAT(plan, ::testing::HasSubstr("Index Scan")) << list << "\n" << plan;
    EXPECT_THAT(plan, ::testing::Not(::testing::HasSubstr("Sort"))) << list << "\n" << plan;
  }
}

}  // namespace
}  // namespace protomesh::testing
