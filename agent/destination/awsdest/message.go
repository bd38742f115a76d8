package awsdest

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/lambda-destinations/lambda-destinations/agent/arn"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// functionName is the name of the function that produced m, or its
// FunctionARN as it is when that is not a function ARN.
func functionName(m destination.Message) string {
	if m.FunctionName != "" {
		return m.FunctionName
	}
	if a, err := arn.Parse(m.FunctionARN); err == nil && a.FunctionName() != "" {
		return a.FunctionName()
	}
	return m.FunctionARN
}

// dedupID is the FIFO deduplication id of m: the same for the agent's own
// resends of a message, different for each attempt Lambda makes of the
// request. Hex fits the 128 characters of the allowed alphabet.
func dedupID(m destination.Message) string {
	h := sha256.New()
	h.Write([]byte(m.RequestID))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, int64(m.Attempt), 10))
	return hex.EncodeToString(h.Sum(nil))
}
