package awsdest

import (
	"context"
	"net/http"
	"net/url"

	"github.com/lambda-destinations/lambda-destinations/agent/arn"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

type lambdaDest struct {
	common
	name      string // the target's function name
	qualifier string // its version or alias, if any
	own       *bool  // whether the target is in the function's own account and region; nil: not known yet
	client    lazy[*client]
}

// newLambda names the target by name (and qualifier) when it is in the
// function's own account and region, and by ARN otherwise: a name alone
// resolves in the caller's account, and the emulator serves only a name.
// Where the account is not known at start, each record's function ARN says.
func newLambda(c common, self arn.ARN) *lambdaDest {
	a := c.target.ARN
	d := &lambdaDest{common: c, name: a.FunctionName(), qualifier: a.Qualifier()}
	if self.Account != "" && self.Region != "" {
		own := self.SameAccount(a)
		d.own = &own
	}
	return d
}

// sameAccount reports whether the target is in the account and region of
// the function whose record m is.
func (d *lambdaDest) sameAccount(m destination.Message) bool {
	if d.own != nil {
		return *d.own
	}
	fn, err := arn.Parse(m.FunctionARN)
	return err == nil && fn.Account != "" && fn.SameAccount(d.target.ARN)
}

// MaxRecordBytes is the asynchronous invocation payload limit.
func (d *lambdaDest) MaxRecordBytes() int { return LambdaMaxBytes }

func (d *lambdaDest) connect(ctx context.Context) (*client, error) {
	return d.regional(ctx, &d.client, lambdaService, restJSON)
}

// invokeCall is Invoke (REST JSON): POST
// /2015-03-31/functions/NAME/invocations?Qualifier=Q, the payload as the
// body, InvocationType Event. The trace header goes with the request, where
// Lambda reads it: the trace continues, and Lambda's recursive loop
// detection sees the chain.
func (d *lambdaDest) invokeCall(m destination.Message) call {
	const prefix, suffix = "/2015-03-31/functions/", "/invocations"
	name, qualifier := d.target.Raw, ""
	if d.sameAccount(m) {
		name, qualifier = d.name, d.qualifier
	}
	k := call{
		op:      "Invoke",
		method:  http.MethodPost,
		path:    prefix + name + suffix,
		rawPath: prefix + escapePath(name, false) + suffix,
		header: http.Header{
			"Content-Type":          {"application/octet-stream"},
			"X-Amz-Invocation-Type": {"Event"},
		},
		body: m.Record,
	}
	if qualifier != "" {
		k.query = "Qualifier=" + url.QueryEscape(qualifier)
	}
	if m.TraceID != "" {
		k.header["X-Amzn-Trace-Id"] = []string{m.TraceID}
	}
	return k
}

func (d *lambdaDest) Send(ctx context.Context, m destination.Message) error {
	if len(m.Record) > LambdaMaxBytes {
		return tooLargeError(d.target, len(m.Record), LambdaMaxBytes)
	}
	c, err := d.connect(ctx)
	if err != nil {
		return err
	}
	if _, err := c.do(ctx, d.invokeCall(m)); err != nil {
		return wrap(d.target, err)
	}
	return nil
}
