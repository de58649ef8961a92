#include "src/store/change_feed.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <functional>

#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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
// Handed-over changes held while an older revision is missing; beyond this
// they are dropped and read from the log instead.
constexpr size_t kMaxHandedOverRecords = 100000;

class NotificationReceiver : public pqxx::notification_receiver {
 public:
  NotificationReceiver(pqxx::connection_base& connection,
                       std::function<void(const std::string&)> on_notification)
      : pqxx::notification_receiver(connection, sql::kChangesChannel),
        on_notification_(std::move(on_notification)) {}
  void operator()(const std::string& payload, int) override { on_notification_(payload); }

 private:
  std::function<void(const std::string&)> on_notification_;
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
  std::unique_ptr<NotificationReceiver> receiver;  // destroyed before the connection
  ~Connection() { receiver.reset(); }
};

ChangeFeed::ChangeFeed(std::string url, std::string own_writer_id, WatchHub* hub,
                       StoreMetrics* metrics, absl::Duration poll_interval)
    : url_(std::move(url)),
      own_writer_id_(std::move(own_writer_id)),
      hub_(hub),
      metrics_(metrics),
      poll_interval_(poll_interval),
      handed_over_changes_(metrics->feed_changes.WithLabels({"handover"})),
      log_changes_(metrics->feed_changes.WithLabels({"log"})),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

ChangeFeed::~ChangeFeed() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

absl::Status ChangeFeed::Connect() {
  auto opened = OpenConnection(url_);
  if (!opened.ok()) return opened.status();
  auto connection = std::make_unique<Connection>();
  connection->connection = *std::move(opened);
  try {
    connection->receiver = std::make_unique<NotificationReceiver>(
        *connection->connection, [this](const std::string& payload) { OnNotification(payload); });
  } catch (...) {
    return StatusFromCurrentException("listening for changes");
  }
  connection_ = std::move(connection);
  return absl::OkStatus();
}

absl::Status ChangeFeed::Start() {
  if (wake_fd_ < 0) return absl::InternalError("cannot create an eventfd for the change feed");
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
  Wake();
  if (thread_.joinable()) thread_.join();
  connection_.reset();
}

void ChangeFeed::Committed(CommittedChanges changes) {
  {
    std::lock_guard lock(mu_);
    incoming_.push_back(std::move(changes));
  }
  Wake();
}

void ChangeFeed::CommitOutcomeUnknown() {
  {
    std::lock_guard lock(mu_);
    outcome_unknown_ = true;
  }
  Wake();
}

void ChangeFeed::Wake() {
  uint64_t one = 1;
  // Fails only when the counter is about to overflow: it is awake anyway.
  (void)!write(wake_fd_, &one, sizeof(one));
}

void ChangeFeed::Wait(Clock::time_point until) {
  if (connection_) {
    // Notifications that came in with a query's results are in libpq's
    // buffer already, where poll() cannot see them.
    try {
      if (connection_->connection->get_notifs() > 0) return;
    } catch (...) {
      return;  // the next round finds the connection broken
    }
  }
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {-1, POLLIN, 0}};
  if (connection_) fds[1].fd = connection_->connection->sock();
  auto timeout = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
  poll(fds, 2, static_cast<int>(std::max<int64_t>(0, timeout.count())));
  uint64_t count;
  (void)!read(wake_fd_, &count, sizeof(count));
}

// "<last revision> <first revision> <writer>"; older stores send only the
// last revision.
void ChangeFeed::OnNotification(const std::string& payload) {
  std::vector<absl::string_view> parts = absl::StrSplit(payload, ' ');
  int64_t last = 0;
  if (parts.empty() || !absl::SimpleAtoi(parts[0], &last)) {
    read_log_ = true;
    return;
  }
  if (parts.size() >= 3 && parts[2] == own_writer_id_) return;  // handed over
  wanted_revision_ = std::max(wanted_revision_, last);
}

