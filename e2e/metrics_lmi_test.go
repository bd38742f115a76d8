package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/rie"
	"github.com/lambda-destinations/lambda-destinations/internal/rie/riet"
)

// TestMetricsManagedInstances: under the emulator's Lambda Managed
// Instances mode, where invocations run at once and the layer flushes in
// the background, a flush that delivers the records of many invocations
// makes one document per destination. The webhook takes 300 ms a record:
// records pile up while it works, and flushes end at least that far apart,
// so that documents of one destination with one Timestamp would come from
// one flush.
func TestMetricsManagedInstances(t *testing.T) {
	hook := newReceiver(t)
	hook.SetDelay(300 * time.Millisecond)
	rt := goLMI(t, map[string]string{
		"DESTINATIONS_ON_SUCCESS": "stdout," + hook.URL() + "/hooks/p4th-n0t-for-logs",
		"DESTINATIONS_METRICS":    "emf",
	}, 30*time.Second)
	e := riet.StartT(t, rt.with)
	const n = 16
	calls := make([]rie.Call, n)
	for i := range calls {
		calls[i] = rie.Call{
			Body:   fmt.Appendf(nil, `{"Success":true,"n":%d}`, i),
			Header: http.Header{"X-Amzn-Requestid": {fmt.Sprintf("lmi-metrics-%02d", i)}},
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	for i, r := range e.Load(ctx, n, calls).Results {
		if r.Err != nil || r.Response.Status != http.StatusOK {
			t.Fatalf("call %d: %+v %v", i, r.Response, r.Err)
		}
	}
	hookName := hook.URL() + "/..."
	var m emfSums
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		m = addUp(e.Output())
		if m.perDest[hookName]["RecordsDelivered"] == n && m.perDest["stdout"]["RecordsDelivered"] == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for documents that count %d records for each destination: %v", n, m.perDest)
		}
	}
	for _, err := range m.errs {
		t.Error(err)
	}
	if got := len(hook.Received()); got != n {
		t.Errorf("the webhook got %d records, want %d", got, n)
	}
	if got := len(stdoutRecords(t, e.Output(), "execution record")); got != n {
		t.Errorf("stdout printed %d records, want %d", got, n)
	}
	flushes := map[int64]map[string]int{} // documents by Timestamp and destination
	docs := map[string]int{}
	for _, d := range m.docs {
		stamp, dest := d.Timestamp.UnixMilli(), d.Dimensions["Destination"]
		if flushes[stamp] == nil {
			flushes[stamp] = map[string]int{}
		}
		if flushes[stamp][dest]++; flushes[stamp][dest] > 1 {
			t.Errorf("two documents for %s in the flush of %v", dest, d.Timestamp)
		}
		docs[dest]++
	}
	if docs[hookName] >= n {
		t.Errorf("%d documents for the webhook's %d records: no flush counted several invocations", docs[hookName], n)
	}
	t.Logf("%d invocations, %d flushes, %d documents for the webhook", n, len(flushes), docs[hookName])
	if strings.Contains(e.Output(), "n0t-for-logs") {
		t.Error("the webhook's path is in the output")
	}
}
