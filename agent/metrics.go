package agent

import (
	"context"
	"time"
)

// writeMetrics writes the EMF documents of what became of records since
// the last ones, on the log, after the records of a flush. They take the
// same budget: when ctx has ended, they wait for the next flush, counted
// with what it does. A document the log does not take is lost, and the
// extension's own log says so with the document.
func (a *Agent) writeMetrics(ctx context.Context) {
	if a.metrics == nil || ctx.Err() != nil {
		return
	}
	tally := a.metrics.Take()
	if tally.Empty() {
		return
	}
	docs, err := a.emf.Documents(tally, time.Now())
	if err != nil {
		a.log.Error("cannot make the metrics documents: these metrics are lost", "tally", tally, "error", err)
		return
	}
	for i, doc := range docs {
		if err := a.lines.Document(doc); err != nil {
			for _, lost := range docs[i:] {
				a.log.Error("cannot write metrics to the log: this document is lost", "document", string(lost), "error", err)
			}
			return
		}
	}
}
