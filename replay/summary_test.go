package replay

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	s := newSummary("sqs:arn:aws:sqs:eu-west-1:123456789012:failures", "Event", false)
	s.Read = 5
	for _, o := range []Outcome{
		{RequestID: "a", Outcome: OutcomeSucceeded},
		{RequestID: "b", Outcome: OutcomeFailedAgain, Detail: "the function failed again (Unhandled)"},
		{RequestID: "c", Outcome: OutcomeSkipped, Reason: KindRedacted, Detail: "requestPayload redacted (DESTINATIONS_REDACT)"},
		{RequestID: "d", Outcome: OutcomeSkipped, Reason: KindDuplicate},
	} {
		s.add(o)
	}
	s.Deleted = 1
	want := "sqs:arn:aws:sqs:eu-west-1:123456789012:failures: 5 records read, 4 selected\n" +
		"re-driven (Event): 2, 1 succeeded, 1 failed again\n" +
		"skipped: 2 (duplicate 1, redacted 1)\n" +
		"messages deleted from the queue: 1\n"
	if got := s.Text(); got != want {
		t.Errorf("text\n%s\nwant\n%s", got, want)
	}
	if !s.Failed() {
		t.Error("a failure again is a failed run")
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"read":5`, `"selected":4`, `"redriven":2`, `"succeeded":1`, `"failedAgain":1`, `"skipped":2`, `"skippedReasons":{"duplicate":1,"redacted":1}`, `"errors":[]`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("the JSON summary has no %s: %s", field, b)
		}
	}

	dry := newSummary("log:-", "Event", true)
	dry.add(Outcome{Outcome: OutcomeWouldRedrive})
	if got := dry.Text(); !strings.Contains(got, "dry run: 1 would be re-driven (Event), nothing was invoked or deleted") || dry.Failed() {
		t.Errorf("dry run: %q", got)
	}
}
