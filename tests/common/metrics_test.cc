#include "src/common/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace protomesh::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(MetricsTest, CounterWithLabelsRendersSortedChildren) {
  Registry registry;
  Family<Counter>& requests = registry.AddCounter(
      "protomesh_requests_total", "Requests handled.", {"method", "code"});
  requests.WithLabels({"Put", "OK"}).Increment();
  requests.WithLabels({"Get", "OK"}).Increment(2);
  requests.WithLabels({"Get", "NOT_FOUND"}).Increment(0.5);
  requests.WithLabels({"Get", "OK"}).Increment();

  EXPECT_EQ(registry.Render(),
            "# HELP protomesh_requests_total Requests handled.\n"
            "# TYPE protomesh_requests_total counter\n"
            "protomesh_requests_total{method=\"Get\",code=\"NOT_FOUND\"} 0.5\n"
            "protomesh_requests_total{method=\"Get\",code=\"OK\"} 3\n"
            "protomesh_requests_total{method=\"Put\",code=\"OK\"} 1\n");
}

TEST(MetricsTest, GaugeWithoutLabels) {
  Registry registry;
  Gauge& connections =
      registry.AddGauge("protomesh_connections", "Open connections.").Get();
  connections.Set(3.5);
  connections.Add(-1);
  EXPECT_EQ(connections.Value(), 2.5);
  EXPECT_EQ(registry.Render(),
            "# HELP protomesh_connections Open connections.\n"
            "# TYPE protomesh_connections gauge\n"
            "protomesh_connections 2.5\n");
}

TEST(MetricsTest, HistogramRendersCumulativeBucketsSumAndCount) {
  Registry registry;
  Histogram& latency =
      registry
          .AddHistogram("protomesh_latency_seconds", "Request latency.",
                        {0.1, 1, 10})
          .Get();
  for (double v : {0.25, 0.5, 1.0, 5.0, 50.0, 0.0625}) latency.Observe(v);

  EXPECT_EQ(registry.Render(),
            "# HELP protomesh_latency_seconds Request latency.\n"
            "# TYPE protomesh_latency_seconds histogram\n"
            "protomesh_latency_seconds_bucket{le=\"0.1\"} 1\n"
            "protomesh_latency_seconds_bucket{le=\"1\"} 4\n"
            "protomesh_latency_seconds_bucket{le=\"10\"} 5\n"
            "protomesh_latency_seconds_bucket{le=\"+Inf\"} 6\n"
            "protomesh_latency_seconds_sum 56.8125\n"
            "protomesh_latency_seconds_count 6\n");
  EXPECT_EQ(latency.Count(), 6u);
  EXPECT_EQ(latency.Sum(), 56.8125);
  EXPECT_THAT(latency.CumulativeCounts(), ElementsAre(1, 4, 5, 6));
}

TEST(MetricsTest, HistogramWithLabelsPutsLeLast) {
  Registry registry;
  Family<Histogram>& family = registry.AddHistogram(
      "rpc_seconds", "RPC time.", {0.5}, {"method"});
  family.WithLabels({"Get"}).Observe(0.25);
  EXPECT_EQ(registry.Render(),
            "# HELP rpc_seconds RPC time.\n"
            "# TYPE rpc_seconds histogram\n"
            "rpc_seconds_bucket{method=\"Get\",le=\"0.5\"} 1\n"
            "rpc_seconds_bucket{method=\"Get\",le=\"+Inf\"} 1\n"
            "rpc_seconds_sum{method=\"Get\"} 0.25\n"
            "rpc_seconds_count{method=\"Get\"} 1\n");
}

TEST(MetricsTest, UnlabelledFamiliesRenderZeroBeforeAnyUpdate) {
  Registry registry;
  registry.AddCounter("a_total", "A.");
  registry.AddGauge("b", "B.");
  registry.AddHistogram("c_seconds", "C.", {1});
  registry.AddCounter("d_total", "D, labelled.", {"kind"});
  EXPECT_EQ(registry.Render(),
            "# HELP a_total A.\n"
            "# TYPE a_total counter\n"
            "a_total 0\n"
            "# HELP b B.\n"
            "# TYPE b gauge\n"
            "b 0\n"
            "# HELP c_seconds C.\n"
            "# TYPE c_seconds histogram\n"
            "c_seconds_bucket{le=\"1\"} 0\n"
            "c_seconds_bucket{le=\"+Inf\"} 0\n"
            "c_seconds_sum 0\n"
            "c_seconds_count 0\n"
            "# HELP d_total D, labelled.\n"
            "# TYPE d_total counter\n");
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  Registry registry;
  registry.AddCounter("escapes_total", "Back\\slash and\nnewline \"kept\".",
                      {"path"})
      .WithLabels({"a\\b\"c\nd"})
      .Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP escapes_total Back\\\\slash and\\nnewline \"kept\".\n"
            "# TYPE escapes_total counter\n"
            "escapes_total{path=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsTest, LargeAndSpecialValues) {
  Registry registry;
  Family<Gauge>& family = registry.AddGauge("g", "G.", {"k"});
  family.WithLabels({"big"}).Set(1e21);
  family.WithLabels({"inf"}).Set(std::numeric_limits<double>::infinity());
  family.WithLabels({"million"}).Set(1e6);
  family.WithLabels({"nan"}).Set(std::nan(""));
  family.WithLabels({"negative"}).Set(-2.5);
  family.WithLabels({"small"}).Set(0.0001);
  family.WithLabels({"tiny"}).Set(1.5e-7);
  EXPECT_EQ(registry.Render(),
            "# HELP g G.\n"
            "# TYPE g gauge\n"
            "g{k=\"big\"} 1e+21\n"
            "g{k=\"inf\"} +Inf\n"
            "g{k=\"million\"} 1000000\n"
            "g{k=\"nan\"} NaN\n"
            "g{k=\"negative\"} -2.5\n"
            "g{k=\"small\"} 0.0001\n"
            "g{k=\"tiny\"} 1.5e-07\n");
}

