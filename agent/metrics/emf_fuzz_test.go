package metrics_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/agent/metrics"
	"github.com/lambda-destinations/lambda-destinations/agent/metrics/emftest"
)

// FuzzEncode: whatever the metrics, values, names and limits, the
// documents keep to the limits, pass the strict reading of the
// specification, and hold every value in order; the only refusal is a
// metric too large for a document by itself.
func FuzzEncode(f *testing.F) {
	f.Add(uint8(7), uint16(3), uint8(100), uint8(100), uint32(1<<20), "stdout", "Records", int64(1))
	f.Add(uint8(39), uint16(1), uint8(9), uint8(100), uint32(1<<20), "https://h/…", "M", int64(2))
	f.Add(uint8(3), uint16(250), uint8(100), uint8(100), uint32(1<<20), "arn:aws:sqs:eu-west-1:123456789012:q", "Latency", int64(3))
	f.Add(uint8(40), uint16(7), uint8(3), uint8(5), uint32(900), "\x00é", "\"\\", int64(4))
	f.Fuzz(func(t *testing.T, nMetrics uint8, nValues uint16, maxMetrics, maxValues uint8, maxBytes uint32, dest, name string, seed int64) {
		limits := metrics.Limits{
			MaxMetrics:    1 + int(maxMetrics)%100,
			MaxValues:     1 + int(maxValues)%100,
			MaxDimensions: 30,
			MaxBytes:      400 + int(maxBytes)%(1<<20-400),
		}
		r := rand.New(rand.NewPCG(uint64(seed), 0))
		prefix := metrics.DimensionValue(name)[:min(len(metrics.DimensionValue(name)), 200)]
		var ms []metrics.Metric
		for i := range int(nMetrics) % 40 {
			m := metrics.Metric{Name: fmt.Sprintf("%s%d", prefix, i), Unit: metrics.Count}
			for range int(nValues) % 150 {
				v := r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
				m.Values = append(m.Values, v)
			}
			ms = append(ms, m)
		}
		b := metrics.Batch{
			Dimensions: []metrics.Dimension{{Key: "FunctionName", Value: "f"}, {Key: "Destination", Value: metrics.DimensionValue(dest)}},
			Groups: []metrics.Group{
				{Dimensions: [][]string{{"FunctionName", "Destination"}}, Metrics: ms[:len(ms)/2]},
				{Dimensions: [][]string{{"FunctionName", "Destination"}, {"FunctionName"}}, Metrics: ms[len(ms)/2:]},
			},
		}
		docs, err := metrics.Encode("LambdaDestinations", at, b, limits)
		if err != nil {
			if !strings.Contains(err.Error(), "alone makes a document") {
				t.Fatal(err)
			}
			return
		}
		got := map[string][]float64{}
		for i, doc := range docs {
			if len(doc) > limits.MaxBytes {
				t.Fatalf("document %d: %d bytes, over %d", i, len(doc), limits.MaxBytes)
			}
			d, err := emftest.Parse(doc)
			if err != nil {
				t.Fatalf("document %d: %v: %.300s", i, err, doc)
			}
			for _, dir := range d.Directives {
				if len(dir.Metrics) > limits.MaxMetrics {
					t.Fatalf("document %d: a directive of %d metrics, over %d", i, len(dir.Metrics), limits.MaxMetrics)
				}
			}
			for name, vs := range d.Values {
				if len(vs) > limits.MaxValues {
					t.Fatalf("document %d: %s has %d values, over %d", i, name, len(vs), limits.MaxValues)
				}
				got[name] = append(got[name], vs...)
			}
		}
		for _, m := range ms {
			if !reflect.DeepEqual(got[m.Name], m.Values) {
				t.Fatalf("%s: values %v, want %v", m.Name, got[m.Name], m.Values)
			}
		}
	})
}
