package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/destination/stdout"
	"github.com/lambda-destinations/lambda-destinations/agent/metrics/emftest"
)

// newMetricsAgent is newAWSAgent with metrics on, for a function named orders.
func newMetricsAgent(t *testing.T, dest destination.Destination, overflow destination.Storer, vars map[string]string) (*Agent, *syncBuffer) {
	t.Helper()
	environ := map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "orders", "DESTINATIONS_METRICS": "emf"}
	maps.Copy(environ, vars)
	return newAWSAgent(t, dest, overflow, environ)
}

// sums are the documents' metrics added up per destination ("" for the
// function's), and the documents per destination.
type sums struct {
	values map[string]map[string]float64
	counts map[string]map[string]int // values given, per destination and metric
	docs   map[string]int
}

// readDocuments checks every document in out strictly and adds them up.
func readDocuments(t *testing.T, out string) sums {
	t.Helper()
	docs, errs := emftest.Lines(out)
	for _, err := range errs {
		t.Error(err)
	}
	s := sums{values: map[string]map[string]float64{}, counts: map[string]map[string]int{}, docs: map[string]int{}}
	for _, d := range docs {
		if d.Dimensions["FunctionName"] != "orders" || d.Directives[0].Namespace != "LambdaDestinations" {
			t.Errorf("document of %v in %s", d.Dimensions, d.Directives[0].Namespace)
		}
		dest := d.Dimensions["Destination"]
		s.docs[dest]++
		if s.values[dest] == nil {
			s.values[dest], s.counts[dest] = map[string]float64{}, map[string]int{}
		}
		for name, vs := range d.Values {
			for _, v := range vs {
				s.values[dest][name] += v
			}
			s.counts[dest][name] += len(vs)
		}
	}
	return s
}

// refusingHook answers with statuses in turn, then 200, and counts the records
// it took.
type refusingHook struct {
	mu       sync.Mutex
	statuses []int
	received int
}

func (h *refusingHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	status := http.StatusOK
	if len(h.statuses) > 0 {
		status, h.statuses = h.statuses[0], h.statuses[1:]
	}
	if status == http.StatusOK {
		h.received++
	}
	h.mu.Unlock()
	w.WriteHeader(status)
}

// deadURL is a webhook address where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/dead/SECRET-PATH"
}

// TestMetricsEnd: in the end strategy, each invocation ends with at most
// one document per destination, and the documents add up to what each
// destination got.
func TestMetricsEnd(t *testing.T) {
	hook := &refusingHook{statuses: []int{503, 503}}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	dead := deadURL(t)
	a, out := newMetricsAgent(t, nil, nil, map[string]string{
		"DESTINATIONS_ON_SUCCESS":   "stdout," + srv.URL + "/hooks/SECRET-PATH?token=SECRET-QUERY," + dead,
		"DESTINATIONS_MAX_ATTEMPTS": "3",
	})
	const n = 4
	before := 0
	for i := range n {
		a.Completed(context.Background(), success(fmt.Sprintf("r%d", i), `{"n":1}`, `{}`, time.Millisecond))
		s := readDocuments(t, out.String())
		total := 0
		for dest, docs := range s.docs {
			if docs > i+1 {
				t.Errorf("after invocation %d: %d documents for %s", i+1, docs, dest)
			}
			total += docs
		}
		if total == before {
			t.Errorf("invocation %d wrote no document", i+1)
		}
		before = total
	}
	s := readDocuments(t, out.String())
	hookName, deadName := srv.URL+"/...", strings.TrimSuffix(dead, "/dead/SECRET-PATH")+"/..."
	want := map[string]map[string]float64{
		"stdout": {"RecordsDelivered": n, "DeliveryFailures": 0, "DeliveryRetries": 0, "RecordsToLog": 0, "RecordsOversize": 0},
		hookName: {"RecordsDelivered": float64(hook.received), "DeliveryFailures": 0, "DeliveryRetries": 2, "RecordsToLog": 0, "RecordsOversize": 0},
		deadName: {"RecordsDelivered": 0, "DeliveryFailures": n, "DeliveryRetries": 2 * n, "RecordsToLog": n, "RecordsOversize": 0},
	}
	if hook.received != n {
		t.Errorf("the webhook took %d records, want %d", hook.received, n)
	}
	for dest, metrics := range want {
		for name, v := range metrics {
			if got := s.values[dest][name]; got != v {
				t.Errorf("%s %s = %v, want %v", dest, name, got, v)
			}
		}
		if got := s.counts[dest]["DeliveryLatency"]; got != int(metrics["RecordsDelivered"]) {
			t.Errorf("%s: %d latencies for %v records delivered", dest, got, metrics["RecordsDelivered"])
		}
	}
	if undelivered := strings.Count(out.String(), `"msg":"undelivered record"`); undelivered != n {
		t.Errorf("%d undelivered record lines, want %d", undelivered, n)
	}
	if strings.Contains(out.String(), "SECRET") {
		t.Error("a webhook's path or query in the output")
	}
}

// TestMetricsOneDocumentPerFlush: in the background strategy, which Lambda
// Managed Instances run, the records of many invocations that one flush
// delivers make one document per destination.
func TestMetricsOneDocumentPerFlush(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-release
	}))
	defer srv.Close()
	a, out := newMetricsAgent(t, nil, nil, map[string]string{
		"DESTINATIONS_ON_SUCCESS":         "stdout," + srv.URL,
		"DESTINATIONS_FLUSH":              "background",
		"DESTINATIONS_ATTEMPT_TIMEOUT_MS": "600000",
	})
	const n = 20
	for i := range n {
		a.Completed(context.Background(), success(fmt.Sprintf("r%d", i), `{}`, `{}`, time.Millisecond))
	}
	// The first flush holds at the webhook; every other record waits for
	// the next one, which takes them all.
	<-arrived
	close(release)
	var s sums
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		s = readDocuments(t, out.String())
		if s.values[srv.URL]["RecordsDelivered"] == n && s.values["stdout"]["RecordsDelivered"] == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the documents count %v", s.values)
		}
	}
	a.Shutdown(context.Background())
	for dest, docs := range s.docs {
		if docs > 2 {
			t.Errorf("%s: %d documents for two flushes", dest, docs)
		}
	}
	if again := readDocuments(t, out.String()); again.docs[srv.URL] != s.docs[srv.URL] {
		t.Errorf("the shutdown wrote a document with nothing to say")
	}
}

