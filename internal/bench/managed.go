package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/rie"
)

// ManagedResult is one setup's throughput and caller latency under Lambda
// Managed Instances at one number of workers, over every round.
type ManagedResult struct {
	Setup     string  `json:"setup"`
	Workers   int     `json:"workers"`
	Calls     int     `json:"calls"`
	PerSecond float64 `json:"perSecond"` // answered invocations per second
	// Latency is what each caller waited, the retries while every worker
	// was busy (Runtime.Unavailable) included, in milliseconds.
	Latency *Summary `json:"latency"`
}

// managed measures throughput under the emulator's Managed Instances mode:
// for each number of workers, as many callers as workers send 1 KB events,
// retrying while every worker is busy, to the function alone and through
// the layer (records to a local webhook), in rounds that alternate.
func (r *runner) managed(ctx context.Context, rep *Report) error {
	setups := r.in(managedPhase)
	if len(setups) == 0 || len(r.o.ManagedWorkers) == 0 {
		return nil
	}
	roots, err := r.managedRoots()
	if err != nil {
		return err
	}
	defer os.RemoveAll(roots)
	hook, err := newSink()
	if err != nil {
		return err
	}
	defer hook.Close()
	for _, workers := range r.o.ManagedWorkers {
		emus := map[string]*emulator{}
		for _, s := range setups {
			em, err := r.startManaged(ctx, s, workers, roots, hook.URL()+managedPath(workers))
			if err != nil {
				return err
			}
			defer em.e.Stop()
			emus[s.name] = em
		}
		fmt.Fprintf(r.progress, "managed instances: %d workers, %d rounds of %d calls per setup, alternating\n",
			workers, r.o.ManagedRounds, r.o.ManagedCalls)
		// The warm-up starts each worker's connections and the layer's.
		for _, s := range setups {
			if _, err := r.load(ctx, emus[s.name], workers, 10*workers); err != nil {
				return err
			}
		}
		elapsed := map[string]time.Duration{}
		waits := map[string][]time.Duration{}
		for round := range r.o.ManagedRounds {
			for _, s := range rotate(setups, round) {
				res, err := r.load(ctx, emus[s.name], workers, r.o.ManagedCalls)
				if err != nil {
					return err
				}
				elapsed[s.name] += res.Elapsed
				for _, c := range res.Results {
					waits[s.name] = append(waits[s.name], c.Elapsed)
				}
			}
		}
		for _, s := range setups {
			calls := r.o.ManagedRounds * r.o.ManagedCalls
			rep.Managed = append(rep.Managed, ManagedResult{Setup: s.name, Workers: workers, Calls: calls,
				PerSecond: float64(calls) / elapsed[s.name].Seconds(), Latency: Summarize(waits[s.name])})
			if s.layer != nil {
				if err := awaitRecords(ctx, hook, emus[s.name], workers); err != nil {
					return err
				}
			}
		}
		for _, em := range emus {
			_ = em.e.Stop()
		}
	}
	return nil
}

// awaitRecords waits until the webhook has one record for each invocation
// of em: a layer that kept up only by dropping records would not count.
func awaitRecords(ctx context.Context, hook *sink, em *emulator, workers int) error {
	count := func() int { return hook.count(managedPath(workers)) }
	deadline := time.Now().Add(time.Minute)
	for count() < em.calls {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("setup %s at %d workers: the webhook received %d records for %d invocations", em.name, workers, count(), em.calls)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := count(); n != em.calls {
		return fmt.Errorf("setup %s at %d workers: the webhook received %d records for %d invocations", em.name, workers, n, em.calls)
	}
	return nil
}

// managedPath is where the records of a run at workers workers go.
func managedPath(workers int) string { return fmt.Sprintf("/managed-%d", workers) }

// managedRoots lays out the function as each setup ships it: alone as
// bootstrap, which the emulator runs; behind the layer under its handler's
// name, which the layer's /opt/bootstrap runs. The runtime runs as another
// user there: the folders are readable by all.
func (r *runner) managedRoots() (string, error) {
	dir, err := os.MkdirTemp("", "bench-managed-")
	if err != nil {
		return "", err
	}
	fn, err := os.ReadFile(r.o.Function)
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("managed instances: %w", err)
	}
	for _, path := range []string{filepath.Join(dir, "alone", "bootstrap"), filepath.Join(dir, "layer", managedHandler)} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
			err = os.WriteFile(path, fn, 0o755)
		}
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("managed instances: %w", err)
		}
	}
	return dir, os.Chmod(dir, 0o755)
}

// managedHandler is the function's name behind the layer.
const managedHandler = "function"

// startManaged starts a setup under Managed Instances with workers workers.
func (r *runner) startManaged(ctx context.Context, s setup, workers int, roots, hook string) (*emulator, error) {
	o := r.options(s, hook)
	o.Command = nil // the emulator runs the bootstrap it finds
	o.MaxConcurrency = workers
	o.TaskRoot = filepath.Join(roots, "alone")
	if s.layer != nil {
		o.TaskRoot, o.Handler = filepath.Join(roots, "layer"), managedHandler
	}
	em, err := r.launch(ctx, s, o)
	if err != nil {
		return nil, fmt.Errorf("%d workers: %w", workers, err)
	}
	return em, nil
}

// load makes n calls through as many callers as workers and checks that
// each got the function's answer.
func (r *runner) load(ctx context.Context, em *emulator, callers, n int) (rie.LoadResult, error) {
	calls := make([]rie.Call, n)
	for i := range calls {
		em.calls++
		calls[i] = rie.Call{Body: r.event, Header: http.Header{"X-Amzn-Requestid": {fmt.Sprintf("bench-%s-%d", em.name, em.calls)}}}
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	res := em.e.Load(lctx, callers, calls)
	for i, c := range res.Results {
		if c.Err != nil {
			return res, fmt.Errorf("setup %s: call %d: %w\nemulator output (end):\n%s", em.name, i, c.Err, tail(em.e.Output(), 3000))
		}
		if c.Response.Status != http.StatusOK || !bytes.Equal(c.Response.Body, r.event) {
			return res, fmt.Errorf("setup %s: call %d answered %d: %.300s", em.name, i, c.Response.Status, c.Response.Body)
		}
	}
	return res, nil
}
