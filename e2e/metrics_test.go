package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/metrics/emftest"
	"github.com/lambda-destinations/lambda-destinations/agent/route"
)

// TestMetrics: with DESTINATIONS_METRICS=emf, a webhook that refuses its
// first attempts, a stdout destination and a webhook that is down, every
// EMF document on the log passes a strict reading of the specification
// and the documents add up to what each destination got.
func TestMetrics(t *testing.T) {
	for _, strategy := range []string{"end", "background"} {
		t.Run(strategy, func(t *testing.T) {
			hook := newReceiver(t)
			hook.SetSequence(503, 503)
			dead := newReceiver(t)
			if err := dead.Down(); err != nil {
				t.Fatal(err)
			}
			const maxAttempts = 3
			e := start(t, setup{layer: true, timeout: 3 * time.Second, env: map[string]string{
				"DESTINATIONS_ON_SUCCESS":          "stdout," + hook.URL() + "/hooks/T000/p4th-n0t-for-logs?token=qu3ry-n0t-for-logs," + dead.URL() + "/dead/p4th-n0t-for-logs",
				"DESTINATIONS_FLUSH":               strategy,
				"DESTINATIONS_MAX_ATTEMPTS":        fmt.Sprint(maxAttempts),
				"DESTINATIONS_SUCCESS_SAMPLE_RATE": "0.5",
				"DESTINATIONS_METRICS":             "emf",
			}})
			const n = 10
			kept := 0
			for i := range n {
				id := fmt.Sprintf("req-metrics-%d", i)
				if resp := invoke(t, e, id, event(t, "success.json")); resp.Status != 200 {
					t.Fatalf("%s: caller got %d %s", id, resp.Status, resp.Body)
				}
				if route.Sampled(id, 0.5) {
					kept++
				}
			}
			// In the background strategy the count of an invocation sampled
			// out goes with the next flush: the last one must make a record.
			if kept == 0 || kept == n || !route.Sampled(fmt.Sprintf("req-metrics-%d", n-1), 0.5) {
				t.Fatalf("the request ids keep %d of %d, the last one %v: choose others, so that sampling shows and the last is kept",
					kept, n, route.Sampled(fmt.Sprintf("req-metrics-%d", n-1), 0.5))
			}
			hookName, deadName := hook.URL()+"/...", dead.URL()+"/..."
			var m emfSums
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				m = addUp(e.Output())
				if m.perDest[hookName]["RecordsDelivered"] == float64(kept) && m.perDest["stdout"]["RecordsDelivered"] == float64(kept) &&
					m.perDest[deadName]["DeliveryFailures"] == float64(kept) && m.total["RecordsSampledOut"] == float64(n-kept) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("timed out waiting for documents that count every record: %d kept of %d, documents say %v", kept, n, m.perDest)
				}
			}
			output := e.Output()
			for _, err := range m.errs {
				t.Error(err)
			}

			var took, refused int
			for _, r := range hook.Received() {
				switch r.Status {
				case 200:
					took++
				case 503:
					refused++
				}
			}
			printed := len(stdoutRecords(t, output, "execution record"))
			undelivered := stdoutRecords(t, output, "undelivered record")
			for id, l := range undelivered {
				if l.Destination != dead.URL()+"/…" {
					t.Errorf("%s: undelivered for %s", id, l.Destination)
				}
			}
			want := map[string]map[string]float64{
				"stdout": {"RecordsDelivered": float64(printed), "DeliveryFailures": 0, "DeliveryRetries": 0, "RecordsToLog": 0, "RecordsOversize": 0},
				hookName: {"RecordsDelivered": float64(took), "DeliveryFailures": 0, "DeliveryRetries": float64(refused), "RecordsToLog": 0, "RecordsOversize": 0},
				deadName: {"RecordsDelivered": 0, "DeliveryFailures": float64(len(undelivered)), "DeliveryRetries": float64(len(undelivered) * (maxAttempts - 1)),
					"RecordsToLog": float64(len(undelivered)), "RecordsOversize": 0},
			}
			if took != kept || refused != 2 || printed != kept || len(undelivered) != kept {
				t.Errorf("the webhook took %d and refused %d, stdout printed %d, %d undelivered; want %d, 2, %d, %d", took, refused, printed, len(undelivered), kept, kept, kept)
			}
			for dest, metrics := range want {
				for name, v := range metrics {
					if got := m.perDest[dest][name]; got != v {
						t.Errorf("%s: %s = %v, want %v", dest, name, got, v)
					}
				}
				if got := m.latencies[dest]; got != int(metrics["RecordsDelivered"]) {
					t.Errorf("%s: %d latencies for %v records delivered", dest, got, metrics["RecordsDelivered"])
				}
			}
			for dest := range m.perDest {
				if _, ok := want[dest]; !ok && dest != "" {
					t.Errorf("a document for destination %q", dest)
				}
			}
			for _, d := range m.docs {
				if d.Dimensions["FunctionName"] != "function" {
					t.Errorf("FunctionName %q", d.Dimensions["FunctionName"])
				}
				for name := range d.Values {
					unit := "Count"
					if name == "DeliveryLatency" {
						unit = "Milliseconds"
					}
					if d.Unit(name) != unit {
						t.Errorf("%s in %s", name, d.Unit(name))
					}
				}
			}
			if strategy == "end" {
				onePerInvocation(t, output)
			}
			if strings.Contains(output, "n0t-for-logs") {
				t.Error("a webhook's path or query is in the output")
			}
			if strings.Contains(output, "metrics are lost") || strings.Contains(output, "document is lost") {
				t.Error("the extension lost metrics")
			}
		})
	}
}

// emfSums are the EMF documents of an output, their metrics added up.
type emfSums struct {
	docs      []emftest.Document
	errs      []error
	perDest   map[string]map[string]float64 // by Destination; "" for documents without one
	total     map[string]float64
	latencies map[string]int // DeliveryLatency values, by Destination
}

func addUp(output string) emfSums {
	s := emfSums{perDest: map[string]map[string]float64{}, total: map[string]float64{}, latencies: map[string]int{}}
	s.docs, s.errs = emftest.Lines(output)
	for _, d := range s.docs {
		dest := d.Dimensions["Destination"]
		if s.perDest[dest] == nil {
			s.perDest[dest] = map[string]float64{}
		}
		for name, vs := range d.Values {
			if name == "DeliveryLatency" {
				s.latencies[dest] += len(vs)
			}
			for _, v := range vs {
				s.perDest[dest][name] += v
				s.total[name] += v
			}
		}
	}
	return s
}

// onePerInvocation wants at most one document per destination between two
// invocations' START lines: in the end strategy, an invocation's records
// and its document go out before its END.
func onePerInvocation(t *testing.T, output string) {
	t.Helper()
	for i, part := range strings.Split(output, "START RequestId: ")[1:] {
		docs, _ := emftest.Lines(part)
		seen := map[string]bool{}
		for _, d := range docs {
			dest := d.Dimensions["Destination"]
			if seen[dest] {
				t.Errorf("invocation %d: two documents for %q", i+1, dest)
			}
			seen[dest] = true
		}
	}
}
