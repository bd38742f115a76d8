// Package destination parses destination strings and defines what a
// destination is. Implementations live in the subpackages.
package destination

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/lambda-destinations/lambda-destinations/agent/arn"
)

// Kind is the type of target a destination string names.
type Kind string

const (
	Stdout      Kind = "stdout"
	Webhook     Kind = "webhook"
	SQS         Kind = "sqs"
	SNS         Kind = "sns"
	EventBridge Kind = "events"
	Lambda      Kind = "lambda"
	S3          Kind = "s3"
)

// Target is a parsed destination string.
type Target struct {
	Raw  string // as configured; used in logs
	Kind Kind
	ARN  arn.ARN // for the AWS kinds
	URL  string  // for webhooks
}

// Name is the destination as logs and errors show it: a webhook's path and
// query are left out, for they often hold its secret (a Slack or Teams
// webhook is a URL that anyone who knows it can post to).
func (t Target) Name() string {
	if t.Kind != Webhook {
		return t.Raw
	}
	return RedactURL(t.URL)
}

// RedactURL keeps a URL's scheme and host, and marks what it leaves out:
// user information, path, query and fragment. The URL need not be well
// formed, so that a malformed one is redacted too.
func RedactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || strings.ContainsAny(scheme, "/?#") { // a "://" in the path is not a scheme's
		scheme, rest, ok = "", raw, false
	}
	host, more := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, more = rest[:i], rest[i:]
	}
	cut := more != "" && more != "/"
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host, cut = host[i+1:], true
	}
	if ok {
		host = scheme + "://" + host
	}
	if cut {
		host += "/…"
	}
	return host
}

// Redact is a destination string as messages may show it: ARNs and stdout
// whole, anything else as a URL, which RedactURL shortens.
func Redact(s string) string {
	if s == string(Stdout) || strings.HasPrefix(s, "arn:") {
		return s
	}
	return RedactURL(s)
}

// Message is what is handed to a destination: the serialised record and
// the facts some targets put beside it (attributes, group ids, headers).
type Message struct {
	Record       []byte
	Condition    string // "Success" or "Failure"
	RequestID    string
	FunctionARN  string // qualified, as in the record
	FunctionName string // "": the name in FunctionARN
	TraceID      string
	Attempt      int
}

// Destination delivers messages to one target.
type Destination interface {
	// Send delivers one message; the error says why it was not delivered.
	Send(ctx context.Context, m Message) error
}

// Batcher is implemented by destinations that can deliver several messages
// in one request (SQS, SNS, EventBridge).
type Batcher interface {
	// SendBatch returns one error per message, nil for those delivered;
	// only the failed ones need sending again.
	SendBatch(ctx context.Context, ms []Message) []error
	// MaxBatch is the most messages one request takes.
	MaxBatch() int
}

// Sizer is implemented by destinations whose service limits a message's size.
type Sizer interface {
	// MaxRecordBytes is the largest record the destination can deliver.
	MaxRecordBytes() int
}

// Storer is implemented by destinations that can keep a whole record and
// say where (S3), for records too large for other destinations.
type Storer interface {
	// Store keeps the record and returns its location, s3://BUCKET/KEY.
	Store(ctx context.Context, m Message) (string, error)
}

// ErrTooLarge marks a record that a destination refused, or would refuse,
// for its size. Errors wrapping it are permanent too.
var ErrTooLarge = errors.New("record too large")

// ErrPermanent marks an error that retrying cannot fix (a 4xx other than
// throttling, access denied, a missing resource).
var ErrPermanent = errors.New("permanent")

// Parse reads one destination string. The error names what is wrong with it.
func Parse(s string) (Target, error) {
	s = strings.TrimSpace(s)
	t := Target{Raw: s}
	switch {
	case s == "":
		return t, errors.New("empty destination")
	case strings.EqualFold(s, string(Stdout)):
		t.Kind, t.Raw = Stdout, string(Stdout)
		return t, nil
	case strings.HasPrefix(s, "https://"), strings.HasPrefix(s, "http://"):
		return parseWebhook(t)
	case strings.HasPrefix(s, "arn:"):
		return parseARN(t)
	}
	return t, fmt.Errorf("unknown destination %q: want an SQS, SNS, EventBridge bus, Lambda or S3 ARN, an http(s):// URL or stdout", Redact(s))
}

// parseWebhook checks a webhook URL. Its errors show the URL redacted: the
// path of a webhook is often its secret.
func parseWebhook(t Target) (Target, error) {
	name := RedactURL(t.Raw)
	u, err := url.Parse(t.Raw)
	if err != nil {
		return t, fmt.Errorf("malformed webhook URL %q: %s", name, urlProblem(err))
	}
	if u.Host == "" || u.Hostname() == "" {
		return t, fmt.Errorf("webhook %q has no host", name)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return t, fmt.Errorf("webhook %q: port %s is not a port number (1-65535)", name, p)
		}
	}
	t.Kind, t.URL = Webhook, t.Raw
	return t, nil
}

// urlProblem is what url.Parse found wrong, without the URL it repeats.
// An invalid escape is named only: its text may be part of the path.
func urlProblem(err error) string {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err.Error()
	}
	var ee url.EscapeError
	if errors.As(ue.Err, &ee) {
		return "invalid %-escape"
	}
	return ue.Err.Error()
}

func parseARN(t Target) (Target, error) {
	s := t.Raw
	a, err := arn.Parse(s)
	if err != nil {
		return t, err
	}
	t.ARN = a
	regional := func(kind Kind) (Target, error) {
		if a.Region == "" || !isAccount(a.Account) {
			return t, fmt.Errorf("malformed %s ARN %q: want a region and a 12-digit account", a.Service, s)
		}
		if a.Resource == "" {
			return t, fmt.Errorf("malformed %s ARN %q: no resource name", a.Service, s)
		}
		t.Kind = kind
		return t, nil
	}
	switch a.Service {
	case "sqs":
		if strings.Contains(a.Resource, ":") || strings.Contains(a.Resource, "/") {
			return t, fmt.Errorf("malformed sqs ARN %q: want arn:aws:sqs:REGION:ACCOUNT:QUEUE", s)
		}
		return regional(SQS)
	case "sns":
		if strings.Contains(a.Resource, ":") || strings.Contains(a.Resource, "/") {
			return t, fmt.Errorf("malformed sns ARN %q: want arn:aws:sns:REGION:ACCOUNT:TOPIC", s)
		}
		return regional(SNS)
	case "events":
		name, ok := strings.CutPrefix(a.Resource, "event-bus/")
		if !ok || name == "" || strings.Contains(name, "/") {
			return t, fmt.Errorf("malformed events ARN %q: want arn:aws:events:REGION:ACCOUNT:event-bus/NAME", s)
		}
		return regional(EventBridge)
	case "lambda":
		name, qualifier := a.FunctionName(), a.Qualifier()
		if name == "" || strings.Contains(qualifier, ":") || strings.HasSuffix(a.Resource, ":") {
			return t, fmt.Errorf("malformed lambda ARN %q: want arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]", s)
		}
		return regional(Lambda)
	case "s3":
		if a.Region != "" || a.Account != "" || a.Resource == "" || strings.Contains(a.Resource, "/") {
			return t, fmt.Errorf("malformed s3 ARN %q: want arn:aws:s3:::BUCKET", s)
		}
		t.Kind = S3
		return t, nil
	}
	return t, fmt.Errorf("unsupported ARN %q: service %q is not one of sqs, sns, events, lambda, s3", s, a.Service)
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
