#include "src/common/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "src/common/prometheus_text.h"
#include "src/common/string_view_compat.h"

namespace protomesh::metrics {
namespace {

// std::atomic<double>::fetch_add is C++20 but not lock-free everywhere;
// a CAS loop is.
void AtomicAdd(std::atomic<double>& target, double by) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + by,
                                       std::memory_order_relaxed)) {
  }
}

// Registration mistakes are programming errors in the binary, like a failed
// CHECK: report and abort rather than serve wrong metrics.
[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "metrics: %s\n", message.c_str());
  std::abort();
}

void RenderHeader(absl::string_view name, absl::string_view help,
                  absl::string_view type, std::string* out) {
  absl::StrAppend(out, "# HELP ", name, " ", internal::EscapeHelp(help),
                  "\n# TYPE ", name, " ", type, "\n");
}

template <typename T>
void RenderSimple(const Family<T>& family, absl::string_view type,
                  std::string* out) {
  RenderHeader(family.name(), family.help(), type, out);
  for (const auto& [values, child] : family.Children()) {
    absl::StrAppend(out, family.name(),
                    internal::FormatLabels(family.label_names(), values), " ",
                    internal::FormatNumber(child->Value()), "\n");
  }
}

void Render(const Family<Counter>& family, std::string* out) {
  RenderSimple(family, "counter", out);
}

void Render(const Family<Gauge>& family, std::string* out) {
  RenderSimple(family, "gauge", out);
}

void Render(const Family<Histogram>& family, std::string* out) {
  RenderHeader(family.name(), family.help(), "histogram", out);
  for (const auto& [values, child] : family.Children()) {
    const std::vector<uint64_t> cumulative = child->CumulativeCounts();
    const std::vector<double>& bounds = child->bounds();
    for (size_t i = 0; i < cumulative.size(); ++i) {
      const std::string le = i < bounds.size()
                                 ? internal::FormatNumber(bounds[i])
                                 : std::string("+Inf");
      absl::StrAppend(out, family.name(), "_bucket",
                      internal::FormatLabels(family.label_names(), values,
                                             {{"le", le}}),
                      " ", cumulative[i], "\n");
    }
    const std::string labels =
        internal::FormatLabels(family.label_names(), values);
    // _count comes from the same snapshot as the buckets so that it always
    // equals the +Inf bucket, as Prometheus requires.
    absl::StrAppend(out, family.name(), "_sum", labels, " ",
                    internal::FormatNumber(child->Sum()), "\n", family.name(),
                    "_count", labels, " ", cumulative.back(), "\n");
  }
}

}  // namespace

void Counter::Increment(double by) {
  if (!(by >= 0)) return;  // Counters only go up; also drops NaN.
  AtomicAdd(value_, by);
}

double Counter::Value() const { return value_.load(std::memory_order_relaxed); }

void Gauge::Set(double v) { value_.store(v, std::memory_order_relaxed); }

void Gauge::Add(double by) { AtomicAdd(value_, by); }

double Gauge::Value() const { return value_.load(std::memory_order_relaxed); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)) {
  // +Inf is implicit; bounds must be strictly increasing.
  std::erase_if(bounds_, [](double b) { return std::isnan(b) || std::isinf(b); });
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::Observe(double v) {
  // Bucket i counts bounds_[i-1] < v <= bounds_[i]; NaN lands in +Inf only.
  const size_t bucket =
      std::isnan(v) ? bounds_.size()
                    : std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                          bounds_.begin();
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t Histogram::Count() const {
  return count_.load(std::memory_order_relaxed);
}

double Histogram::Sum() const { return sum_.load(std::memory_order_relaxed); }

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> counts(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    counts[i] = running;
  }
  return counts;
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,    5,     10};
}

// Registry::FamilyBase is private; FamilyAccess is the header's friend that
// lets this file define it and the typed holders behind it.
struct Registry::FamilyBase {
  virtual ~FamilyBase() = default;
  virtual const std::string& name() const = 0;
  virtual void Render(std::string* out) const = 0;
};

struct FamilyAccess {
  template <typename T>
  struct Holder : Registry::FamilyBase {
    template <typename... Args>
    explicit Holder(Args&&... args) : family(std::forward<Args>(args)...) {}
    const std::string& name() const override { return family.name(); }
    void Render(std::string* out) const override {
      metrics::Render(family, out);
    }
    Family<T> family;
  };

  template <typename T>
  static Family<T>& Add(Registry& registry, std::string name, std::string help,
                        std::vector<std::string> label_names,
                        std::vector<double> bounds = {}) {
    if (!internal::IsValidMetricName(name)) {
      Die(absl::StrCat("invalid metric name \"", name, "\""));
    }
    for (const std::string& label : label_names) {
      if (!internal::IsValidLabelName(label) || label == "le") {
        Die(absl::StrCat("invalid label name \"", label, "\" for ", name));
      }
    }
    std::lock_guard lock(registry.mu_);
    for (const auto& family : registry.families_) {
      if (family->name() == name) {
        Die(absl::StrCat("metric \"", name, "\" registered twice"));
      }
    }
    auto holder = std::make_unique<Holder<T>>(std::move(name), std::move(help),
                                              std::move(label_names),
                                              std::move(bounds));
    Family<T>& family = holder->family;
    registry.families_.push_back(std::move(holder));
    return family;
  }
};

Family<Counter>& Registry::AddCounter(std::string name, std::string help,
                                      std::vector<std::string> label_names) {
  return FamilyAccess::Add<Counter>(*this, std::move(name), std::move(help),
                                    std::move(label_names));
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help,
                                  std::vector<std::string> label_names) {
  return FamilyAccess::Add<Gauge>(*this, std::move(name), std::move(help),
                                  std::move(label_names));
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help,
                                          std::vector<double> bounds,
                                          std::vector<std::string> label_names) {
  return FamilyAccess::Add<Histogram>(*this, std::move(name), std::move(help),
                                      std::move(label_names), std::move(bounds));
}

std::string Registry::Render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& family : families_) family->Render(&out);
  return out;
}

Registry::Registry() = default;
Registry::~Registry() = default;

template <typename T>
Family<T>::Family(std::string name, std::string help,
                  std::vector<std::string> label_names,
                  std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {
  // An unlabelled metric is exported from the start, as 0.
  if (label_names_.empty()) WithLabels({});
}

template <typename T>
T& Family<T>::WithLabels(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size()) {
    Die(absl::StrCat(name_, " takes ", label_names_.size(),
                     " label values, got ", label_values.size()));
  }
  std::lock_guard lock(mu_);
  std::unique_ptr<T>& child = children_[label_values];
  if (child == nullptr) {
    if constexpr (std::is_same_v<T, Histogram>) {
      child = std::make_unique<Histogram>(bounds_);
    } else {
      child = std::make_unique<T>();
    }
  }
  return *child;
}

template <typename T>
std::vector<std::pair<std::vector<std::string>, const T*>>
Family<T>::Children() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::vector<std::string>, const T*>> children;
  children.reserve(children_.size());
  for (const auto& [values, child] : children_) {
    children.emplace_back(values, child.get());
  }
  return children;
}

std::optional<double> FindSample(std::string_view exposition_text, std::string_view series_name) {
  const absl::string_view exposition = protomesh::internal::ToAbsl(exposition_text);
  const absl::string_view series = protomesh::internal::ToAbsl(series_name);
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (!absl::StartsWith(line, series) || line.size() <= series.size() ||
        line[series.size()] != ' ') {
      continue;
    }
    double value = 0;
    if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) return value;
  }
  return std::nullopt;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

}  // namespace protomesh::metrics
