// Package awsdest delivers records to AWS services: SQS, SNS, EventBridge,
// Lambda and S3.
//
// It speaks each service's wire protocol itself, on the SDK's core only
// (credentials, SigV4 signing): the SDK's service clients and its
// configuration loader would triple the size of the extension and add
// milliseconds of package initialisation to every cold start. Requests
// are those the SDK sends (the tests compare them), to the endpoints its
// rules resolve, with the credentials and endpoint variables of its
// environment chain: AWS_ACCESS_KEY_ID…, AWS_CONTAINER_CREDENTIALS_*,
// AWS_REGION, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>,
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, AWS_USE_FIPS_ENDPOINT and
// AWS_USE_DUALSTACK_ENDPOINT. Profiles, web identity and the instance
// metadata service are not supported.
//
// The environment is read once, on Warm or on the first send: creating
// destinations does no I/O and keeps it off the start-up path.
package awsdest
