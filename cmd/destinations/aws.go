package main

import (
	"github.com/lambda-destinations/lambda-destinations/agent/config"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// awsDestinations makes the SQS, SNS, EventBridge, Lambda and S3 destinations.
func awsDestinations(cfg *config.Config) func(destination.Target) (destination.Destination, error) {
	return nil
}
