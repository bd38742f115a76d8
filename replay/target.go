package replay

import (
	"fmt"
	"strings"

	"github.com/lambda-destinations/lambda-destinations/agent/arn"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/destination/awsdest"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
)

// Target says which function a record is re-driven to, and how.
type Target struct {
	// Function is the one function every record goes to (--function):
	// a name, NAME:QUALIFIER, a partial ARN or an ARN. Empty sends each
	// record to the function of its functionArn, with its qualifier.
	Function string
	// Type is awsdest.InvocationEvent or awsdest.InvocationRequestResponse.
	Type string
}

// ParseFunction checks --function.
func ParseFunction(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "arn:") {
		if _, _, err := functionOf(s); err != nil {
			return "", fmt.Errorf("--function: %w", err)
		}
		return s, nil
	}
	if s == "" || strings.ContainsAny(s, "/ \t") {
		return "", fmt.Errorf("--function %q: want a function name, NAME:QUALIFIER, or its ARN", s)
	}
	return s, nil
}

// ParseInvocationType reads --invocation-type, in any case.
func ParseInvocationType(s string) (string, error) {
	for _, t := range []string{awsdest.InvocationEvent, awsdest.InvocationRequestResponse} {
		if strings.EqualFold(strings.TrimSpace(s), t) {
			return t, nil
		}
	}
	return "", fmt.Errorf("--invocation-type %q: want Event or RequestResponse", s)
}

// invocation is how the record is re-driven with event.
func (t Target) invocation(r record.Record, event []byte) (awsdest.Invocation, error) {
	name := t.Function
	if name == "" {
		name = r.RequestContext.FunctionARN
	}
	in := awsdest.Invocation{Function: name, Type: t.Type, Payload: event}
	if strings.HasPrefix(name, "arn:") {
		fn, qualifier, err := functionOf(name)
		if err != nil {
			return awsdest.Invocation{}, fmt.Errorf("functionArn: %w", err)
		}
		in.Function, in.Qualifier = fn, qualifier
	}
	return in, nil
}

// functionOf splits a Lambda function ARN into the unqualified ARN and its
// qualifier.
func functionOf(s string) (string, string, error) {
	a, err := lambdaARN(s)
	if err != nil {
		return "", "", err
	}
	return a.Unqualified().String(), a.Qualifier(), nil
}

// lambdaARN reads a Lambda function ARN with the layer's own check.
func lambdaARN(s string) (arn.ARN, error) {
	t, err := destination.Parse(s)
	if err == nil && t.Kind != destination.Lambda {
		err = fmt.Errorf("%q is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])", s)
	}
	return t.ARN, err
}
