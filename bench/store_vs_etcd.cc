// store_vs_etcd: protomesh-store and etcd side by side on this machine.
//
// Starts a private PostgreSQL (fsync on), protomesh-store on it, and etcd
// (WAL fsync on), all on loopback with their data under one work directory
// on the same disk; runs every workload against both, repeated; and prints
// one table: the median of the repetitions for each system, and the median
// of the ratios taken within each repetition. See bench/README.md.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/bench_util.h"
#include "bench/pgbench.h"
#include "bench/servers.h"
#include "bench/systems.h"
#include "bench/workloads.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "src/common/config.h"
#include "src/common/subprocess.h"

namespace protomesh::bench {
namespace {

struct Settings {
  int reps = 3;
  absl::Duration duration = absl::Seconds(3);
  absl::Duration warmup = absl::Milliseconds(500);
  std::string clients = "1,8,32,64,256";
  std::string watchers = "1,100,1000";
  int watch_puts = 300;
  absl::Duration watch_interval = absl::Milliseconds(10);
  std::string sync_sizes = "10000,100000";
  int get_clients = 32;
  int value_bytes = 500;
  int channels = 8;
  int64_t etcd_page = 500;
  std::string workloads = "put,pgbench,get,sync,watch";
  std::string store_args;
  std::string etcd_bin = "etcd";
  CommonSettings common;  // store_bin: the one built next to this benchmark
};

std::vector<int64_t> ParseList(const std::string& text) {
  auto values = ParsePositiveList(text);
  if (!values.ok()) {
    std::fprintf(stderr, "store_vs_etcd: %s\n", std::string(values.status().message()).c_str());
    std::exit(2);
  }
  return *values;
}

// ---------------------------------------------------------------------------
// The results table.

enum class Better { kHigher, kLower };

struct Row {
  std::string workload;
  std::string metric;
  std::string format;  // absl::StrFormat spec for one value, e.g. "%.0f"
  Better better = Better::kHigher;
  std::vector<double> store, etcd, pgbench;
  std::vector<double> ratio;          // store / etcd, per repetition
  std::vector<double> pgbench_ratio;  // store / pgbench, per repetition
  std::string goal;
};

class Table {
 public:
  Row& Get(const std::string& workload, const std::string& metric, const std::string& format,
           Better better) {
    for (auto& row : rows_) {
      if (row.workload == workload && row.metric == metric) return row;
    }
    Row& row = rows_.emplace_back();
    row.workload = workload;
    row.metric = metric;
    row.format = format;
    row.better = better;
    return row;
  }
  Row* Find(const std::string& workload, const std::string& metric) {
    for (auto& row : rows_) {
      if (row.workload == workload && row.metric == metric) return &row;
    }
    return nullptr;
  }
  const std::deque<Row>& rows() const { return rows_; }

