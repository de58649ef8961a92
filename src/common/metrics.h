#pragma once
// A small Prometheus registry: counters, gauges and histograms with label
// values fixed at creation of each child. Updates are lock-free atomics;
// Render() produces the Prometheus text exposition format (version 0.0.4).
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace protomesh::metrics {

class Counter {
 public:
  void Increment(double by = 1.0);
  double Value() const;

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v);
  void Add(double by);
  double Value() const;

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);
  uint64_t Count() const;
  double Sum() const;
  // Cumulative counts, one per bound plus +Inf.
  std::vector<uint64_t> CumulativeCounts() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Bucket bounds in seconds from 100us to ~10s, for request latencies.
std::vector<double> LatencyBuckets();

template <typename T>
class Family;

class Registry {
 public:
  // Names must be valid Prometheus metric names; label names fixed per family.
  Family<Counter>& AddCounter(std::string name, std::string help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(std::string name, std::string help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(std::string name, std::string help,
                                  std::vector<double> bounds,
                                  std::vector<std::string> label_names = {});
  std::string Render() const;
  // Both out of line: FamilyBase is incomplete here, and a constructor
  // potentially destroys its members too.
  Registry();
  ~Registry();

 private:
  struct FamilyBase;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
  friend struct FamilyAccess;
};

// A metric family: one child per distinct label-value tuple. WithLabels()
// takes a lock; callers on hot paths keep the returned reference, which
// stays valid for the registry's lifetime.
template <typename T>
class Family {
 public:
  T& WithLabels(const std::vector<std::string>& label_values);
  T& Get() { return WithLabels({}); }

  // Implementation details, used by Registry::Render().
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds = {});
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Children sorted by label values.
  std::vector<std::pair<std::vector<std::string>, const T*>> Children() const;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

// The value of sample `series` in a text exposition (what Registry::Render
// and /metrics produce): `series` is the name and labels as rendered, e.g.
// `x_total` or `x_total{a="b"}`. nullopt when absent.
std::optional<double> FindSample(std::string_view exposition, std::string_view series);

}  // namespace protomesh::metrics
