package metrics_test

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/metrics"
	"github.com/lambda-destinations/lambda-destinations/agent/metrics/emftest"
)

var at = time.UnixMilli(1764195250412)

// many makes n metrics of one group, each with the values k, k+0.5, …
func many(n, values int, name func(i int) string) []metrics.Metric {
	ms := make([]metrics.Metric, n)
	for i := range ms {
		ms[i] = metrics.Metric{Name: name(i), Unit: metrics.Count}
		for k := range values {
			ms[i].Values = append(ms[i].Values, float64(k)+0.5)
		}
	}
	return ms
}

func batch(sets [][]string, ms []metrics.Metric) metrics.Batch {
	return metrics.Batch{
		Dimensions: []metrics.Dimension{{Key: "FunctionName", Value: "fn"}, {Key: "Destination", Value: "stdout"}},
		Groups:     []metrics.Group{{Dimensions: sets, Metrics: ms}},
	}
}

var both = [][]string{{"FunctionName", "Destination"}}

func TestEncodeLimits(t *testing.T) {
	short := func(i int) string { return fmt.Sprintf("M%d", i) }
	// Names of 250 characters and values with many digits: 100 values take
	// about 2 KB, and 600 such metrics more than a megabyte.
	long := func(i int) string { return fmt.Sprintf("%0250d", i) }
	digits := many(600, 100, long)
	for i := range digits {
		for k := range digits[i].Values {
			digits[i].Values[k] = 1234567.0123456789 + float64(k)
		}
	}
	tests := []struct {
		name       string
		batch      metrics.Batch
		docs       int // -1: more than one, as the bytes require
		directives int // in the first document
	}{
		{"a few metrics: one document, one directive", batch(both, many(7, 1, short)), 1, 1},
		{"100 metrics: one directive", batch(both, many(100, 1, short)), 1, 1},
		{"101 metrics: two directives in one document", batch(both, many(101, 1, short)), 1, 2},
		{"250 metrics: three directives", batch(both, many(250, 3, short)), 1, 3},
		{"100 values: one document", batch(both, many(2, 100, short)), 1, 1},
		{"101 values: the 101st in a second document", batch(both, many(2, 101, short)), 2, 1},
		{"250 values: three documents", batch(both, many(1, 250, short)), 3, 1},
		{"over 1 MB: split by size", batch(both, digits), -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := metrics.Encode("LambdaDestinations", at, tt.batch, metrics.Spec)
			if err != nil {
				t.Fatal(err)
			}
			if tt.docs >= 0 && len(docs) != tt.docs || tt.docs < 0 && len(docs) < 2 {
				t.Fatalf("%d documents, want %d", len(docs), tt.docs)
			}
			parsed := check(t, docs)
			if tt.directives > 0 && len(parsed[0].Directives) != tt.directives {
				t.Errorf("%d directives in the first document, want %d", len(parsed[0].Directives), tt.directives)
			}
			keepsEverything(t, tt.batch, parsed)
		})
	}
}

// check runs every document through the strict reading of the
// specification and returns them read.
func check(t *testing.T, docs [][]byte) []emftest.Document {
	t.Helper()
	var out []emftest.Document
	for i, b := range docs {
		d, err := emftest.Parse(b)
		if err != nil {
			t.Fatalf("document %d of %d (%d bytes): %v", i+1, len(docs), len(b), err)
		}
		if !d.Timestamp.Equal(at) {
			t.Errorf("document %d: Timestamp %v, want %v", i+1, d.Timestamp, at)
		}
		out = append(out, d)
	}
	return out
}

// keepsEverything wants every value of the batch in the documents, in
// order, with its unit and dimension sets, and every dimension value in
// each document.
func keepsEverything(t *testing.T, b metrics.Batch, docs []emftest.Document) {
	t.Helper()
	got := map[string][]float64{}
	for _, d := range docs {
		for _, dim := range b.Dimensions {
			if d.Dimensions[dim.Key] != dim.Value {
				t.Fatalf("dimension %s = %q, want %q", dim.Key, d.Dimensions[dim.Key], dim.Value)
			}
		}
		for name, vs := range d.Values {
			got[name] = append(got[name], vs...)
		}
	}
	for _, g := range b.Groups {
		for _, m := range g.Metrics {
			if !reflect.DeepEqual(got[m.Name], m.Values) {
				t.Fatalf("%s: values %v, want %v", m.Name, got[m.Name], m.Values)
			}
			for _, d := range docs {
				if _, ok := d.Values[m.Name]; !ok {
					continue
				}
				if d.Unit(m.Name) != string(m.Unit) || !reflect.DeepEqual(d.Sets(m.Name), g.Dimensions) {
					t.Fatalf("%s: unit %q under %v, want %q under %v", m.Name, d.Unit(m.Name), d.Sets(m.Name), m.Unit, g.Dimensions)
				}
			}
		}
	}
}

