package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination/awsdest"
	"github.com/lambda-destinations/lambda-destinations/replay"
)

const usage = `destinations-replay re-drives the invocations that execution records
describe: it reads the records of lambda-destinations (or of native Lambda
Destinations) and invokes the function again with each one's original event,
its requestPayload.

Usage:
  destinations-replay --from SOURCE [flags]

Sources:
  log:PATH             a function's log (log:- for standard input): sam local or
                       emulator output, sam logs, aws logs tail, a CloudWatch Logs
                       export (gzipped or not), or aws logs filter-log-events
                       --output json
  sqs:QUEUE_ARN        a queue: messages are deleted once re-driven successfully
  s3:BUCKET/PREFIX     a bucket in the native layout (aws/lambda/async/FUNCTION/...)

A record whose event was truncated, left out or redacted is never re-driven:
it is skipped and named. AWS credentials, region and endpoints come from the
standard variables (AWS_ACCESS_KEY_ID..., AWS_REGION, AWS_ENDPOINT_URL_LAMBDA...).
Exit status: 0 when all went well, 1 when a re-drive or the source failed,
2 for bad flags or a source that cannot be read.

Flags:
`

// options are the command's flags, checked.
type options struct {
	from        replay.From
	source      string // --from as given
	filter      replay.Filter
	target      replay.Target
	dryRun      bool
	rate        float64
	concurrency int
	summary     string // --summary PATH
	version     bool
}

// errUsage is a request for help: the usage was printed.
var errUsage = errors.New("usage")

// parseFlags reads and checks the command line; now dates --since 2h.
func parseFlags(args []string, now time.Time, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("destinations-replay", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usage)
		fs.PrintDefaults()
	}
	from := fs.String("from", "", "where the records are: log:PATH, sqs:QUEUE_ARN or s3:BUCKET/PREFIX (required)")
	condition := fs.String("condition", "Failure", "records of this condition: Failure (native RetriesExhausted and EventAgeExceeded too), Success or any")
	errorTypes := fs.String("error-type", "", "comma-separated error types to re-drive; a trailing * matches a prefix (Sandbox.Timedout, Runtime.*)")
	since := fs.String("since", "", "records from this time on: 2024-05-01T12:00:00Z, 2024-05-01, or a duration before now (2h, 7d)")
	until := fs.String("until", "", "records before this time, in the same forms")
	requestIDs := fs.String("request-id", "", "comma-separated request ids to re-drive")
	functionARN := fs.String("function-arn", "", "records of this function (any version or alias unless the ARN has a qualifier)")
	function := fs.String("function", "", "invoke this function (name, NAME:QUALIFIER or ARN) instead of each record's own")
	invocationType := fs.String("invocation-type", awsdest.InvocationEvent, "Event (asynchronous) or RequestResponse (waits for the function, which must succeed)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "list what would be re-driven, and invoke and delete nothing")
	fs.Float64Var(&o.rate, "rate", 0, "re-drives started per second at most (0: no limit)")
	fs.IntVar(&o.concurrency, "concurrency", 1, "re-drives at once")
	fs.StringVar(&o.summary, "summary", "", "also write the summary, as JSON, to this file")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, errUsage
		}
		return o, err
	}
	if o.version {
		return o, nil
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q: every setting is a flag", fs.Args())
	}
	if *from == "" {
		return o, errors.New("--from is required: log:PATH, sqs:QUEUE_ARN or s3:BUCKET/PREFIX")
	}
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	o.source = strings.TrimSpace(*from)
	o.from, err = replay.ParseFrom(o.source)
	check(err)
	o.filter.Condition, err = replay.ParseCondition(*condition)
	check(err)
	o.filter.ErrorTypes = replay.List(*errorTypes)
	if *since != "" {
		o.filter.Since, err = replay.ParseTime("--since", *since, now)
		check(err)
	}
	if *until != "" {
		o.filter.Until, err = replay.ParseTime("--until", *until, now)
		check(err)
	}
	if !o.filter.Since.IsZero() && !o.filter.Until.IsZero() && !o.filter.Since.Before(o.filter.Until) {
		check(fmt.Errorf("--since %s is not before --until %s", *since, *until))
	}
	if ids := replay.List(*requestIDs); len(ids) > 0 {
		o.filter.RequestIDs = map[string]bool{}
		for _, id := range ids {
			o.filter.RequestIDs[id] = true
		}
	}
	if *functionARN != "" {
		o.filter.Function, err = replay.ParseFunctionARN(*functionARN)
		check(err)
	}
	if *function != "" {
		o.target.Function, err = replay.ParseFunction(*function)
		check(err)
	}
	o.target.Type, err = replay.ParseInvocationType(*invocationType)
	check(err)
	if o.rate < 0 {
		check(fmt.Errorf("--rate %v: want 0 (no limit) or more", o.rate))
	}
	if o.concurrency < 1 {
		check(fmt.Errorf("--concurrency %d: want 1 or more", o.concurrency))
	}
	return o, errors.Join(errs...)
}
