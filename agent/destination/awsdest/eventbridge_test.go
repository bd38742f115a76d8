package awsdest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/internal/fakeaws"
)

const bus = "arn:aws:events:ap-southeast-2:123456789012:event-bus/records"

func TestEventBridgeSend(t *testing.T) {
	tests := []struct {
		condition  string
		trace      string
		detailType string
	}{
		{"Success", traceID, "Lambda Function Invocation Result - Success"},
		{"Failure", traceID, "Lambda Function Invocation Result - Failure"},
		{"Failure", "", "Lambda Function Invocation Result - Failure"},
	}
	for _, tt := range tests {
		t.Run(tt.condition+"/"+tt.trace, func(t *testing.T) {
			srv := fakeaws.NewEventBridge(t)
			awsEnv(t, "AWS_ENDPOINT_URL_EVENTBRIDGE", srv.URL)
			m := message(tt.condition, 1024)
			m.TraceID = tt.trace
			if err := newDest(t, bus, Options{}).Send(ctxT(t), m); err != nil {
				t.Fatal(err)
			}
			calls := srv.Calls()
			if len(calls) != 1 || len(calls[0].Entries) != 1 {
				t.Fatalf("calls %+v, want one PutEvents of one entry", calls)
			}
			c := calls[0]
			checkAuth(t, c, "events", "ap-southeast-2")
			if c.Operation != "PutEvents" || c.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
				t.Errorf("operation %s, want PutEvents", c.Operation)
			}
			e := c.Entries[0]
			want := fakeaws.Entry{
				Body: string(m.Record), EventBusName: bus, Source: "lambda", DetailType: tt.detailType,
				Resources: []string{bus, fnARN}, TraceHeader: tt.trace,
			}
			if fmt.Sprintf("%+v", e) != fmt.Sprintf("%+v", want) {
				t.Errorf("entry\n%+v\nwant\n%+v", e, want)
			}
		})
	}
}

// A failed entry in a 200 answer is a failed delivery, classed by its code.
func TestEventBridgeFailedEntry(t *testing.T) {
	tests := []struct {
		fault fakeaws.Fault
		code  string
		want  string
	}{
		{fakeaws.Throttle, "ThrottlingException", "retryable"},
		{fakeaws.ServerError, "InternalFailure", "retryable"},
		{fakeaws.AccessDenied, "AccessDeniedException", "permanent"},
		{fakeaws.TooLarge, "InvalidArgument", "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			srv := fakeaws.NewEventBridge(t)
			awsEnv(t, "AWS_ENDPOINT_URL_EVENTBRIDGE", srv.URL)
			srv.FailEntries(tt.fault, 0)
			err := newDest(t, bus, Options{}).Send(ctxT(t), message("Success", 100))
			if got := classOf(err); got != tt.want || !strings.Contains(err.Error(), tt.code) || !strings.Contains(err.Error(), bus) {
				t.Fatalf("Send: %s (%v), want %s naming %s and the bus", got, err, tt.want, tt.code)
			}
		})
	}
}

func TestEventBridgeSendBatch(t *testing.T) {
	srv := fakeaws.NewEventBridge(t)
	awsEnv(t, "AWS_ENDPOINT_URL_EVENTBRIDGE", srv.URL)
	d := newDest(t, bus, Options{}).(destination.Batcher)
	var ms []destination.Message
	for range 13 {
		ms = append(ms, message("Success", 1024))
	}
	// Three of 100 KiB: two fit in a request, the third starts the next.
	for range 3 {
		ms = append(ms, message("Failure", 100<<10))
	}
	srv.FailEntries(fakeaws.Throttle, 2, 7)
	errs := d.SendBatch(ctxT(t), ms)
	for i, err := range errs {
		want := "delivered"
		if i == 2 || i == 7 {
			want = "retryable"
		}
		if got := classOf(err); got != want {
			t.Errorf("message %d: %s (%v), want %s", i, got, err, want)
		}
	}
	var counts []string
	next := 0
	for _, c := range srv.Calls() {
		total := 0
		for _, e := range c.Entries {
			total += len(e.Source) + len(e.DetailType) + len(e.Body) + len(e.Resources[0]) + len(e.Resources[1])
			if e.Body != string(ms[next].Record) {
				t.Errorf("entry for message %d out of order", next)
			}
			next++
		}
		if total > DefaultMaxBytes {
			t.Errorf("a request of %d bytes", total)
		}
		counts = append(counts, fmt.Sprint(len(c.Entries)))
	}
	// 10 small; 3 small and two large (~200 KiB); the last large one.
	if got := strings.Join(counts, ","); got != "10,5,1" {
		t.Errorf("entries per request %s, want 10,5,1", got)
	}
}

// The entry size is counted as EventBridge documents it.
func TestEntrySize(t *testing.T) {
	tests := []struct {
		e    busEntry
		want int
	}{
		{busEntry{Source: "lambda", DetailType: "x", Detail: "{}"}, 6 + 1 + 2},
		{busEntry{Source: "a", DetailType: "b", Detail: `{"é":1}`, Resources: []string{"r1", "r22"},
			EventBusName: "not counted", TraceHeader: "not counted"}, 1 + 1 + 8 + 2 + 3}, // é is 2 bytes
	}
	for _, tt := range tests {
		if got := entrySize(tt.e); got != tt.want {
			t.Errorf("entrySize = %d, want %d", got, tt.want)
		}
	}
	// A record of MaxRecordBytes makes an entry within the limit, whatever
	// the qualifier of the invoked ARN; a record one byte over what the
	// entry leaves room for is refused before any request.
	d := newDest(t, bus, Options{}).(*busDest)
	if got := entrySize(d.busEntry(message("Success", d.MaxRecordBytes()))); got > DefaultMaxBytes {
		t.Errorf("entry of a MaxRecordBytes record: %d bytes, over the %d limit", got, DefaultMaxBytes)
	}
	small := message("Success", 1000)
	room := DefaultMaxBytes - (entrySize(d.busEntry(small)) - len(small.Record))
	if got := entrySize(d.busEntry(message("Success", room))); got != DefaultMaxBytes {
		t.Fatalf("entry of a %d-byte record: %d bytes, want %d", room, got, DefaultMaxBytes)
	}
	if err := d.Send(ctxT(t), message("Success", room+1)); classOf(err) != "too large" {
		t.Errorf("one byte over: %v, want too large", err)
	}
}
