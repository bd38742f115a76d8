// Command destinations-replay re-drives failed invocations from the
// execution records lambda-destinations (or native Lambda Destinations)
// wrote to a log, an SQS queue or an S3 bucket: each selected record's
// function is invoked again with the record's requestPayload.
//
//	destinations-replay --from sqs:arn:aws:sqs:eu-west-1:123456789012:failures --dry-run
//
// `make release` builds it as destinations-replay; `go install
// …/cmd/replay@latest` installs it as replay.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/lambda-destinations/lambda-destinations/agent/destination/awsdest"
	"github.com/lambda-destinations/lambda-destinations/replay"
)

// version is set at build time (-ldflags "-X main.version=…").
var version = "dev"

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1 // a re-drive failed again, or the source did
	exitUsage  = 2 // bad flags, or a source that cannot be read
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second interrupt ends the command at once
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, isTerminal(os.Stdout)))
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// run is the command, with its streams; terminal says stdout is one.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, terminal bool) int {
	o, err := parseFlags(args, time.Now(), stderr)
	switch {
	case errors.Is(err, errUsage):
		return exitOK
	case err != nil:
		fmt.Fprintln(stderr, "destinations-replay:", err)
		fmt.Fprintln(stderr, "run destinations-replay --help for the flags")
		return exitUsage
	case o.version:
		fmt.Fprintln(stdout, "destinations-replay", version)
		return exitOK
	}

	conf := awsdest.NewConfig()
	if !o.dryRun {
		// Credentials, region and endpoints are checked before anything
		// is read, not found missing at every record.
		if _, err := conf.Load(ctx); err != nil {
			fmt.Fprintln(stderr, "destinations-replay:", err)
			return exitUsage
		}
	}
	src, closeSrc, err := openSource(ctx, o, conf, stdin)
	if err != nil {
		fmt.Fprintln(stderr, "destinations-replay:", err)
		return exitUsage
	}
	defer closeSrc()

	r := &replay.Runner{
		Filter:      o.filter,
		Target:      o.target,
		DryRun:      o.dryRun,
		Rate:        o.rate,
		Concurrency: o.concurrency,
		Invoker:     awsdest.NewInvoker(conf),
		Fetch: replay.S3Fetcher(func(bucket string) replay.Bucket {
			return awsdest.OpenBucket(conf, bucket)
		}),
	}
	var b *bar
	if terminal && !o.dryRun {
		b = newBar(stdout)
		r.Observer = b
	} else {
		r.Observer = lines{stdout}
	}
	s, err := r.Run(ctx, src)
	if b != nil {
		b.finish()
	}
	if err != nil {
		fmt.Fprintln(stderr, "destinations-replay:", err)
		return exitUsage
	}
	fmt.Fprint(stdout, s.Text())
	status := exitOK
	if s.Failed() {
		status = exitFailed
	}
	if o.summary != "" {
		if err := writeSummary(o.summary, s); err != nil {
			fmt.Fprintln(stderr, "destinations-replay:", err)
			status = exitFailed
		}
	}
	return status
}

// openSource opens --from: a log file (or stdin), a queue, whose URL is
// looked up first so that a queue that does not exist or cannot be read
// is said at once, or a bucket.
func openSource(ctx context.Context, o options, conf *awsdest.Config, stdin io.Reader) (replay.Source, func() error, error) {
	none := func() error { return nil }
	switch o.from.Kind {
	case "log":
		return replay.OpenLog(o.source, o.from.Path, stdin)
	case "sqs":
		q, err := awsdest.OpenQueue(ctx, conf, o.from.Queue)
		if err != nil {
			return nil, nil, err
		}
		return replay.SQSSource(o.source, q, o.target.Type, o.rate), none, nil
	}
	return replay.S3Source(o.source, awsdest.OpenBucket(conf, o.from.Bucket), o.from.Bucket, o.from.Prefix), none, nil
}

func writeSummary(path string, s *replay.Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the summary: %w", err)
	}
	return nil
}
