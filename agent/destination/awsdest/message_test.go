package awsdest

import (
	"strings"
	"testing"
)

func TestDedupID(t *testing.T) {
	m := message("Success", 10)
	id := dedupID(m)
	if len(id) > 128 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("dedup id %q: want at most 128 characters of the allowed alphabet", id)
	}
	if dedupID(m) != id {
		t.Error("the same message (a resend by the agent) has another id")
	}
	m2 := m
	m2.Attempt = 2
	if dedupID(m2) == id {
		t.Error("another attempt of the request has the same id: SQS would drop it as a duplicate")
	}
	m3 := m
	m3.RequestID = "other"
	if dedupID(m3) == id {
		t.Error("another request has the same id")
	}
}
