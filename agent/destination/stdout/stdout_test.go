package stdout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

func TestLines(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	d := New(w)
	small := []byte(`{"version":"1.0"}`)
	large := []byte(`{"payload":"` + strings.Repeat("x", 200<<10) + `"}`)
	for i, rec := range [][]byte{small, large, small} {
		if err := d.Send(context.Background(), destination.Message{Record: rec, Condition: "Success", RequestID: "id\"\n\xff"}); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := w.Line("ERROR", "undelivered record", small, "destination", "https://x", "reason", "status 500"); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	var n int
	for sc.Scan() {
		var l struct {
			Msg, Destination, Condition, RequestID, Reason string
			Record                                         json.RawMessage
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d is not JSON: %v", n, err)
		}
		want := [][]byte{small, large, small, small}[n]
		if !bytes.Equal(l.Record, want) {
			t.Errorf("line %d: record of %d bytes, want %d", n, len(l.Record), len(want))
		}
		if n < 3 && (l.Msg != "execution record" || l.Destination != "stdout" || l.RequestID != "id\"\n\uFFFD") {
			t.Errorf("line %d: %+v", n, l)
		}
		if n == 3 && (l.Msg != "undelivered record" || l.Reason != "status 500") {
			t.Errorf("fallback line: %+v", l)
		}
		n++
	}
	if n != 4 {
		t.Errorf("%d lines, want 4", n)
	}
	if cap(w.buf) > 64<<10 {
		t.Errorf("the writer keeps a %d-byte buffer", cap(w.buf))
	}
}

// countingWriter counts the writes it takes.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

func TestDocument(t *testing.T) {
	var out countingWriter
	w := NewWriter(&out)
	small := []byte(`{"_aws":{}}`)
	large := []byte(`{"_aws":{},"v":"` + strings.Repeat("x", 200<<10) + `"}`)
	for _, doc := range [][]byte{small, large} {
		if err := w.Document(doc); err != nil {
			t.Fatal(err)
		}
	}
	if want := string(small) + "\n" + string(large) + "\n"; out.String() != want || out.writes != 2 {
		t.Errorf("%d writes of %d bytes, want 2 of %d", out.writes, out.Len(), len(want))
	}
	if cap(w.buf) > 64<<10 {
		t.Errorf("the writer keeps a %d-byte buffer", cap(w.buf))
	}
}
