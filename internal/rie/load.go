package rie

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Call is one invocation of a Load.
type Call struct {
	Body   []byte
	Header http.Header // X-Amzn-RequestId, if set, is the invocation's request id
}

// Result is what one Call got: the emulator's answer, or Err.
type Result struct {
	Response *Response
	// Elapsed runs from the first attempt to the end of the answer, the
	// waits between Runtime.Unavailable refusals included: what the caller
	// waited. Response.Latency is that of the accepted attempt alone.
	Elapsed time.Duration
	Err     error
}

// LoadResult is the outcome of a Load: Results[i] is what calls[i] got.
type LoadResult struct {
	Results []Result
	Elapsed time.Duration // from the first call sent to the last answer
}

// Throughput is the answered calls per second.
func (r LoadResult) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	answered := 0
	for _, res := range r.Results {
		if res.Err == nil {
			answered++
		}
	}
	return float64(answered) / r.Elapsed.Seconds()
}

// Load makes every call through callers concurrent callers, each taking the
// next call as soon as its previous one is answered and retrying a call
// while the emulator answers Runtime.Unavailable (InvokeRetry). It returns
// when every call is answered or ctx is done; calls not made by then have
// ctx's error. Classic emulators take one invocation at a time whatever
// callers is.
func (e *Emulator) Load(ctx context.Context, callers int, calls []Call) LoadResult {
	results := make([]Result, len(calls))
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range max(callers, 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(calls) {
					return
				}
				t0 := time.Now()
				resp, err := e.InvokeRetry(ctx, calls[i].Body, calls[i].Header)
				results[i] = Result{Response: resp, Elapsed: time.Since(t0), Err: err}
			}
		})
	}
	wg.Wait()
	return LoadResult{Results: results, Elapsed: time.Since(start)}
}
