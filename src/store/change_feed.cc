#include "src/store/change_feed.h"

#include <chrono>
#include <map>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "src/common/absl_fmt.h"
#include "src/store/db_executor.h"
#include "src/store/pg_errors.h"
#include "src/store/sql.h"
#include "src/store/store_reader.h"

namespace protomesh::store {
namespace {

// Revisions read per query while catching up.
constexpr int64_t kRevisionsPerRead = 1000;

class WakeOnNotify : public pqxx::notification_receiver {
 public:
  WakeOnNotify(pqxx::connection_base& connection)
      : pqxx::notification_receiver(connection, sql::kChangesChannel) {}
  void operator()(const std::string&, int) override {}
};

size_t ApproximateBytes(const ChangeRecord& record) {
  return sizeof(ChangeRecord) + record.resource.ByteSizeLong();
}

double SecondsSince(const google::protobuf::Timestamp& timestamp) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  double now_seconds = std::chrono::duration<double>(now).count();
  return now_seconds - (static_cast<double>(timestamp.seconds()) + timestamp.nanos() / 1e9);
}

}  // namespace

struct ChangeFeed::Connection {
  std::unique_ptr<pqxx::connection> connection;
  std::unique_ptr<WakeOnNotify> receiver;  // destroyed before the connection
  ~Connection() { receiver.reset(); }
};

ChangeFeed::ChangeFeed(std::string url, WatchHub* hub, StoreMetrics* metrics,
                       absl::Duration poll_interval)
    : url_(std::move(url)), hub_(hub), metrics_(metrics), poll_interval_(poll_interval) {}

ChangeFeed::~ChangeFeed() { Stop(); }

absl::Status ChangeFeed::Connect() {
  auto opened = OpenConnection(url_);
  if (!opened.ok()) return opened.status();
  auto connection = std::make_unique<Connection>();
  connection->connection = *std::move(opened);
  try {
    connection->receiver = std::make_unique<WakeOnNotify>(*connection->connection);
  } catch (...) {
    return StatusFromCurrentException("listening for changes");
  }
  connection_ = std::move(connection);
  return absl::OkStatus();
}

absl::Status ChangeFeed::Start() {
  if (auto s = Connect(); !s.ok()) return s;
  auto head = ReadHeadRevision(*connection_->connection);
  if (!head.ok()) return head.status();
  last_revision_ = *head;
  hub_->Publish(last_revision_, {});
  metrics_->feed_revision.Set(static_cast<double>(last_revision_));
  healthy_ = true;
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void ChangeFeed::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  connection_.reset();
}

absl::Status ChangeFeed::CatchUp() {
  while (true) {
    auto read = ReadChanges(*connection_->connection, std::nullopt, last_revision_,
                            last_revision_ + kRevisionsPerRead);
    if (!read.ok()) {
      if (read.status().code() == absl::StatusCode::kOutOfRange) {
        // The log no longer holds what we need (the database was replaced or
        // compacted past us). Nothing can be replayed: watchers must re-list.
        spdlog::error("change feed cannot continue from revision {}: {}; closing all watches",
                      last_revision_, read.status().message());
        hub_->CloseAll(absl::UnavailableError(absl::StrCat(
            "the store lost track of the change log (", read.status().message(),
            "); list again and watch from the latest revision")));
        auto head = ReadHeadRevision(*connection_->connection);
        if (!head.ok()) return head.status();
        last_revision_ = *head;
        continue;
      }
      return read.status();
    }
    std::vector<NamespaceChangePtr> changes;
    std::map<std::string, std::shared_ptr<NamespaceChange>> current;  // by namespace
    int64_t current_revision = -1;
    for (auto& record : read->changes) {
      if (record.revision != current_revision) {
        current.clear();
        current_revision = record.revision;
        metrics_->notification_lag_seconds.Observe(SecondsSince(record.resource.version().timestamp()));
      }
      auto& change = current[record.resource.namespace_()];
      if (!change) {
        change = std::make_shared<NamespaceChange>();
        change->revision = record.revision;
        change->namespace_ = record.resource.namespace_();
        changes.push_back(change);
      }
      change->bytes += ApproximateBytes(record);
      change->records.push_back(std::move(record));
    }
    int64_t upto = std::min(last_revision_ + kRevisionsPerRead, read->head_revision);
    hub_->Publish(upto, changes);
    last_revision_ = upto;
    metrics_->feed_revision.Set(static_cast<double>(last_revision_));
    if (last_revision_ >= read->head_revision) return absl::OkStatus();
  }
}

void ChangeFeed::Run() {
  auto backoff = std::chrono::milliseconds(100);
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    absl::Status status;
    if (!connection_) {
      status = Connect();
      if (status.ok()) {
        metrics_->feed_reconnects.Increment();
        spdlog::info("change feed reconnected; catching up from revision {}", last_revision_);
      }
    }
    if (status.ok()) status = CatchUp();
    if (status.ok()) {
      healthy_ = true;
      backoff = std::chrono::milliseconds(100);
      try {
        auto micros = absl::ToInt64Microseconds(poll_interval_);
        connection_->connection->await_notification(micros / 1000000, micros % 1000000);
        continue;
      } catch (...) {
        status = StatusFromCurrentException("waiting for change notifications");
      }
    }
    if (healthy_.exchange(false)) {
      spdlog::warn("change feed lost the database: {}; retrying", status.message());
    }
    connection_.reset();
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, backoff, [&] { return stopping_; });
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

}  // namespace protomesh::store
