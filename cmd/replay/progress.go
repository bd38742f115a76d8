package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/lambda-destinations/lambda-destinations/replay"
)

// line is one selected record's outcome, for people:
//
//	succeeded       req-1  line 18  arn:aws:lambda:…:function:orders:$LATEST
//	failed-again    req-2  line 21  function orders failed again (Unhandled): OrderError: …
//	skipped         req-3  line 28  redacted: requestPayload redacted (DESTINATIONS_REDACT)
func line(o replay.Outcome) string {
	id := o.RequestID
	if id == "" {
		id = "-"
	}
	s := fmt.Sprintf("%-15s %s  %s", o.Outcome, id, o.Where)
	switch {
	case o.Outcome == replay.OutcomeSkipped:
		return s + "  " + o.Reason + ": " + o.Detail
	case o.Detail != "": // it names the function
		return s + "  " + o.Detail
	}
	return s + "  " + o.Function
}

// lines writes one line per selected record: the output for a pipe, a
// file, or a dry run.
type lines struct{ w io.Writer }

func (l lines) Read(int)        {}
func (l lines) NotSelected(int) {}
func (l lines) Done(o replay.Outcome) {
	fmt.Fprintln(l.w, line(o))
}

// bar draws a progress bar on a terminal, over the records read so far,
// and writes above it the records that failed again or were skipped for
// another reason than being a duplicate.
type bar struct {
	b     *progressbar.ProgressBar
	w     io.Writer
	total int
}

func newBar(w io.Writer) *bar {
	return &bar{w: w, b: progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("re-driving"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("records"),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionFullWidth(),
	)}
}

func (b *bar) Read(n int) {
	b.total += n
	b.b.ChangeMax(b.total)
}

func (b *bar) NotSelected(n int) { _ = b.b.Add(n) }

func (b *bar) Done(o replay.Outcome) {
	if o.Outcome == replay.OutcomeFailedAgain || (o.Outcome == replay.OutcomeSkipped && o.Reason != replay.KindDuplicate) {
		_ = b.b.Clear()
		fmt.Fprintln(b.w, line(o))
	}
	_ = b.b.Add(1)
}

// finish takes the bar off the screen.
func (b *bar) finish() { _ = b.b.Finish() }