 private:
  std::deque<Row> rows_;  // a deque: Get()'s references stay valid
};

// a / b, or NaN (shown as "–") when b is not positive.
double Ratio(double a, double b) { return b > 0 ? a / b : std::nan(""); }

std::string Format(const std::string& spec, double value) {
  if (std::isnan(value)) return "–";
  return absl::StrFormat(*absl::ParsedFormat<'f'>::New(spec), value);
}

std::string RenderTable(const Table& table) {
  std::string out =
      "| workload | metric | protomesh | etcd | protomesh ÷ etcd | pgbench (protomesh ÷ it) "
      "| goal |\n|---|---|---:|---:|---:|---:|---|\n";
  for (const auto& row : table.rows()) {
    std::string pg;
    if (!row.pgbench.empty()) {
      pg = Format(row.format, Median(row.pgbench));
      if (!row.pgbench_ratio.empty()) {
        absl::StrAppend(&pg, " (", Format("%.2f", Median(row.pgbench_ratio)), ")");
      }
    }
    absl::StrAppend(&out, "| ", row.workload, " | ", row.metric, " | ",
                    row.store.empty() ? "" : Format(row.format, Median(row.store)), " | ",
                    row.etcd.empty() ? "" : Format(row.format, Median(row.etcd)), " | ",
                    row.ratio.empty() ? "" : Format("%.2f", Median(row.ratio)), " | ", pg, " | ",
                    row.goal, " |\n");
  }
  return out;
}

// ---------------------------------------------------------------------------
// The servers.

struct Servers {
  std::string work_dir;
  std::unique_ptr<store::EmbeddedPostgres> postgres;
  std::string postgres_version;
  Server store;
  std::unique_ptr<Child> etcd;
  std::string etcd_address;
  std::string etcd_version;
};

absl::Status StartPostgresAndStore(const Settings& settings, Servers& servers) {
  PostgresSettings postgres;
  postgres.bin_dir = settings.common.pg_bin_dir;
  postgres.max_connections = 400;  // pgbench at 256 clients
  auto started = StartPostgres(servers.work_dir, postgres, &servers.postgres_version);
  if (!started.ok()) return started.status();
  servers.postgres = *std::move(started);
  for (const char* db : {"protomesh", "pgbench"}) {
    if (auto s = servers.postgres->CreateDatabaseIfMissing(db); !s.ok()) return s;
  }
  if (auto s = PreparePgbenchDatabase(servers.postgres->Url("pgbench")); !s.ok()) return s;
  std::vector<std::string> extra;
  for (absl::string_view arg : absl::StrSplit(settings.store_args, ' ', absl::SkipWhitespace())) {
    extra.emplace_back(arg);
  }
  auto store = StartStore(settings.common.store_bin, servers.postgres->Url("protomesh"),
                          servers.work_dir + "/store.log", extra);
  if (!store.ok()) return store.status();
  servers.store = *std::move(store);
  return absl::OkStatus();
}

absl::Status StartEtcd(const Settings& settings, Servers& servers) {
  auto version = subprocess::RunCommand({settings.etcd_bin, "--version"});
  if (!version.ok()) return version.status();
  servers.etcd_version = std::string(absl::StripAsciiWhitespace(
      std::vector<std::string>(absl::StrSplit(version->output, '\n'))[0]));
  int client_port = FreePort();
  int peer_port = FreePort();
  servers.etcd_address = absl::StrCat("127.0.0.1:", client_port);
  const std::string client_url = absl::StrCat("http://127.0.0.1:", client_port);
  const std::string peer_url = absl::StrCat("http://127.0.0.1:", peer_port);
  // Defaults otherwise: the WAL is fsynced on every commit (no
  // --unsafe-no-fsync), no auto-compaction.
  std::vector<std::string> argv = {settings.etcd_bin,
                                   "--name=bench",
                                   "--data-dir=" + servers.work_dir + "/etcd",
                                   "--listen-client-urls=" + client_url,
                                   "--advertise-client-urls=" + client_url,
                                   "--listen-peer-urls=" + peer_url,
                                   "--initial-advertise-peer-urls=" + peer_url,
                                   "--initial-cluster=bench=" + peer_url,
                                   "--initial-cluster-state=new",
                                   "--quota-backend-bytes=8589934592",
                                   "--logger=zap",
                                   "--log-level=warn"};
  auto child = Child::Start(argv, servers.work_dir + "/etcd.log");
  if (!child.ok()) return child.status();
  servers.etcd = *std::move(child);
  auto stub = etcdserverpb::KV::NewStub(
      grpc::CreateChannel(servers.etcd_address, grpc::InsecureChannelCredentials()));
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline && !g_interrupted) {
    if (!servers.etcd->Running()) break;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    etcdserverpb::RangeRequest request;
    request.set_key("/ready");
    etcdserverpb::RangeResponse response;
    if (stub->Range(&context, request, &response).ok()) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::UnavailableError(absl::StrCat("etcd did not become ready:\n", servers.etcd->LogTail()));
}

// ---------------------------------------------------------------------------
// The workloads, repeated.

struct Runner {
  const Settings& settings;
  Servers& servers;
  KvSystem& store;
  KvSystem& etcd;
  Table& table;
  std::vector<std::string> problems;

  LoopOptions Loop(int clients) const {
    LoopOptions options;
    options.clients = clients;
    options.warmup = Millis(settings.warmup);
    options.duration = Millis(settings.duration);
    return options;
  }

  // Both systems in this repetition, in alternating order.
  std::vector<KvSystem*> Order(int rep) {
    if (rep % 2 == 0) return {&store, &etcd};
    return {&etcd, &store};
  }

