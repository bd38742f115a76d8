package awsdest

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

type lambdaDest struct {
	common
	functionName string  // the name, or the whole ARN
	qualifier    *string // with the name only
	client       lazy[*lambda.Client]
}

// newLambda names the target by name (and qualifier) when it is in the
// function's own account and region, and by ARN otherwise: a name alone
// resolves in the caller's account, and the emulator serves only a name.
func newLambda(c common, s self) *lambdaDest {
	a := c.target.ARN
	d := &lambdaDest{common: c, functionName: c.target.Raw}
	if s.account == a.Account && s.region == a.Region && (s.partition == "" || s.partition == a.Partition) {
		name, qualifier, _ := strings.Cut(strings.TrimPrefix(a.Resource, "function:"), ":")
		d.functionName = name
		if qualifier != "" {
			d.qualifier = aws.String(qualifier)
		}
	}
	return d
}

// MaxRecordBytes is the asynchronous invocation payload limit.
func (d *lambdaDest) MaxRecordBytes() int { return LambdaMaxBytes }

func (d *lambdaDest) connect(ctx context.Context) (*lambda.Client, error) {
	client, err := d.client.get(ctx, d.conf, func(cfg aws.Config) (*lambda.Client, error) {
		return lambda.NewFromConfig(cfg, func(o *lambda.Options) {
			o.Region = d.target.ARN.Region
			if d.http != nil {
				o.HTTPClient = d.http
			}
		}), nil
	})
	if err != nil {
		return nil, d.named(err)
	}
	return client, nil
}

func (d *lambdaDest) invokeInput(m destination.Message) *lambda.InvokeInput {
	return &lambda.InvokeInput{
		FunctionName:   aws.String(d.functionName),
		Qualifier:      d.qualifier,
		InvocationType: types.InvocationTypeEvent,
		Payload:        m.Record,
	}
}

func (d *lambdaDest) Send(ctx context.Context, m destination.Message) error {
	if len(m.Record) > LambdaMaxBytes {
		return tooLargeError(d.target, len(m.Record), LambdaMaxBytes)
	}
	client, err := d.connect(ctx)
	if err != nil {
		return err
	}
	var optFns []func(*lambda.Options)
	if m.TraceID != "" {
		optFns = append(optFns, func(o *lambda.Options) { o.APIOptions = append(o.APIOptions, traceHeader(m.TraceID)) })
	}
	if _, err := client.Invoke(ctx, d.invokeInput(m), optFns...); err != nil {
		return wrap(d.target, err)
	}
	return nil
}
