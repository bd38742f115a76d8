// Package arn reads Amazon Resource Names,
// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, and the parts of a Lambda
// function's: arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER].
package arn

import (
	"fmt"
	"strings"
)

// ARN is an Amazon Resource Name split into its parts.
type ARN struct {
	Partition string
	Service   string
	Region    string
	Account   string
	Resource  string
}

// Parse splits s into its parts. It checks the shape that every ARN has
// (six fields, "arn" first, a partition of the aws family); what the
// region, account and resource must be is the service's business.
func Parse(s string) (ARN, error) {
	var a ARN
	head, rest, ok := strings.Cut(s, ":")
	if ok {
		a.Partition, rest, ok = strings.Cut(rest, ":")
	}
	if ok {
		a.Service, rest, ok = strings.Cut(rest, ":")
	}
	if ok {
		a.Region, rest, ok = strings.Cut(rest, ":")
	}
	if ok {
		a.Account, a.Resource, ok = strings.Cut(rest, ":")
	}
	if !ok || head != "arn" {
		return ARN{}, fmt.Errorf("malformed ARN %q: want arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE", s)
	}
	if a.Partition != "aws" && !strings.HasPrefix(a.Partition, "aws-") {
		return ARN{}, fmt.Errorf("malformed ARN %q: unknown partition %q", s, a.Partition)
	}
	return a, nil
}

func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// function splits the resource of a Lambda function ARN; ok is false for
// any other ARN.
func (a ARN) function() (name, qualifier string, ok bool) {
	rest, ok := strings.CutPrefix(a.Resource, "function:")
	if a.Service != "lambda" || !ok {
		return "", "", false
	}
	name, qualifier, _ = strings.Cut(rest, ":")
	return name, qualifier, true
}

// FunctionName is the name of a Lambda function ARN, "" for other ARNs.
func (a ARN) FunctionName() string {
	name, _, _ := a.function()
	return name
}

// Qualifier is the version or alias of a Lambda function ARN, "" when it
// has none or is not a function's.
func (a ARN) Qualifier() string {
	_, qualifier, _ := a.function()
	return qualifier
}

// Unqualified is a Lambda function ARN without its version or alias; any
// other ARN is returned as it is.
func (a ARN) Unqualified() ARN {
	if name, _, ok := a.function(); ok {
		a.Resource = a.Resource[:len("function:")+len(name)]
	}
	return a
}

// SameAccount reports whether a and b are in one account and one region:
// where a Lambda function can be named without its ARN. A region belongs
// to one partition, but the partition is compared too where both have one.
func (a ARN) SameAccount(b ARN) bool {
	return a.Account == b.Account && a.Region == b.Region &&
		(a.Partition == "" || b.Partition == "" || a.Partition == b.Partition)
}