TEST(MetricsTest, WithLabelsReturnsTheSameChild) {
  Registry registry;
  Family<Counter>& family = registry.AddCounter("x_total", "X.", {"a"});
  Counter& first = family.WithLabels({"1"});
  EXPECT_EQ(&first, &family.WithLabels({"1"}));
  EXPECT_NE(&first, &family.WithLabels({"2"}));
  EXPECT_EQ(family.Children().size(), 2u);
}

TEST(MetricsTest, CounterIgnoresNegativeIncrements) {
  Counter counter;
  counter.Increment(2);
  counter.Increment(-1);
  EXPECT_EQ(counter.Value(), 2);
}

TEST(MetricsTest, HistogramBoundIsInclusive) {
  Histogram histogram({1, 2});
  histogram.Observe(1);
  histogram.Observe(2);
  histogram.Observe(2.0001);
  EXPECT_THAT(histogram.CumulativeCounts(), ElementsAre(1, 2, 3));
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  Counter counter;
  Gauge gauge;
  Histogram histogram({1});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        counter.Increment();
        gauge.Add(0.5);
        histogram.Observe(0.5);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter.Value(), kThreads * kPerThread);
  EXPECT_EQ(gauge.Value(), kThreads * kPerThread * 0.5);
  EXPECT_EQ(histogram.Count(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(histogram.Sum(), kThreads * kPerThread * 0.5);
}

TEST(MetricsTest, LatencyBucketsSpan100usTo10s) {
  const std::vector<double> buckets = LatencyBuckets();
  ASSERT_FALSE(buckets.empty());
  EXPECT_EQ(buckets.front(), 0.0001);
  EXPECT_EQ(buckets.back(), 10);
  EXPECT_TRUE(std::is_sorted(buckets.begin(), buckets.end()));

  Registry registry;
  registry.AddHistogram("h_seconds", "H.", buckets);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("h_seconds_bucket{le=\"0.0001\"} 0\n"
                              "h_seconds_bucket{le=\"0.00025\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("h_seconds_bucket{le=\"10\"} 0\n"
                              "h_seconds_bucket{le=\"+Inf\"} 0\n"));
}

TEST(MetricsTest, FindSampleReadsOneSeriesOfAnExposition) {
  Registry registry;
  Family<Gauge>& open = registry.AddGauge("open", "Open.", {"kind"});
  open.WithLabels({"a"}).Set(3);
  open.WithLabels({"ab"}).Set(4);
  registry.AddCounter("calls_total", "Calls.").WithLabels({}).Increment();
  const std::string text = registry.Render();
  EXPECT_EQ(FindSample(text, "open{kind=\"a\"}"), 3);
  EXPECT_EQ(FindSample(text, "open{kind=\"ab\"}"), 4);
  EXPECT_EQ(FindSample(text, "calls_total"), 1);
  EXPECT_EQ(FindSample(text, "calls"), std::nullopt);  // a prefix of a name is not a series
  EXPECT_EQ(FindSample(text, "open"), std::nullopt);
  EXPECT_EQ(FindSample("", "open"), std::nullopt);
}

TEST(MetricsDeathTest, WrongNumberOfLabelValues) {
  Registry registry;
  Family<Counter>& family = registry.AddCounter("y_total", "Y.", {"a", "b"});
  EXPECT_DEATH(family.WithLabels({"only-one"}), "takes 2 label values, got 1");
}

TEST(MetricsDeathTest, InvalidOrDuplicateNames) {
  Registry registry;
  registry.AddCounter("dup_total", "D.");
  EXPECT_DEATH(registry.AddCounter("dup_total", "D."), "registered twice");
  EXPECT_DEATH(registry.AddGauge("1bad", "B."), "invalid metric name");
  EXPECT_DEATH(registry.AddGauge("ok", "B.", {"bad-label"}),
               "invalid label name");
}

}  // namespace
}  // namespace protomesh::metrics
