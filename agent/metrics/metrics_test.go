package metrics_test

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/metrics"
	"github.com/lambda-destinations/lambda-destinations/agent/metrics/emftest"
)

func TestRecorder(t *testing.T) {
	r := metrics.NewRecorder()
	ended := time.Now().Add(-time.Second)
	r.Attempted("stdout", 0)
	r.Delivered("stdout", ended)
	r.Attempted("hook", 0)
	r.Attempted("hook", 1)
	r.Attempted("hook", 2)
	r.Delivered("hook", ended)
	r.Delivered("hook", time.Time{}) // no latency for an unknown end
	r.Undelivered("dead", true)
	r.Undelivered("dead", false) // the log refused it too
	r.Oversize("queue", true)
	r.Oversize("queue", false) // in the overflow bucket
	r.SampledOut()
	r.SampledOut()
	got := r.Take()
	for i := range got.Destinations {
		for k, ms := range got.Destinations[i].Latency {
			if ms < 1000 || ms > 60000 {
				t.Errorf("%s latency %v ms, want the second since the end", got.Destinations[i].Name, ms)
			}
			got.Destinations[i].Latency[k] = 1000
		}
	}
	want := metrics.Tally{
		Destinations: []metrics.DestinationTally{
			{Name: "stdout", Delivered: 1, Latency: []float64{1000}},
			{Name: "hook", Delivered: 2, Retries: 2, Latency: []float64{1000}},
			{Name: "dead", Failures: 2, ToLog: 1},
			{Name: "queue", Oversize: 2, ToLog: 1},
		},
		SampledOut: 2,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Take = %+v\nwant %+v", got, want)
	}
	if again := r.Take(); !again.Empty() {
		t.Errorf("a second Take = %+v, want nothing", again)
	}
}

func TestNilRecorder(t *testing.T) {
	var r *metrics.Recorder
	r.Delivered("stdout", time.Now())
	r.Attempted("stdout", 1)
	r.Undelivered("stdout", true)
	r.Oversize("stdout", true)
	r.SampledOut()
	if got := r.Take(); !got.Empty() {
		t.Errorf("a nil recorder counted %+v", got)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	r := metrics.NewRecorder()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				r.Delivered("stdout", time.Now())
				r.Attempted("hook", 1)
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			r.SampledOut()
		}
	})
	wg.Wait()
	got := r.Take()
	byName := map[string]metrics.DestinationTally{}
	for _, d := range got.Destinations {
		byName[d.Name] = d
	}
	if byName["stdout"].Delivered != 800 || len(byName["stdout"].Latency) != 800 || byName["hook"].Retries != 800 || got.SampledOut != 50 {
		t.Errorf("counted %+v", got)
	}
}

func TestDocuments(t *testing.T) {
	f := metrics.Format{Namespace: "Team/Records", Function: "orders"}
	hook := metrics.DestinationTally{Name: "https://hooks.example.com/…", Delivered: 3, Retries: 2, Latency: []float64{12.5, 3, 40.25}}
	dead := metrics.DestinationTally{Name: "arn:aws:sqs:us-east-1:123456789012:q", Failures: 4, ToLog: 4}
	tests := []struct {
		name  string
		tally metrics.Tally
		// per document: its Destination ("" for none) and its metric values
		want []map[string][]float64
		dest []string
	}{
		{"nothing", metrics.Tally{}, nil, nil},
		{"one destination", metrics.Tally{Destinations: []metrics.DestinationTally{hook}},
			[]map[string][]float64{{"RecordsDelivered": {3}, "DeliveryFailures": {0}, "DeliveryRetries": {2}, "RecordsToLog": {0}, "RecordsOversize": {0}, "DeliveryLatency": {12.5, 3, 40.25}}},
			[]string{"https://hooks.example.com/..."}},
		{"two destinations and sampling: one document each, sampling in the first",
			metrics.Tally{Destinations: []metrics.DestinationTally{dead, hook}, SampledOut: 5},
			[]map[string][]float64{
				{"RecordsDelivered": {0}, "DeliveryFailures": {4}, "DeliveryRetries": {0}, "RecordsToLog": {4}, "RecordsOversize": {0}, "RecordsSampledOut": {5}},
				{"RecordsDelivered": {3}, "DeliveryFailures": {0}, "DeliveryRetries": {2}, "RecordsToLog": {0}, "RecordsOversize": {0}, "DeliveryLatency": {12.5, 3, 40.25}},
			},
			[]string{"arn:aws:sqs:us-east-1:123456789012:q", "https://hooks.example.com/..."}},
		{"sampling alone", metrics.Tally{SampledOut: 2}, []map[string][]float64{{"RecordsSampledOut": {2}}}, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := f.Documents(tt.tally, at)
			if err != nil {
				t.Fatal(err)
			}
			parsed := check(t, docs)
			if len(parsed) != len(tt.want) {
				t.Fatalf("%d documents, want %d", len(parsed), len(tt.want))
			}
			for i, d := range parsed {
				if !reflect.DeepEqual(d.Values, tt.want[i]) {
					t.Errorf("document %d: %v, want %v", i+1, d.Values, tt.want[i])
				}
				if d.Dimensions["FunctionName"] != "orders" || d.Dimensions["Destination"] != tt.dest[i] {
					t.Errorf("document %d: dimensions %v", i+1, d.Dimensions)
				}
				for _, dir := range d.Directives {
					if dir.Namespace != "Team/Records" {
						t.Errorf("namespace %q", dir.Namespace)
					}
				}
				units(t, d)
			}
		})
	}
}