// TestMetricsWaitForTheBudget: metrics never go out past the budget; they
// wait for the next flush, which counts them with its own.
func TestMetricsWaitForTheBudget(t *testing.T) {
	budget, cancel := context.WithCancel(context.Background())
	// The queue takes the first record as the budget ends.
	dest := &fakeAWS{max: 1 << 20, script: func(call, _ int, _ destination.Message) error {
		if call == 0 {
			cancel()
		}
		return nil
	}}
	a, out := newMetricsAgent(t, dest, nil, map[string]string{"DESTINATIONS_ON_SUCCESS": queue})
	a.Completed(budget, success("r1", `{}`, `{}`, time.Millisecond))
	if len(dest.calls()) != 1 || strings.Contains(out.String(), `"_aws"`) {
		t.Fatalf("%d calls, and a document written past the budget: %s", len(dest.calls()), out.String())
	}
	a.Completed(context.Background(), success("r2", `{}`, `{}`, time.Millisecond))
	s := readDocuments(t, out.String())
	if s.docs[queue] != 1 || s.values[queue]["RecordsDelivered"] != 2 {
		t.Errorf("documents %v: %v, want one counting both records", s.docs, s.values)
	}
}

// TestMetricsSampledOut: the function's RecordsSampledOut comes with the
// invocation's document, even one that made no record.
func TestMetricsSampledOut(t *testing.T) {
	a, out := newMetricsAgent(t, nil, nil, map[string]string{
		"DESTINATIONS_ON_SUCCESS":          "stdout",
		"DESTINATIONS_SUCCESS_SAMPLE_RATE": "0",
	})
	a.Completed(context.Background(), success("r1", `{}`, `{}`, time.Millisecond))
	a.Completed(context.Background(), success("r2", `{}`, `{}`, time.Millisecond))
	s := readDocuments(t, out.String())
	if s.docs[""] != 2 || s.values[""]["RecordsSampledOut"] != 2 || len(s.docs) != 1 {
		t.Errorf("documents %v: %v, want two of one record sampled out each", s.docs, s.values)
	}
}

func TestMetricsOversize(t *testing.T) {
	big := `"` + strings.Repeat("x", 10000) + `"`
	for _, tt := range []struct {
		name   string
		bucket destination.Storer
		toLog  float64
	}{
		{"whole record on the log", nil, 1},
		{"whole record in the bucket", &fakeAWS{}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, out := newMetricsAgent(t, &fakeAWS{max: 4000}, tt.bucket, map[string]string{"DESTINATIONS_ON_SUCCESS": queue})
			a.Completed(context.Background(), success("r1", `{}`, big, time.Millisecond))
			s := readDocuments(t, out.String())
			if got := s.values[queue]; got["RecordsOversize"] != 1 || got["RecordsToLog"] != tt.toLog || got["RecordsDelivered"] != 1 {
				t.Errorf("metrics %v", got)
			}
		})
	}
}

// TestMetricsAtShutdown: records written to the log at shutdown are
// counted in a last document, written whatever time is left.
func TestMetricsAtShutdown(t *testing.T) {
	dest := &fakeAWS{max: 1 << 20, script: func(int, int, destination.Message) error { return errors.New("throttled") }}
	a, out := newMetricsAgent(t, dest, nil, map[string]string{
		"DESTINATIONS_ON_SUCCESS": queue,
		"DESTINATIONS_FLUSH":      "background",
	})
	a.Add(success("r1", `{}`, `{}`, time.Millisecond))
	a.Add(success("r2", `{}`, `{}`, time.Millisecond))
	over, cancel := context.WithCancel(context.Background())
	cancel()
	a.Shutdown(over)
	s := readDocuments(t, out.String())
	if s.docs[queue] != 1 || s.values[queue]["DeliveryFailures"] != 2 || s.values[queue]["RecordsToLog"] != 2 {
		t.Errorf("documents %v: %v", s.docs, s.values)
	}
}

// TestMetricsCannotBeWritten: a document the log refuses is told, whole, in
// the extension's own log.
func TestMetricsCannotBeWritten(t *testing.T) {
	a, _ := newMetricsAgent(t, &fakeAWS{max: 1 << 20}, nil, nil)
	var log syncBuffer
	a.lines, a.log = stdout.NewWriter(failingWriter{}), slog.New(slog.NewJSONHandler(&log, nil))
	a.Completed(context.Background(), success("r1", `{}`, `{}`, time.Millisecond))
	if !strings.Contains(log.String(), `"msg":"cannot write metrics to the log: this document is lost"`) ||
		!strings.Contains(log.String(), `\"RecordsDelivered\":1`) {
		t.Errorf("log %s", log.String())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestMetricsOff(t *testing.T) {
	a, out := newTestAgent(t, map[string]string{"DESTINATIONS_ON_SUCCESS": "stdout"})
	complete(a, success("r1", `{}`, `{}`, time.Millisecond))
	if !strings.Contains(out.String(), "execution record") || strings.Contains(out.String(), `"_aws"`) {
		t.Errorf("output %s", out)
	}
}
