#include "bench/pgbench.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "src/common/subprocess.h"

namespace protomesh::bench {
namespace {

namespace fs = std::filesystem;

// The store's change log table (migrations/0001_resource_store.sql), which
// every put inserts one row into.
constexpr char kSchema[] = R"sql(
DROP TABLE IF EXISTS changes;
DROP SEQUENCE IF EXISTS revision;
CREATE SEQUENCE revision;
CREATE TABLE changes (
  revision     bigint      NOT NULL,
  namespace    text        NOT NULL,
  id           uuid        NOT NULL,
  dropped      boolean     NOT NULL,
  name         text        NOT NULL,
  type_url     text        NOT NULL,
  spec         bytea       NOT NULL,
  sha256       text        NOT NULL,
  committed_at timestamptz NOT NULL,
  PRIMARY KEY (revision, namespace, id)
);
CREATE INDEX changes_by_resource ON changes (namespace, id, revision DESC);
CREATE INDEX changes_by_namespace ON changes (namespace, revision);
CREATE INDEX changes_by_time ON changes (committed_at);
)sql";

// One statement, so one transaction and one round trip (-M prepared).
constexpr char kInsert[] =
    "INSERT INTO changes (revision, namespace, id, dropped, name, type_url, spec, sha256, "
    "committed_at) VALUES (nextval('revision'), 'bench', gen_random_uuid(), false, 'k' || :k, "
    "'type.googleapis.com/google.protobuf.BytesValue', "
    "convert_to(substr(repeat(md5(random()::text), 16), 1, 500), 'UTF8'), md5(:k::text), now())";

std::string Script(PgbenchScript script) {
  std::string text = "\\set k random(1, 10000)\n";
  if (script == PgbenchScript::kInsertNotify) {
    absl::StrAppend(&text, "WITH c AS (", kInsert,
                    " RETURNING revision) SELECT pg_notify('bench', revision::text) FROM c;\n");
  } else {
    absl::StrAppend(&text, kInsert, ";\n");
  }
  return text;
}

}  // namespace

const char* PgbenchScriptName(PgbenchScript script) {
  return script == PgbenchScript::kInsertNotify ? "insert+notify" : "insert only";
}

absl::Status PreparePgbenchDatabase(const std::string& url) {
  try {
    pqxx::connection connection(url);
    pqxx::nontransaction tx(connection);
    tx.exec(kSchema);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("preparing the pgbench database: ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<LoopResult> RunPgbench(const std::string& pgbench, const std::string& url,
                                      const std::string& work_dir, PgbenchScript script,
                                      const LoopOptions& options) {
  const std::string dir = absl::StrCat(work_dir, "/pgbench-run");
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  const std::string script_path = dir + "/script.sql";
  std::ofstream(script_path) << Script(script);

  const auto total = options.warmup + options.duration;
  const int64_t seconds = (total.count() + 999) / 1000 + 1;
  const int threads = std::min(options.clients, 2);
  std::vector<std::string> argv = {pgbench,
                                   "-n",  // no vacuum of pgbench's own tables
                                   "-M", "prepared",
                                   "-c", absl::StrCat(options.clients),
                                   "-j", absl::StrCat(threads),
                                   "-T", absl::StrCat(seconds),
                                   "-f", script_path,
                                   "-l", "--log-prefix", dir + "/log",
                                   url};
  auto run = subprocess::RunCommand(argv, {}, "", std::chrono::seconds(seconds + 120));
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("pgbench exited with ", run->exit_code, ":\n", run->output));
  }

  // Each log line: client_id transaction_no latency_us script_no epoch_s epoch_us.
  struct Tx {
    double end_s;
    double latency_ms;
  };
  std::vector<Tx> transactions;
  int64_t failed = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("log", 0) != 0) continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      int64_t client, number, script_no, epoch_s, epoch_us;
      std::string latency;
      if (!(fields >> client >> number >> latency >> script_no >> epoch_s >> epoch_us)) continue;
      if (latency == "failed" || latency == "skipped") {
        ++failed;
        continue;
      }
      transactions.push_back({static_cast<double>(epoch_s) + static_cast<double>(epoch_us) / 1e6,
                              std::stod(latency) / 1000.0});
    }
  }
  fs::remove_all(dir, ec);
  if (transactions.empty()) {
    return absl::InternalError(absl::StrCat("pgbench logged no transaction:\n", run->output));
  }
  double first_start = transactions[0].end_s - transactions[0].latency_ms / 1000;
  for (const auto& tx : transactions) first_start = std::min(first_start, tx.end_s - tx.latency_ms / 1000);
  const double from = first_start + std::chrono::duration<double>(options.warmup).count();
  const double to = from + std::chrono::duration<double>(options.duration).count();

  LoopResult result;
  result.errors = failed;
  std::vector<double> latencies;
  for (const auto& tx : transactions) {
    if (tx.end_s < from || tx.end_s > to) continue;
    ++result.ops;
    if (tx.end_s - tx.latency_ms / 1000 >= from) latencies.push_back(tx.latency_ms);
  }
  result.ops_per_second =
      static_cast<double>(result.ops) / std::chrono::duration<double>(options.duration).count();
  result.p50_ms = Quantile(latencies, 0.50);
  result.p99_ms = Quantile(latencies, 0.99);
  return result;
}

}  // namespace protomesh::bench
