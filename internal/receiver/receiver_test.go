package receiver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func newReceiver(t *testing.T, opts Options) *Receiver {
	t.Helper()
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

func post(ctx context.Context, url, body string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Destinations-Condition", "Success")
	// A fresh connection per request: a reused one would hide Down.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func TestStatuses(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		setup func(r *Receiver)
		want  []int
	}{
		{name: "default 200", want: []int{200, 200}},
		{name: "fixed from options", opts: Options{Status: 500}, want: []int{500, 500}},
		{name: "set status", setup: func(r *Receiver) { r.SetStatus(404) }, want: []int{404, 404}},
		{name: "sequence then fixed", setup: func(r *Receiver) { r.SetSequence(503, 503, 200) }, want: []int{503, 503, 200, 200}},
		{name: "sequence falls back to set status", setup: func(r *Receiver) {
			r.SetStatus(202)
			r.SetSequence(429)
		}, want: []int{429, 202}},
		{name: "set status clears sequence", setup: func(r *Receiver) {
			r.SetSequence(503, 503)
			r.SetStatus(201)
		}, want: []int{201, 201}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t, tt.opts)
			if tt.setup != nil {
				tt.setup(r)
			}
			for i, want := range tt.want {
				got, err := post(t.Context(), r.URL()+"/hook", `{"n":1}`)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("request %d: status %d, want %d", i, got, want)
				}
			}
			reqs := r.Received()
			if len(reqs) != len(tt.want) {
				t.Fatalf("recorded %d requests, want %d", len(reqs), len(tt.want))
			}
			for i, req := range reqs {
				if req.Status != tt.want[i] {
					t.Errorf("recorded status %d = %d, want %d", i, req.Status, tt.want[i])
				}
			}
		})
	}
}

func TestRecordsRequests(t *testing.T) {
	r := newReceiver(t, Options{})
	before := time.Now()
	for _, body := range []string{`{"a":1}`, `{"b":2}`} {
		if _, err := post(t.Context(), r.URL()+"/path/x?q=1", body); err != nil {
			t.Fatal(err)
		}
	}
	reqs, err := r.Wait(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{`{"a":1}`, `{"b":2}`} {
		got := reqs[i]
		if got.Method != http.MethodPost || got.Path != "/path/x" || got.Query != "q=1" {
			t.Errorf("request %d: %s %s ? %s", i, got.Method, got.Path, got.Query)
		}
		if !bytes.Equal(got.Body, []byte(want)) {
			t.Errorf("request %d: body %q, want %q", i, got.Body, want)
		}
		if got.Header.Get("X-Destinations-Condition") != "Success" || got.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %d: headers %v", i, got.Header)
		}
		if got.Time.Before(before) {
			t.Errorf("request %d: time %v before the test started", i, got.Time)
		}
	}
	if !reqs[1].Time.After(reqs[0].Time) && !reqs[1].Time.Equal(reqs[0].Time) {
		t.Error("requests out of order")
	}
	// Received is a copy.
	reqs[0].Body[0] = 'X'
	if r.Received()[0].Body[0] == 'X' {
		t.Error("Received shares memory with the receiver")
	}
}

func TestWait(t *testing.T) {
	r := newReceiver(t, Options{})
	go func() {
		time.Sleep(50 * time.Millisecond)
		_, _ = post(context.Background(), r.URL(), "late")
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	reqs, err := r.Wait(ctx, 1)
	if err != nil || len(reqs) != 1 || string(reqs[0].Body) != "late" {
		t.Fatalf("Wait = %v, %v", reqs, err)
	}

	short, cancel2 := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel2()
	reqs, err = r.Wait(short, 2)
	if !errors.Is(err, context.DeadlineExceeded) || len(reqs) != 1 {
		t.Fatalf("Wait for more than arrived = %d requests, %v; want 1, deadline exceeded", len(reqs), err)
	}
}

func TestHang(t *testing.T) {
	tests := []struct {
		name    string
		release func(r *Receiver, cancelClient context.CancelFunc)
	}{
		{name: "until client gives up", release: func(_ *Receiver, cancel context.CancelFunc) { cancel() }},
		{name: "until Close", release: func(r *Receiver, _ context.CancelFunc) { _ = r.Close() }},
		{name: "until Down", release: func(r *Receiver, _ context.CancelFunc) { _ = r.Down() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t, Options{})
			r.Hang()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				_, err := post(ctx, r.URL(), "x")
				errc <- err
			}()
			if _, err := r.Wait(t.Context(), 1); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-errc:
				t.Fatalf("hanging request answered: %v", err)
			case <-time.After(100 * time.Millisecond):
			}
			tt.release(r, cancel)
			select {
			case err := <-errc:
				if err == nil {
					t.Error("hanging request got an answer, want an error")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("hanging request not released")
			}
			if got := r.Received()[0].Status; got != 0 {
				t.Errorf("recorded status %d for a hung request, want 0", got)
			}
		})
	}
}

func TestHangThenStatus(t *testing.T) {
	r := newReceiver(t, Options{})
	r.Hang()
	r.SetStatus(204)
	got, err := post(t.Context(), r.URL(), "x")
	if err != nil || got != 204 {
		t.Fatalf("status %d, %v; want 204", got, err)
	}
}

func TestDownAndUp(t *testing.T) {
	r := newReceiver(t, Options{})
	if _, err := post(t.Context(), r.URL(), "1"); err != nil {
		t.Fatal(err)
	}
	if err := r.Down(); err != nil {
		t.Fatal(err)
	}
	if err := r.Down(); err != nil {
		t.Fatalf("second Down: %v", err)
	}
	if _, err := post(t.Context(), r.URL(), "2"); err == nil {
		t.Fatal("request to a down receiver succeeded")
	}
	if err := r.Up(); err != nil {
		t.Fatal(err)
	}
	if _, err := post(t.Context(), r.URL(), "3"); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, req := range r.Received() {
		bodies = append(bodies, string(req.Body))
	}
	if strings.Join(bodies, ",") != "1,3" {
		t.Errorf("recorded bodies %v, want [1 3]", bodies)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Up(); err == nil {
		t.Error("Up after Close succeeded")
	}
	if _, err := post(t.Context(), r.URL(), "4"); err == nil {
		t.Error("request to a closed receiver succeeded")
	}
}
