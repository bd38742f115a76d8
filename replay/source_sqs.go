package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination/awsdest"
)

// Receiving: ten messages at a time, the most SQS gives, waiting up to two
// seconds for them (a long poll, which asks every server of the queue: an
// empty answer then means an empty queue).
const (
	receiveMax  = 10
	receiveWait = 2 * time.Second
	// callTimeout bounds each call to the queue beyond its wait: a
	// connection that hangs must not hold the run, or its deletes.
	callTimeout = 30 * time.Second
)

// Queue receives, deletes and releases messages: *awsdest.Queue.
type Queue interface {
	Receive(ctx context.Context, max int, wait, visibility time.Duration) ([]awsdest.QueueMessage, error)
	Delete(ctx context.Context, ms []awsdest.QueueMessage) []error
	Release(ctx context.Context, ms []awsdest.QueueMessage) []error
}

// sqsSource reads a queue ten messages at a time. A message is deleted
// only once every record it holds was re-driven successfully; the others
// stay hidden until the end, so that each is received once, and are then
// made visible again at once.
type sqsSource struct {
	name       string
	q          Queue
	visibility time.Duration
	seen       map[string]bool // message ids received
	kept       []awsdest.QueueMessage
	batch      []awsdest.QueueMessage // the messages of the last batch, by unit
}

// SQSSource reads queue q, named name, for re-drives of invocationType
// at rate a second (0: no limit): a message is hidden from other
// consumers for as long as the re-drive of its batch may take.
func SQSSource(name string, q Queue, invocationType string, rate float64) Source {
	return &sqsSource{name: name, q: q, visibility: visibilityFor(invocationType, rate), seen: map[string]bool{}}
}

// visibilityFor is how long received messages are hidden: longer than the
// re-drive of a batch of ten may take at rate, with a RequestResponse
// invocation taking up to the 15 minutes of the longest function, and at
// most the 12 hours SQS allows.
func visibilityFor(invocationType string, rate float64) time.Duration {
	d := 5 * time.Minute
	if invocationType == awsdest.InvocationRequestResponse {
		d = 20 * time.Minute
	}
	if rate > 0 {
		d += time.Duration(float64(receiveMax) / rate * float64(time.Second))
	}
	return min(d, 12*time.Hour)
}

func (s *sqsSource) Name() string { return s.name }

func (s *sqsSource) Next(ctx context.Context) (Batch, error) {
	rctx, cancel := context.WithTimeout(ctx, receiveWait+callTimeout)
	defer cancel()
	ms, err := s.q.Receive(rctx, receiveMax, receiveWait, s.visibility)
	if err != nil {
		return Batch{}, err
	}
	var fresh []awsdest.QueueMessage
	for _, m := range ms {
		if s.seen[m.ID] {
			// Visible again before the end (its re-drive took longer than
			// the visibility timeout): it was dealt with, and is kept
			// under its new receipt handle.
			s.keep(m)
			continue
		}
		s.seen[m.ID] = true
		fresh = append(fresh, m)
	}
	if len(fresh) == 0 {
		return Batch{}, io.EOF
	}
	s.batch = fresh
	b := Batch{Units: len(fresh)}
	for i, m := range fresh {
		b.Found = append(b.Found, unitRecords([]byte(m.Body), "message "+m.ID, i, "message")...)
	}
	return b, nil
}

// keep holds a message to release at the end, under its latest handle.
func (s *sqsSource) keep(m awsdest.QueueMessage) {
	for i := range s.kept {
		if s.kept[i].ID == m.ID {
			s.kept[i] = m
			return
		}
	}
	s.kept = append(s.kept, m)
}

// Settle deletes the messages done and keeps the others.
func (s *sqsSource) Settle(ctx context.Context, b Batch, done []bool) (int, []error) {
	var del []awsdest.QueueMessage
	for i, m := range s.batch {
		if i < len(done) && done[i] {
			del = append(del, m)
		} else {
			s.keep(m)
		}
	}
	if len(del) == 0 {
		return 0, nil
	}
	// Deleted even when the run is interrupted: those were re-driven.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
	defer cancel()
	deleted := 0
	var errs []error
	for i, err := range s.q.Delete(dctx, del) {
		if err != nil {
			errs = append(errs, fmt.Errorf("re-driven, but not deleted (it will be re-driven again by the next run): %w", err))
			s.keep(del[i])
			continue
		}
		deleted++
	}
	return deleted, errs
}

// Close makes the messages kept visible again.
func (s *sqsSource) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return errors.Join(s.q.Release(ctx, s.kept)...)
}
