package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/lambda-destinations/lambda-destinations/agent/config"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/destination/awsdest"
)

// awsDestinations makes the SQS, SNS, EventBridge, Lambda and S3
// destinations. They share one AWS configuration (credentials, endpoints,
// connections), read on first use (or by Warm, off the invocation path),
// never before registration.
type awsDestinations struct {
	cfg     *config.Config
	account string
	log     *slog.Logger
	aws     *awsdest.Config
	used    bool
}

func newAWSDestinations(cfg *config.Config, account string, log *slog.Logger) *awsDestinations {
	return &awsDestinations{cfg: cfg, account: account, log: log, aws: awsdest.NewConfig()}
}

// New makes one destination.
func (a *awsDestinations) New(t destination.Target) (destination.Destination, error) {
	a.used = true
	return awsdest.New(t, awsdest.Options{
		Config:              a.aws,
		Account:             a.account,
		Region:              a.cfg.Region,
		SQSMaxBytes:         a.cfg.SQSMaxBytes,
		EventBridgeMaxBytes: a.cfg.EventBridgeMaxBytes,
		Logger:              a.log,
	})
}

// Overflow makes the claim-check bucket of DESTINATIONS_OVERFLOW_BUCKET.
func (a *awsDestinations) Overflow() (destination.Storer, error) {
	if a.cfg.Overflow == nil {
		return nil, nil
	}
	d, err := a.New(*a.cfg.Overflow)
	if err != nil {
		return nil, &config.Error{Variable: "DESTINATIONS_OVERFLOW_BUCKET", Value: a.cfg.Overflow.Raw, Reason: err.Error()}
	}
	s, ok := d.(destination.Storer)
	if !ok {
		return nil, fmt.Errorf("overflow bucket %s cannot store records", a.cfg.Overflow.Raw)
	}
	return s, nil
}

// Warm reads the AWS configuration and fetches the credentials in the
// background if any AWS destination is configured, so the first delivery
// does not wait for them.
func (a *awsDestinations) Warm(ctx context.Context) {
	if a.used {
		a.aws.Warm(ctx)
	}
}

// functionARN is the function's own unqualified ARN, as far as the
// environment tells it: the account is the one registration gave, if any.
func functionARN(cfg *config.Config, account string) string {
	// The emulator takes NAME:ALIAS there to build the invoked ARN.
	name, _, _ := strings.Cut(cfg.FunctionName, ":")
	return awsdest.FunctionARN(cfg.Region, account, name)
}