// TestEncodeSplitsOnlyWhereNeeded: with a small byte limit, each document
// is as full as it can be: the first metric of the next one would not fit.
func TestEncodeSplitsOnlyWhereNeeded(t *testing.T) {
	limits := metrics.Spec
	limits.MaxBytes = 700
	b := batch(both, many(40, 3, func(i int) string { return fmt.Sprintf("Metric%02d", i) }))
	docs, err := metrics.Encode("LambdaDestinations", at, b, limits)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 3 {
		t.Fatalf("%d documents: the limit should have split them", len(docs))
	}
	parsed := check(t, docs)
	keepsEverything(t, b, parsed)
	next := 0
	for i, d := range docs {
		if len(d) > limits.MaxBytes {
			t.Errorf("document %d: %d bytes, over %d", i+1, len(d), limits.MaxBytes)
		}
		next += len(parsed[i].Values)
		if i == len(docs)-1 {
			break
		}
		// The same metrics and the next one, without the limit.
		more := batch(both, b.Groups[0].Metrics[next-len(parsed[i].Values):next+1])
		whole, err := metrics.Encode("LambdaDestinations", at, more, metrics.Spec)
		if err != nil || len(whole) != 1 {
			t.Fatal(err)
		}
		if len(whole[0]) <= limits.MaxBytes {
			t.Errorf("document %d (%d bytes) could have taken the next metric (%d bytes together)", i+1, len(d), len(whole[0]))
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	keys := make([]string, 31)
	dims := make([]metrics.Dimension, 31)
	for i := range keys {
		keys[i] = fmt.Sprintf("D%d", i)
		dims[i] = metrics.Dimension{Key: keys[i], Value: "v"}
	}
	one := []metrics.Metric{{Name: "M", Unit: metrics.Count, Values: []float64{1}}}
	tests := []struct {
		name      string
		namespace string
		batch     metrics.Batch
		limits    metrics.Limits
		want      string
	}{
		{"31 dimension keys", "NS", metrics.Batch{Dimensions: dims, Groups: []metrics.Group{{Dimensions: [][]string{keys}, Metrics: one}}}, metrics.Spec, "31 keys, over the limit of 30"},
		{"a dimension without its value", "NS", batch([][]string{{"FunctionName", "Region"}}, one), metrics.Spec, `dimension "Region" has no value`},
		{"a metric named as a dimension", "NS", batch(both, []metrics.Metric{{Name: "Destination", Unit: metrics.Count, Values: []float64{1}}}), metrics.Spec, "named as a dimension"},
		{"a metric twice", "NS", batch(both, append(one, one...)), metrics.Spec, "named as a dimension or another metric"},
		{"NaN", "NS", batch(both, []metrics.Metric{{Name: "M", Unit: metrics.Count, Values: []float64{math.NaN()}}}), metrics.Spec, "JSON cannot hold"},
		{"no namespace", "", batch(both, one), metrics.Spec, "no namespace"},
		{"a metric larger than a document", "NS", batch(both, many(1, 100, func(int) string { return "M" })), metrics.Limits{MaxMetrics: 100, MaxValues: 100, MaxDimensions: 30, MaxBytes: 200}, "alone makes a document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := metrics.Encode(tt.namespace, at, tt.batch, tt.limits)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Encode = %d documents, %v; want an error saying %q", len(docs), err, tt.want)
			}
		})
	}
}

func TestEncodeLayout(t *testing.T) {
	b := metrics.Batch{
		Dimensions: []metrics.Dimension{{Key: "FunctionName", Value: "fn"}, {Key: "Destination", Value: "https://example.com/..."}},
		Groups: []metrics.Group{
			{Dimensions: both, Metrics: []metrics.Metric{
				{Name: "RecordsDelivered", Unit: metrics.Count, Values: []float64{2}},
				{Name: "DeliveryLatency", Unit: metrics.Milliseconds, Values: []float64{1.5, 20}},
			}},
			{Dimensions: [][]string{{"FunctionName"}}, Metrics: []metrics.Metric{{Name: "RecordsSampledOut", Unit: metrics.Count, Values: []float64{3}}}},
		},
	}
	docs, err := metrics.Encode("LambdaDestinations", at, b, metrics.Spec)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_aws":{"Timestamp":1764195250412,"CloudWatchMetrics":[` +
		`{"Namespace":"LambdaDestinations","Dimensions":[["FunctionName","Destination"]],"Metrics":[{"Name":"RecordsDelivered","Unit":"Count"},{"Name":"DeliveryLatency","Unit":"Milliseconds"}]},` +
		`{"Namespace":"LambdaDestinations","Dimensions":[["FunctionName"]],"Metrics":[{"Name":"RecordsSampledOut","Unit":"Count"}]}]},` +
		`"FunctionName":"fn","Destination":"https://example.com/...","RecordsDelivered":2,"DeliveryLatency":[1.5,20],"RecordsSampledOut":3}`
	if len(docs) != 1 || string(docs[0]) != want {
		t.Errorf("got  %s\nwant %s", docs, want)
	}
}

func TestEncodeNothing(t *testing.T) {
	docs, err := metrics.Encode("NS", at, batch(both, []metrics.Metric{{Name: "M", Unit: metrics.Count}}), metrics.Spec)
	if err != nil || len(docs) != 0 {
		t.Errorf("a metric without values: %d documents, %v", len(docs), err)
	}
}
