package webhook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

func TestSign(t *testing.T) {
	// Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac s3cret
	const want = "sha256=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940"
	if got := Sign("s3cret", "1700000000", []byte(`{"a":1}`)); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1700000000, 0)
	body := []byte(`{"version":"1.0"}`)
	ts := "1700000000"
	good := Sign("s3cret", ts, body)
	tests := []struct {
		name      string
		secret    string
		timestamp string
		signature string
		body      []byte
		now       time.Time
		tolerance time.Duration
		want      error // nil, or the sentinel it must wrap
	}{
		{"good", "s3cret", ts, good, body, now, time.Minute, nil},
		{"good with default tolerance", "s3cret", ts, good, body, now.Add(4 * time.Minute), 0, nil},
		{"one of several", "s3cret", ts, "sha256=00, " + good, body, now, time.Minute, nil},
		{"other secret", "other", ts, good, body, now, time.Minute, ErrSignature},
		{"tampered body", "s3cret", ts, good, []byte(`{"version":"2.0"}`), now, time.Minute, ErrSignature},
		{"other timestamp", "s3cret", "1700000001", good, body, now, time.Minute, ErrSignature},
		{"no signature", "s3cret", ts, "", body, now, time.Minute, ErrSignature},
		{"bare hex", "s3cret", ts, good[7:], body, now, time.Minute, ErrSignature},
		{"bad timestamp", "s3cret", "yesterday", good, body, now, time.Minute, ErrSignature},
		{"replayed", "s3cret", ts, good, body, now.Add(2 * time.Minute), time.Minute, ErrStale},
		{"replayed default tolerance", "s3cret", ts, good, body, now.Add(6 * time.Minute), 0, ErrStale},
		{"from the future", "s3cret", ts, good, body, now.Add(-2 * time.Minute), time.Minute, ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.timestamp, tt.signature, tt.body, tt.now, tt.tolerance)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	if err := Verify("", ts, good, body, now, time.Minute); err == nil {
		t.Error("Verify without a secret accepted")
	}
}

func TestSendSigned(t *testing.T) {
	const secret = "s3cret"
	type got struct {
		err    error
		header http.Header
	}
	received := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := Verify(secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, time.Now(), time.Minute)
		received <- got{err, r.Header.Clone()}
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	msg := destination.Message{Record: []byte(`{"version":"1.0"}`), Condition: "Success", RequestID: "r1"}

	before := time.Now().Unix()
	if err := NewSigned(srv.URL, srv.Client(), secret).Send(context.Background(), msg); err != nil {
		t.Fatalf("signed Send: %v", err)
	}
	g := <-received
	if g.err != nil {
		t.Errorf("receiver refused: %v", g.err)
	}
	if ts, _ := strconv.ParseInt(g.header.Get(HeaderTimestamp), 10, 64); ts < before || ts > time.Now().Unix() {
		t.Errorf("timestamp %q not now", g.header.Get(HeaderTimestamp))
	}

	// A wrong secret is refused, permanently.
	err := NewSigned(srv.URL, srv.Client(), "wrong").Send(context.Background(), msg)
	if g := <-received; !errors.Is(g.err, ErrSignature) || !errors.Is(err, destination.ErrPermanent) {
		t.Errorf("wrong secret: receiver %v, sender %v", g.err, err)
	}

	// Without a secret nothing is signed.
	_ = New(srv.URL, srv.Client()).Send(context.Background(), msg)
	if g := <-received; g.header.Get(HeaderSignature) != "" || g.header.Get(HeaderTimestamp) != "" {
		t.Errorf("unsigned request has signature headers: %v", g.header)
	}
}