void ChangeFeed::Publish(std::vector<ChangeRecord> records, int64_t upto,
                         metrics::Counter& source) {
  source.Increment(static_cast<double>(records.size()));
  std::vector<NamespaceChangePtr> changes;
  std::map<std::string, std::shared_ptr<NamespaceChange>> current;  // by namespace
  int64_t current_revision = -1;
  for (auto& record : records) {
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
  hub_->Publish(upto, changes);
  last_revision_ = upto;
  metrics_->feed_revision.Set(static_cast<double>(last_revision_));
}

void ChangeFeed::PublishHandedOver() {
  while (!handed_over_.empty()) {
    auto it = handed_over_.begin();
    CommittedChanges changes = std::move(it->second);
    handed_over_.erase(it);
    handed_over_records_ -= changes.records.size();
    if (changes.last_revision <= last_revision_) continue;  // read from the log meanwhile
    if (changes.first_revision > last_revision_ + 1) {
      // An older revision is missing: wait for it.
      handed_over_records_ += changes.records.size();
      handed_over_.emplace(changes.first_revision, std::move(changes));
      return;
    }
    // A read of the log may have ended inside the transaction.
    std::erase_if(changes.records,
                  [&](const ChangeRecord& record) { return record.revision <= last_revision_; });
    Publish(std::move(changes.records), changes.last_revision, handed_over_changes_);
  }
}

absl::Status ChangeFeed::Advance() {
  while (true) {
    PublishHandedOver();
    if (!read_log_ && wanted_revision_ <= last_revision_) return absl::OkStatus();
    if (!connection_) return absl::OkStatus();  // read once reconnected
    // Up to the first handed-over revision, which needs no reading.
    int64_t upto = last_revision_ + kRevisionsPerRead;
    if (!handed_over_.empty()) upto = std::min(upto, handed_over_.begin()->first - 1);
    if (!read_log_) upto = std::min(upto, wanted_revision_);
    auto read = ReadChanges(*connection_->connection, std::nullopt, last_revision_, upto);
    if (!read.ok()) {
      if (read.status().code() != absl::StatusCode::kOutOfRange) return read.status();
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
      wanted_revision_ = std::min(wanted_revision_, *head);
      read_log_ = true;
      continue;
    }
    const int64_t before = last_revision_;
    read_log_ = false;
    wanted_revision_ = std::max(wanted_revision_, read->head_revision);
    Publish(std::move(read->changes), std::min(upto, read->head_revision), log_changes_);
    if (last_revision_ == before) {
      // The log ends here: whatever was wanted beyond it is not there.
      wanted_revision_ = last_revision_;
      return absl::OkStatus();
    }
  }
}

void ChangeFeed::Run() {
  auto backoff = std::chrono::milliseconds(100);
  auto next_connect = Clock::now();
  auto next_poll = Clock::now() + absl::ToChronoMilliseconds(poll_interval_);
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      for (auto& changes : incoming_) {
        handed_over_records_ += changes.records.size();
        int64_t first = changes.first_revision;
        handed_over_.emplace(first, std::move(changes));
      }
      incoming_.clear();
      if (outcome_unknown_) read_log_ = true;
      outcome_unknown_ = false;
    }
    if (handed_over_records_ > kMaxHandedOverRecords) {
      spdlog::warn("change feed holds {} handed-over changes behind a missing revision; reading "
                   "them from the change log instead",
                   handed_over_records_);
      handed_over_.clear();
      handed_over_records_ = 0;
      read_log_ = true;
    }

    absl::Status status;
    if (!connection_ && Clock::now() >= next_connect) {
      status = Connect();
      if (status.ok()) {
        metrics_->feed_reconnects.Increment();
        spdlog::info("change feed reconnected; catching up from revision {}", last_revision_);
        read_log_ = true;
      }
    }
    if (status.ok() && connection_) {
      try {
        connection_->connection->get_notifs();  // calls OnNotification; never waits
        if (!connection_->connection->is_open()) {
          throw pqxx::broken_connection("the connection closed");
        }
      } catch (...) {
        status = StatusFromCurrentException("waiting for change notifications");
      }
      if (status.ok() && Clock::now() >= next_poll) {
        read_log_ = true;
        next_poll = Clock::now() + absl::ToChronoMilliseconds(poll_interval_);
      }
    }
    if (status.ok()) status = Advance();
    if (status.ok() && connection_) {
      healthy_ = true;
      backoff = std::chrono::milliseconds(100);
    } else if (!status.ok()) {
      if (healthy_.exchange(false)) {
        spdlog::warn("change feed lost the database: {}; retrying", status.message());
      }
      connection_.reset();
      next_connect = Clock::now() + backoff;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
    Wait(connection_ ? next_poll : next_connect);
  }
}

}  // namespace protomesh::store
