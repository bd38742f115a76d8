package replay

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lambda-destinations/lambda-destinations/agent/arn"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// Source gives the records of a log, a bucket or a queue, in batches.
type Source interface {
	// Name is the source as --from gave it.
	Name() string
	// Next returns the next batch, and io.EOF after the last.
	Next(ctx context.Context) (Batch, error)
	// Settle is told, for each unit of a batch, whether all it holds was
	// re-driven successfully: a queue deletes those messages. It returns
	// how many it deleted, and what failed.
	Settle(ctx context.Context, b Batch, done []bool) (int, []error)
	// Close ends the reading: a queue shows again, at once, the messages
	// it received and did not delete.
	Close(ctx context.Context) error
}

// Batch is records read together.
type Batch struct {
	Found []Found
	// Units is the number of messages (or objects) the records came from,
	// for a source that settles them: each Found's Unit is below it.
	Units int
}

// From is a parsed --from.
type From struct {
	Kind   string  // "log", "sqs" or "s3"
	Path   string  // log: the file, "-" for standard input
	Queue  arn.ARN // sqs
	Bucket string  // s3
	Prefix string  // s3
}

// ParseFrom reads --from: log:PATH (log:- for standard input),
// sqs:QUEUE_ARN, or s3:BUCKET/PREFIX (s3://BUCKET/PREFIX too).
func ParseFrom(s string) (From, error) {
	kind, rest, _ := strings.Cut(strings.TrimSpace(s), ":")
	switch kind {
	case "log":
		if rest == "" {
			return From{}, fmt.Errorf("--from %q: want log:PATH, or log:- for standard input", s)
		}
		return From{Kind: kind, Path: rest}, nil
	case "sqs":
		t, err := destination.Parse(rest)
		if err == nil && t.Kind != destination.SQS {
			err = fmt.Errorf("%q is not an SQS queue ARN", rest)
		}
		if err != nil {
			return From{}, fmt.Errorf("--from %q: %w (want sqs:arn:aws:sqs:REGION:ACCOUNT:QUEUE)", s, err)
		}
		return From{Kind: kind, Queue: t.ARN}, nil
	case "s3":
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(rest, "//"), "/")
		if _, err := destination.Parse("arn:aws:s3:::" + bucket); err != nil || bucket == "" {
			return From{}, fmt.Errorf("--from %q: no bucket name (want s3:BUCKET/PREFIX)", s)
		}
		return From{Kind: kind, Bucket: bucket, Prefix: prefix}, nil
	}
	return From{}, fmt.Errorf("--from %q: want log:PATH, sqs:QUEUE_ARN or s3:BUCKET/PREFIX", s)
}

// logSource reads a whole log as one batch: the choice between copies of
// a request's record needs them all.
type logSource struct {
	name string
	r    io.Reader
	read bool
}

// OpenLog opens the log at path, or stdin for "-". Closing the file is
// the caller's, through the returned function.
func OpenLog(name, path string, stdin io.Reader) (Source, func() error, error) {
	if path == "-" {
		return &logSource{name: name, r: stdin}, func() error { return nil }, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("log %s: %w", path, err)
	}
	return &logSource{name: name, r: f}, f.Close, nil
}

func (l *logSource) Name() string { return l.name }

func (l *logSource) Next(context.Context) (Batch, error) {
	if l.read {
		return Batch{}, io.EOF
	}
	l.read = true
	var b Batch
	lines, err := ReadLog(l.r, func(f Found) { b.Found = append(b.Found, f) })
	if err != nil {
		return Batch{}, fmt.Errorf("%s: %w", l.name, err)
	}
	if len(b.Found) == 0 {
		return Batch{}, fmt.Errorf("%s: no execution records in %d lines", l.name, lines)
	}
	return b, nil
}

func (l *logSource) Settle(context.Context, Batch, []bool) (int, []error) { return 0, nil }

func (l *logSource) Close(context.Context) error { return nil }
