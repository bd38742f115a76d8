package awsdest

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// sendBatches sends a batch of n messages as a service takes them: those
// over limit fail at once, the others go in requests of at most maxEntries
// entries and limit bytes, each sent by send, which sets the errors of the
// entries it was given. A failure to connect fails them all.
func sendBatches[C any](ctx context.Context, t destination.Target, n int, size func(i int) int, maxEntries, limit int,
	connect func(context.Context) (C, error), send func(c C, chunk []int, errs []error)) []error {
	errs := make([]error, n)
	todo := make([]int, 0, n)
	for i := range n {
		if s := size(i); s > limit {
			errs[i] = tooLargeError(t, s, limit)
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return errs
	}
	c, err := connect(ctx)
	if err != nil {
		for _, i := range todo {
			errs[i] = err
		}
		return errs
	}
	for _, chunk := range split(todo, size, maxEntries, limit) {
		send(c, chunk, errs)
	}
	return errs
}

// split groups the messages at idx into requests of at most maxEntries
// entries and maxBytes bytes, keeping their order.
func split(idx []int, size func(int) int, maxEntries, maxBytes int) [][]int {
	var out [][]int
	var cur []int
	total := 0
	for _, i := range idx {
		n := size(i)
		if len(cur) > 0 && (len(cur) == maxEntries || total+n > maxBytes) {
			out = append(out, cur)
			cur, total = nil, 0
		}
		cur = append(cur, i)
		total += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// batchFailed records a whole-request failure for every message of chunk.
// A batch refused for its total size is sent again one message at a time,
// so that only the messages really too large are reported so.
func batchFailed(ctx context.Context, t destination.Target, d destination.Destination, ms []destination.Message, chunk []int, errs []error, err error) {
	err = wrap(t, err)
	if errors.Is(err, destination.ErrTooLarge) && len(chunk) > 1 {
		for _, i := range chunk {
			errs[i] = d.Send(ctx, ms[i])
		}
		return
	}
	for _, i := range chunk {
		errs[i] = err
	}
}

// settle reports the per-entry results of a batch answer, keyed by entry
// id (the position in chunk). An entry the answer does not mention is
// reported as a retryable failure.
func settle(t destination.Target, chunk []int, results map[string]error, errs []error) {
	for k, i := range chunk {
		err, ok := results[strconv.Itoa(k)]
		if !ok {
			err = fmt.Errorf("destination %s: the batch answer has no result for entry %d", t.Raw, k)
		}
		errs[i] = err
	}
}
