// Package route decides, without any I/O, which destinations a completed
// invocation's record goes to.
package route

import (
	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
)

// Router holds the destinations of each condition, as indexes into the
// agent's list of destinations.
type Router struct {
	Success []int
	Failure []int
}

// Route returns the record's condition and the destinations it goes to.
func (r Router) Route(inv invocation.Invocation) (condition string, dests []int) {
	if inv.Outcome.Failed() {
		return record.ConditionFailure, r.Failure
	}
	return record.ConditionSuccess, r.Success
}
