package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"
)

// concurrentAPI is a Runtime API as Lambda Managed Instances runs it: any
// number of /next at once, each answered with its own request id, and
// results checked against the event they answer (runtimes echo it).
type concurrentAPI struct {
	next    atomic.Int64
	mu      sync.Mutex
	wrong   []string
	results int
}

func (a *concurrentAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/2018-06-01/runtime/invocation/next" {
		id := fmt.Sprintf("req-%d", a.next.Add(1))
		w.Header().Set(HeaderRequestID, id)
		fmt.Fprintf(w, `{"id":%q}`, id)
		return
	}
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/2018-06-01/runtime/invocation/"), "/response")
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.results++
	if string(body) != fmt.Sprintf(`{"id":%q}`, id) {
		a.wrong = append(a.wrong, fmt.Sprintf("%s: %q", id, body))
	}
	a.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// Many runtime connections at once, from Go and from several Python
// processes, with kept connections and a new one per call: every event and
// every result is relayed and observed for its own request id.
func TestManyConcurrentConnections(t *testing.T) {
	api := &concurrentAPI{}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	rec, addr := startProxy(t, srv.Listener.Addr().String(), 1<<20)

	const goWorkers, goEach = 32, 10
	var wg sync.WaitGroup
	errs := make(chan error, goWorkers)
	for range goWorkers {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			base := "http://" + addr + "/2018-06-01/runtime/invocation/"
			for range goEach {
				resp, err := client.Get(base + "next")
				if err != nil {
					errs <- err
					return
				}
				event, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				resp, err = client.Post(base+resp.Header.Get(HeaderRequestID)+"/response", "application/json", bytes.NewReader(event))
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
			}
		})
	}
	pythons := []struct {
		client         string
		workers, count int
	}{
		{"http.client", 4, 10}, {"http.client", 4, 10}, {"http.client", 4, 10}, {"http.client", 4, 10},
		{"urllib", 2, 5}, {"urllib", 2, 5},
	}
	total := goWorkers * goEach
	for _, py := range pythons {
		total += py.workers * py.count
		wg.Go(func() {
			if out, err := python(t, "--client", py.client, "--address", addr, "--workers", fmt.Sprint(py.workers), "--count", fmt.Sprint(py.count)); err != nil {
				errs <- fmt.Errorf("python %s: %v\n%s", py.client, err, out)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	events, results := rec.wait(t, total, total)
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.results != total || len(api.wrong) > 0 {
		t.Errorf("the Runtime API got %d results of %d; wrong: %q", api.results, total, api.wrong)
	}
	bodies := map[string]string{}
	for _, ev := range events {
		bodies[ev.RequestID] = string(ev.Body.Bytes)
	}
	for _, r := range results {
		if want, ok := bodies[r.RequestID]; !ok || string(r.Body.Bytes) != want || r.Status != http.StatusAccepted {
			t.Errorf("result for %q: %d %q, event %q", r.RequestID, r.Status, r.Body.Bytes, want)
		}
	}
	if len(bodies) != total {
		t.Errorf("%d distinct events, want %d", len(bodies), total)
	}
}

// python runs testdata/runtime.py.
func python(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", append([]string{"testdata/runtime.py"}, args...)...).CombinedOutput()
	return string(out), err
}

// keeper is an Observer that keeps nothing but weak pointers to the bodies
// it is handed.
type keeper struct {
	discardObserver
	mu   sync.Mutex
	weak []weak.Pointer[byte]
}

func (k *keeper) hold(p []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.weak = append(k.weak, weak.Make(&p[0]))
}

func (k *keeper) Event(ev Event)  { k.hold(ev.Body.Bytes) }
func (k *keeper) Result(r Result) { k.hold(r.Body.Bytes) }

func (k *keeper) alive() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, w := range k.weak {
		if w.Value() != nil {
			n++
		}
	}
	return n
}

// The bytes captured of an invocation are handed over, not retained: once
// the observer lets them go, nothing in the proxy holds them, while its
// connection stays open.
func TestCapturedBytesNotRetained(t *testing.T) {
	event := bytes.Repeat([]byte("e"), 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if strings.HasSuffix(r.URL.Path, "/next") {
			w.Header().Set(HeaderRequestID, "a")
			_, _ = w.Write(event)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	k := &keeper{}
	p, addr := serveProxy(t, Options{Upstream: srv.Listener.Addr().String(), MaxPayloadBytes: 6 << 20, Observer: k})
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	base := "http://" + addr + "/2018-06-01/runtime/invocation/"
	for range 3 {
		resp, err := client.Get(base + "next")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		resp, err = client.Post(base+"a/response", "application/json", bytes.NewReader(event))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	eventually(t, "the observer to be told", func() bool {
		k.mu.Lock()
		defer k.mu.Unlock()
		return len(k.weak) == 6
	})
	eventually(t, "the captured bodies to be collected", func() bool {
		runtime.GC()
		return k.alive() == 0
	})
	if p.conns() == 0 {
		t.Error("the runtime's connection closed: the test shows nothing")
	}
}