  void Problem(const std::string& what) {
    std::fprintf(stderr, "  PROBLEM: %s\n", what.c_str());
    problems.push_back(what);
  }

  void Log(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

  void Puts(const std::vector<int64_t>& clients, bool with_pgbench) {
    const std::string pgbench = settings.common.pg_bin_dir + "/pgbench";
    for (int64_t c : clients) {
      const std::string workload = absl::StrCat("put, ", c, c == 1 ? " client" : " clients");
      Row& tput = table.Get(workload, "throughput (puts/s)", "%.0f", Better::kHigher);
      Row& p50 = table.Get(workload, "latency p50 (ms)", "%.2f", Better::kLower);
      Row& p99 = table.Get(workload, "latency p99 (ms)", "%.2f", Better::kLower);
      Row* insert_only = nullptr;
      if (with_pgbench) {
        insert_only = &table.Get(absl::StrCat("pgbench insert only, ", c, c == 1 ? " client" : " clients"),
                                 "throughput (tx/s)", "%.0f", Better::kHigher);
      }
      if (c >= 32) tput.goal = "≥ 1.5 × etcd and > pgbench insert+notify";
      if (c == 1) p50.goal = "≤ etcd";
      for (int rep = 0; rep < settings.reps && !g_interrupted; ++rep) {
        std::map<std::string, LoopResult> results;
        for (KvSystem* system : Order(rep)) {
          LoopResult r = RunPuts(*system, "put", Loop(static_cast<int>(c)),
                                 static_cast<size_t>(settings.value_bytes), 10000);
          Log(absl::StrFormat("put c=%d rep %d %-9s %8.0f puts/s  p50 %6.2f ms  p99 %6.2f ms  errors %d%s",
                              c, rep + 1, system->name(), r.ops_per_second, r.p50_ms, r.p99_ms,
                              r.errors, r.first_error.empty() ? "" : " (" + r.first_error + ")"));
          if (r.errors > 0) Problem(absl::StrCat(workload, " on ", system->name(), ": ", r.errors, " errors: ", r.first_error));
          results[system->name()] = r;
        }
        const LoopResult& s = results["protomesh"];
        const LoopResult& e = results["etcd"];
        tput.store.push_back(s.ops_per_second);
        tput.etcd.push_back(e.ops_per_second);
        tput.ratio.push_back(Ratio(s.ops_per_second, e.ops_per_second));
        p50.store.push_back(s.p50_ms);
        p50.etcd.push_back(e.p50_ms);
        p50.ratio.push_back(Ratio(s.p50_ms, e.p50_ms));
        p99.store.push_back(s.p99_ms);
        p99.etcd.push_back(e.p99_ms);
        p99.ratio.push_back(Ratio(s.p99_ms, e.p99_ms));
        if (!with_pgbench) continue;
        for (PgbenchScript script : {PgbenchScript::kInsertNotify, PgbenchScript::kInsertOnly}) {
          auto r = RunPgbench(pgbench, servers.postgres->Url("pgbench"), servers.work_dir, script,
                              Loop(static_cast<int>(c)));
          if (!r.ok()) {
            Problem(absl::StrCat("pgbench ", PgbenchScriptName(script), " c=", c, ": ",
                                 r.status().message()));
            continue;
          }
          Log(absl::StrFormat("put c=%d rep %d pgbench %s %8.0f tx/s  p50 %6.2f ms  p99 %6.2f ms",
                              c, rep + 1, PgbenchScriptName(script), r->ops_per_second, r->p50_ms,
                              r->p99_ms));
          if (script == PgbenchScript::kInsertNotify) {
            tput.pgbench.push_back(r->ops_per_second);
            tput.pgbench_ratio.push_back(Ratio(s.ops_per_second, r->ops_per_second));
            p50.pgbench.push_back(r->p50_ms);
            p99.pgbench.push_back(r->p99_ms);
          } else {
            insert_only->pgbench.push_back(r->ops_per_second);
            insert_only->pgbench_ratio.push_back(Ratio(s.ops_per_second, r->ops_per_second));
          }
        }
      }
    }
  }

  absl::Status Load(const std::vector<int64_t>& sizes) {
    for (int64_t n : sizes) {
      for (KvSystem* system : {&store, &etcd}) {
        auto started = Clock::now();
        if (auto s = system->Load(absl::StrCat("sync-", n), n,
                                  MakeValue(n, static_cast<size_t>(settings.value_bytes)));
            !s.ok()) {
          return absl::Status(s.code(), absl::StrCat("loading ", n, " keys into ", system->name(),
                                                     ": ", s.message()));
        }
        Log(absl::StrFormat("loaded %d keys into %s in %.1f s", n, system->name(),
                            MillisBetween(started, Clock::now()) / 1000));
      }
    }
    return absl::OkStatus();
  }

  void Syncs(const std::vector<int64_t>& sizes) {
    for (int64_t n : sizes) {
      Row& row = table.Get(absl::StrCat("initial sync, ", n, " keys"),
                           absl::StrCat("time to full state (s)"), "%.3f", Better::kLower);
      if (n == 100000) row.goal = "< 1 s";
      for (int rep = 0; rep < settings.reps && !g_interrupted; ++rep) {
        std::map<std::string, SyncResult> results;
        for (KvSystem* system : Order(rep)) {
          SyncResult r = RunInitialSync(*system, absl::StrCat("sync-", n), n);
          Log(absl::StrFormat("sync n=%d rep %d %-9s %.3f s  %d keys%s", n, rep + 1,
                              system->name(), r.seconds, r.received,
                              r.error.empty() ? "" : " ERROR " + r.error));
          if (!r.error.empty()) Problem(absl::StrCat("initial sync of ", n, " on ", system->name(), ": ", r.error));
          results[system->name()] = r;
        }
        row.store.push_back(results["protomesh"].seconds);
        row.etcd.push_back(results["etcd"].seconds);
        row.ratio.push_back(Ratio(results["protomesh"].seconds, results["etcd"].seconds));
      }
    }
  }

  void Gets(int64_t key_count) {
    const int c = settings.get_clients;
    Row& tput = table.Get(absl::StrCat("get, ", c, " clients"), "throughput (gets/s)", "%.0f",
                          Better::kHigher);
    Row& p50 = table.Get(absl::StrCat("get, ", c, " clients"), "latency p50 (ms)", "%.2f",
                         Better::kLower);
    for (int rep = 0; rep < settings.reps && !g_interrupted; ++rep) {
      std::map<std::string, LoopResult> results;
      for (KvSystem* system : Order(rep)) {
        LoopResult r = RunGets(*system, absl::StrCat("sync-", key_count), Loop(c), key_count);
        Log(absl::StrFormat("get c=%d rep %d %-9s %8.0f gets/s  p50 %6.2f ms  p99 %6.2f ms  errors %d",
                            c, rep + 1, system->name(), r.ops_per_second, r.p50_ms, r.p99_ms,
                            r.errors));
        if (r.errors > 0) Problem(absl::StrCat("get on ", system->name(), ": ", r.errors, " errors: ", r.first_error));
        results[system->name()] = r;
      }
      const LoopResult& s = results["protomesh"];
      const LoopResult& e = results["etcd"];
      tput.store.push_back(s.ops_per_second);
      tput.etcd.push_back(e.ops_per_second);
      tput.ratio.push_back(Ratio(s.ops_per_second, e.ops_per_second));
      p50.store.push_back(s.p50_ms);
      p50.etcd.push_back(e.p50_ms);
      p50.ratio.push_back(Ratio(s.p50_ms, e.p50_ms));
    }
  }

  // Server memory per idle watcher, measured once on the freshly started
  // servers (later, memory freed by other workloads is reused and hides it).
  void IdleMemory(int64_t w) {
    Row& row = table.Get(absl::StrCat("idle watchers, ", w), "server memory per watcher (KB)",
                         "%.1f", Better::kLower);
    row.goal = "< 10 KB";
    std::map<std::string, double> kb;
    for (KvSystem* system : Order(0)) {
      WatchOptions options;
      options.watchers = static_cast<int>(w);
      options.puts = 0;
      options.channels = settings.channels;
      options.idle_before_memory = std::chrono::seconds(2);
      WatchResult r = RunWatchPropagation(*system, "idle", options);
      kb[system->name()] = r.bytes_per_idle_watcher / 1024;
      Log(absl::StrFormat("idle w=%d %-9s %.1f KB per watcher%s", w, system->name(),
                          kb[system->name()], r.error.empty() ? "" : " ERROR " + r.error));
      if (!r.error.empty()) Problem(absl::StrCat("idle watchers on ", system->name(), ": ", r.error));
    }
    row.store.push_back(kb["protomesh"]);
    row.etcd.push_back(kb["etcd"]);
    row.ratio.push_back(Ratio(kb["protomesh"], kb["etcd"]));
  }

  void Watches(const std::vector<int64_t>& counts) {
    for (int64_t w : counts) {
      const std::string workload = absl::StrCat("watch, ", w, w == 1 ? " watcher" : " watchers");
      Row& p50 = table.Get(workload, "put reply → event p50 (ms)", "%.2f", Better::kLower);
      Row& p99 = table.Get(workload, "put reply → event p99 (ms)", "%.2f", Better::kLower);
      Row& max = table.Get(workload, "put reply → event max (ms)", "%.2f", Better::kLower);
      if (w == 1000) p99.goal = "≤ 5 ms";
      for (int rep = 0; rep < settings.reps && !g_interrupted; ++rep) {
        std::map<std::string, WatchResult> results;
        for (KvSystem* system : Order(rep)) {
          WatchOptions options;
          options.watchers = static_cast<int>(w);
          options.puts = settings.watch_puts;
          options.put_interval = Millis(settings.watch_interval);
          options.value_bytes = static_cast<size_t>(settings.value_bytes);
          options.channels = settings.channels;
          WatchResult r =
              RunWatchPropagation(*system, absl::StrCat("watch-", w, "-", rep), options);
          Log(absl::StrFormat(
              "watch w=%d rep %d %-9s p50 %6.2f ms  p99 %6.2f ms  max %7.2f ms  %d samples, %d "
              "missing, %.1f KB/idle watcher, set up in %.2f s%s",
              w, rep + 1, system->name(), r.p50_ms, r.p99_ms, r.max_ms, r.samples, r.missing,
              r.bytes_per_idle_watcher / 1024, r.setup_seconds,
              r.error.empty() ? "" : " ERROR " + r.error));
          if (!r.error.empty() || r.missing > 0) {
            Problem(absl::StrCat(workload, " on ", system->name(), ": ", r.missing,
                                 " events missing; ", r.error));
          }
          results[system->name()] = r;
        }
        const WatchResult& s = results["protomesh"];
        const WatchResult& e = results["etcd"];
        p50.store.push_back(s.p50_ms);
        p50.etcd.push_back(e.p50_ms);
        p50.ratio.push_back(Ratio(s.p50_ms, e.p50_ms));
        p99.store.push_back(s.p99_ms);
        p99.etcd.push_back(e.p99_ms);
        p99.ratio.push_back(Ratio(s.p99_ms, e.p99_ms));
        max.store.push_back(s.max_ms);
        max.etcd.push_back(e.max_ms);
        max.ratio.push_back(Ratio(s.max_ms, e.max_ms));
      }
    }
  }
};

// The goals of issue 4, judged on the medians.
std::string JudgeGoals(Table& table, const std::vector<int64_t>& clients,
                       const std::vector<int64_t>& watchers, const std::vector<int64_t>& sizes) {
  std::string out;
  auto line = [&](bool met, const std::string& text) {
    absl::StrAppend(&out, "- ", met ? "**met**" : "**missed**", ": ", text, "\n");
  };
  for (int64_t c : clients) {
    if (c < 32) continue;
    Row* row = table.Find(absl::StrCat("put, ", c, " clients"), "throughput (puts/s)");
    if (!row || row->ratio.empty()) continue;
    double ratio = Median(row->ratio);
    line(ratio >= 1.5, absl::StrFormat("put throughput at %d clients ≥ 1.5 × etcd: %.2f × (%.0f vs %.0f puts/s)",
                                       c, ratio, Median(row->store), Median(row->etcd)));
    if (!row->pgbench_ratio.empty()) {
      double pg = Median(row->pgbench_ratio);
      line(pg > 1.0, absl::StrFormat("put throughput at %d clients above pgbench insert+notify: %.2f × (%.0f tx/s)",
                                     c, pg, Median(row->pgbench)));
    }
  }
  if (Row* row = table.Find("put, 1 client", "latency p50 (ms)"); row && !row->ratio.empty()) {
    double ratio = Median(row->ratio);
    line(ratio <= 1.0, absl::StrFormat("single-client put p50 no worse than etcd's: %.2f ms vs %.2f ms (%.2f ×)",
                                       Median(row->store), Median(row->etcd), ratio));
  }
  for (int64_t w : watchers) {
    if (w != 1000) continue;
    if (Row* row = table.Find("watch, 1000 watchers", "put reply → event p99 (ms)"); row && !row->store.empty()) {
      double p99 = Median(row->store);
      line(p99 <= 5.0, absl::StrFormat("watch propagation p99 ≤ 5 ms with 1000 watchers: %.2f ms (etcd %.2f ms)",
                                       p99, Median(row->etcd)));
    }
    if (Row* row = table.Find("idle watchers, 1000", "server memory per watcher (KB)"); row && !row->store.empty()) {
      double kb = Median(row->store);
      line(kb < 10.0, absl::StrFormat("memory per idle watcher < 10 KB: %.1f KB (etcd %.1f KB)", kb,
                                      Median(row->etcd)));
    }
  }
  for (int64_t n : sizes) {
    if (n != 100000) continue;
    if (Row* row = table.Find("initial sync, 100000 keys", "time to full state (s)"); row && !row->store.empty()) {
      double s = Median(row->store);
      line(s < 1.0, absl::StrFormat("initial sync of 100k resources < 1 s: %.3f s (etcd %.3f s)", s,
                                    Median(row->etcd)));
    }
  }
  return out;
}

int Main(int argc, char** argv) {
  WatchForInterrupt();
  Settings settings;
  config::Flags flags("store_vs_etcd",
                      "Runs the same workloads against protomesh-store and etcd on this machine "
                      "(each with its own servers on loopback) and prints one table.");
  flags.Add("reps", &settings.reps, "repetitions of every measurement");
  flags.Add("duration", &settings.duration, "measured time of each put/get run");
  flags.Add("warmup", &settings.warmup, "unmeasured time before each put/get run");
  flags.Add("clients", &settings.clients, "concurrent clients of the put runs");
  flags.Add("watchers", &settings.watchers, "watcher counts of the watch runs");
  flags.Add("watch-puts", &settings.watch_puts, "puts per watch run");
  flags.Add("watch-interval", &settings.watch_interval, "pause between the puts of a watch run");
  flags.Add("sync-sizes", &settings.sync_sizes, "key counts of the initial sync runs");
  flags.Add("get-clients", &settings.get_clients, "concurrent clients of the get runs");
  flags.Add("value-bytes", &settings.value_bytes, "bytes of every value / spec");
  flags.Add("channels", &settings.channels, "gRPC channels (TCP connections) per system");
  flags.Add("etcd-page", &settings.etcd_page, "keys per Range page in etcd's initial sync");
  flags.Add("workloads", &settings.workloads,
            "which to run, of put,pgbench,get,sync,watch (get needs sync's data)");
  flags.Add("store-args", &settings.store_args, "extra protomesh-store flags, space-separated");
  flags.Add("etcd-bin", &settings.etcd_bin, "the etcd binary (3.4)");
  settings.common.store_bin = PROTOMESH_STORE_BIN;
  AddCommonFlags(flags, &settings.common);
  if (auto exit_code = ParseFlags(flags, argc, argv)) return *exit_code;
  const auto clients = ParseList(settings.clients);
  const auto watchers = ParseList(settings.watchers);
  const auto sizes = ParseList(settings.sync_sizes);
  std::set<std::string> workloads;
  for (auto w : absl::StrSplit(settings.workloads, ',', absl::SkipWhitespace())) workloads.emplace(w);
  if (settings.reps <= 0 || settings.channels <= 0 || settings.value_bytes < 20) {
    std::fprintf(stderr, "store_vs_etcd: reps and channels must be positive, value-bytes ≥ 20\n");
    return 2;
  }

  Servers servers;
  auto work_dir = MakeWorkDir(settings.common.work_dir_parent);
  if (!work_dir.ok()) {
    std::fprintf(stderr, "store_vs_etcd: %s\n", std::string(work_dir.status().message()).c_str());
    return 1;
  }
  servers.work_dir = *work_dir;
  std::fprintf(stderr, "work directory %s\n", servers.work_dir.c_str());

  int exit_code = 0;
  std::string report;
  {
    absl::Status status = StartPostgresAndStore(settings, servers);
    if (status.ok()) status = StartEtcd(settings, servers);
    if (!status.ok()) {
      std::fprintf(stderr, "store_vs_etcd: %s\n", std::string(status.message()).c_str());
      exit_code = 1;
    } else {
      std::fprintf(stderr, "PostgreSQL %s, protomesh-store at %s, %s at %s\n",
                   servers.postgres_version.c_str(), servers.store.grpc_address.c_str(),
                   servers.etcd_version.c_str(), servers.etcd_address.c_str());
      WaitForQuietMachine(settings.common.quiet_load, settings.common.quiet_wait);
      const std::string load_before = LoadAverage();
      const std::string started = Now();
      auto store = NewStoreSystem(servers.store.grpc_address, servers.store.process->pid(),
                                  settings.channels);
      auto etcd = NewEtcdSystem(servers.etcd_address, servers.etcd->pid(), settings.channels,
                                settings.etcd_page);
      Table table;
      Runner runner{settings, servers, *store, *etcd, table, {}};
      // First, while the servers are fresh.
      if (workloads.count("watch")) {
        runner.IdleMemory(*std::max_element(watchers.begin(), watchers.end()));
      }
      bool need_data = workloads.count("sync") || workloads.count("get");
      std::vector<int64_t> load_sizes = sizes;
      if (workloads.count("get") && std::find(sizes.begin(), sizes.end(), 10000) == sizes.end()) {
        load_sizes.push_back(10000);
      }
      absl::Status loaded = need_data ? runner.Load(load_sizes) : absl::OkStatus();
      if (!loaded.ok()) {
        runner.Problem(std::string(loaded.message()));
      } else {
        if (workloads.count("sync")) runner.Syncs(sizes);
        if (workloads.count("get")) runner.Gets(10000);
      }
      if (workloads.count("put")) runner.Puts(clients, workloads.count("pgbench") > 0);
      if (workloads.count("watch")) runner.Watches(watchers);

      report = absl::StrCat(
          "Run ", started, " to ", Now(), " on ", MachineDescription(), ".\n",
          "Load average (1, 5, 15 min) before: ", load_before, "; after: ", LoadAverage(), ".\n",
          "PostgreSQL ", servers.postgres_version, " (fsync on, synchronous_commit on), ",
          servers.etcd_version, " (WAL fsync on); ", settings.reps, " repetitions, ",
          absl::FormatDuration(settings.duration), " measured after ",
          absl::FormatDuration(settings.warmup), " warm-up per put/get run; ",
          settings.value_bytes, "-byte values; ", settings.channels,
          " gRPC connections per system.\n\n", RenderTable(table),
          "\nThe pgbench column: on put rows, one transaction per write inserting one row and "
          "notifying (insert+notify); on its own rows, the insert alone. Latency ratios below 1 "
          "and throughput ratios above 1 favour protomesh.\n\n",
          JudgeGoals(table, clients, watchers, sizes));
      if (!runner.problems.empty()) {
        absl::StrAppend(&report, "\nProblems:\n");
        for (const auto& p : runner.problems) absl::StrAppend(&report, "- ", p, "\n");
        exit_code = 1;
      }
      if (g_interrupted) {
        absl::StrAppend(&report, "\n(interrupted: partial results)\n");
        exit_code = 130;
      }
    }
  }
  PrintReport(report, settings.common.output);

  if (servers.store.process) servers.store.process->Stop();
  if (servers.etcd) servers.etcd->Stop();
  StopPostgres(servers.postgres);
  RemoveWorkDir(servers.work_dir, settings.common.keep_work_dir);
  return exit_code;
}

}  // namespace
}  // namespace protomesh::bench

int main(int argc, char** argv) { return protomesh::bench::Main(argc, argv); }