// units checks the unit and the dimension sets of each metric.
func units(t *testing.T, d emftest.Document) {
	t.Helper()
	perDestination := [][]string{{"FunctionName", "Destination"}}
	want := map[string]struct {
		unit string
		sets [][]string
	}{
		"RecordsDelivered":  {"Count", perDestination},
		"DeliveryFailures":  {"Count", append(perDestination, []string{"FunctionName"})},
		"DeliveryRetries":   {"Count", perDestination},
		"RecordsToLog":      {"Count", perDestination},
		"RecordsOversize":   {"Count", perDestination},
		"DeliveryLatency":   {"Milliseconds", perDestination},
		"RecordsSampledOut": {"Count", [][]string{{"FunctionName"}}},
	}
	for name := range d.Values {
		w, ok := want[name]
		if !ok {
			t.Errorf("unknown metric %s", name)
			continue
		}
		if d.Unit(name) != w.unit || !reflect.DeepEqual(d.Sets(name), w.sets) {
			t.Errorf("%s: %s under %v, want %s under %v", name, d.Unit(name), d.Sets(name), w.unit, w.sets)
		}
	}
}

func TestDocumentsSplitLatencies(t *testing.T) {
	d := metrics.DestinationTally{Name: "stdout", Delivered: 250}
	for i := range 250 {
		d.Latency = append(d.Latency, float64(i))
	}
	docs, err := metrics.Format{Namespace: "NS", Function: "f"}.Documents(metrics.Tally{Destinations: []metrics.DestinationTally{d}}, at)
	if err != nil {
		t.Fatal(err)
	}
	parsed := check(t, docs)
	if len(parsed) != 3 {
		t.Fatalf("%d documents for 250 latencies, want 3", len(parsed))
	}
	var latencies []float64
	delivered := 0.0
	for _, p := range parsed {
		latencies = append(latencies, p.Values["DeliveryLatency"]...)
		for _, v := range p.Values["RecordsDelivered"] {
			delivered += v
		}
	}
	if !reflect.DeepEqual(latencies, d.Latency) || delivered != 250 {
		t.Errorf("latencies %v, delivered %v", latencies, delivered)
	}
}

func TestDimensionValue(t *testing.T) {
	for in, want := range map[string]string{
		"stdout":                         "stdout",
		"https://hooks.example.com/…":    "https://hooks.example.com/...",
		"https://bücher.example":         "https://b?cher.example",
		"tab\there":                      "tab?here",
		"":                               "unknown",
		"   ":                            "unknown",
		strings.Repeat("a", 2000):        strings.Repeat("a", 1024),
		"arn:aws:sqs:eu-west-1:1:q.fifo": "arn:aws:sqs:eu-west-1:1:q.fifo",
	} {
		if got := metrics.DimensionValue(in); got != want {
			t.Errorf("DimensionValue(%.40q) = %.40q, want %.40q", in, got, want)
		}
	}
}

func TestCheckNamespace(t *testing.T) {
	for ns, ok := range map[string]bool{
		"LambdaDestinations":        true,
		"Team/Orders:prod #1_a.b-c": true,
		"":                          false,
		" ":                         false,
		"AWS/Lambda":                false,
		"Über":                      false,
		"a,b":                       false,
		strings.Repeat("n", 255):    true,
		strings.Repeat("n", 256):    false,
	} {
		if err := metrics.CheckNamespace(ns); (err == nil) != ok {
			t.Errorf("CheckNamespace(%.20q) = %v, want ok %v", ns, err, ok)
		}
	}
}
