package replay

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Outcomes of a selected record.
const (
	OutcomeSucceeded    = "succeeded"
	OutcomeFailedAgain  = "failed-again"
	OutcomeSkipped      = "skipped"
	OutcomeWouldRedrive = "would-re-drive" // in a dry run
)

// Outcome is what became of one selected record.
type Outcome struct {
	RequestID string `json:"requestId,omitempty"`
	Condition string `json:"condition,omitempty"`
	Where     string `json:"where"`
	Outcome   string `json:"outcome"`
	// Function is where it was (or would be) re-driven: the name or ARN,
	// and ":QUALIFIER" when there is one.
	Function string `json:"function,omitempty"`
	// Reason is the kind of a skip (KindTruncated…); Detail the sentence
	// that says why it was skipped, or how the re-drive failed.
	Reason   string `json:"reason,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
}

// Summary is the account of a run, as --summary writes it.
type Summary struct {
	Source         string `json:"source"`
	DryRun         bool   `json:"dryRun"`
	InvocationType string `json:"invocationType"`

	Read         int `json:"read"`     // records found, readable or not
	Selected     int `json:"selected"` // those the filters did not leave out
	Redriven     int `json:"redriven"` // invoked again
	WouldRedrive int `json:"wouldRedrive,omitempty"`
	Succeeded    int `json:"succeeded"`
	FailedAgain  int `json:"failedAgain"`
	Skipped      int `json:"skipped"`
	// SkippedReasons counts the skipped records by Reason kind.
	SkippedReasons map[string]int `json:"skippedReasons"`
	// Deleted counts the messages deleted from a queue.
	Deleted int `json:"deleted,omitempty"`
	// Errors are the failures of the source itself: a message re-driven
	// but not deleted, a listing cut short.
	Errors []string `json:"errors"`
	// Records has one outcome per selected record, in the source's order.
	Records []Outcome `json:"records"`
}

func newSummary(source, invocationType string, dryRun bool) *Summary {
	return &Summary{Source: source, DryRun: dryRun, InvocationType: invocationType,
		SkippedReasons: map[string]int{}, Errors: []string{}, Records: []Outcome{}}
}

func (s *Summary) add(o Outcome) {
	s.Selected++
	switch o.Outcome {
	case OutcomeSucceeded:
		s.Redriven++
		s.Succeeded++
	case OutcomeFailedAgain:
		s.Redriven++
		s.FailedAgain++
	case OutcomeWouldRedrive:
		s.WouldRedrive++
	case OutcomeSkipped:
		s.Skipped++
		s.SkippedReasons[o.Reason]++
	}
	s.Records = append(s.Records, o)
}

// Failed reports a run in which something failed: a re-drive, or the
// source. Skipped records are not failures: each is named.
func (s *Summary) Failed() bool { return s.FailedAgain > 0 || len(s.Errors) > 0 }

// Text is the summary for people, a few lines.
func (s *Summary) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d records read, %d selected\n", s.Source, s.Read, s.Selected)
	if s.DryRun {
		fmt.Fprintf(&b, "dry run: %d would be re-driven (%s), nothing was invoked or deleted\n", s.WouldRedrive, s.InvocationType)
	} else {
		fmt.Fprintf(&b, "re-driven (%s): %d, %d succeeded, %d failed again\n", s.InvocationType, s.Redriven, s.Succeeded, s.FailedAgain)
	}
	if s.Skipped > 0 {
		var kinds []string
		for _, k := range slices.Sorted(maps.Keys(s.SkippedReasons)) {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, s.SkippedReasons[k]))
		}
		fmt.Fprintf(&b, "skipped: %d (%s)\n", s.Skipped, strings.Join(kinds, ", "))
	}
	if s.Deleted > 0 {
		fmt.Fprintf(&b, "messages deleted from the queue: %d\n", s.Deleted)
	}
	for _, e := range s.Errors {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	return b.String()
}
