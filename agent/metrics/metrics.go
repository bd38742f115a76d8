// Package metrics counts what becomes of records, destination by
// destination, and writes the counts as CloudWatch Embedded Metric Format
// (EMF) documents: JSON lines on the function's log that CloudWatch turns
// into metrics, with no API call. It does no I/O.
package metrics

import (
	"errors"
	"strings"
	"time"
)

// DefaultNamespace is the namespace of the metrics unless
// DESTINATIONS_METRICS_NAMESPACE says otherwise.
const DefaultNamespace = "LambdaDestinations"

// The dimensions.
const (
	FunctionName = "FunctionName"
	Destination  = "Destination"
)

// The metrics, per destination but for RecordsSampledOut, per function.
const (
	RecordsDelivered  = "RecordsDelivered"
	DeliveryFailures  = "DeliveryFailures" // what native DestinationDeliveryFailures counts
	DeliveryRetries   = "DeliveryRetries"
	RecordsToLog      = "RecordsToLog"
	RecordsOversize   = "RecordsOversize"
	DeliveryLatency   = "DeliveryLatency"
	RecordsSampledOut = "RecordsSampledOut"
)

// Format makes the documents of one function.
type Format struct {
	Namespace string
	Function  string // the FunctionName dimension
}

// Documents are the EMF documents of a tally, stamped at: one per
// destination that had work, as a document holds one value of each
// dimension, and more only where a limit of the format requires it. The
// function's own metric goes in the first.
func (f Format) Documents(t Tally, at time.Time) ([][]byte, error) {
	function := Dimension{FunctionName, DimensionValue(f.Function)}
	var sampled []Group
	if t.SampledOut > 0 {
		sampled = []Group{{
			Dimensions: perFunction,
			Metrics:    []Metric{{Name: RecordsSampledOut, Unit: Count, Values: []float64{float64(t.SampledOut)}}},
		}}
	}
	var batches []Batch
	for _, d := range t.Destinations {
		batches = append(batches, Batch{
			Dimensions: []Dimension{function, {Destination, DimensionValue(d.Name)}},
			Groups:     append(d.groups(), sampled...),
		})
		sampled = nil
	}
	if sampled != nil {
		batches = append(batches, Batch{Dimensions: []Dimension{function}, Groups: sampled})
	}
	var docs [][]byte
	for _, b := range batches {
		out, err := Encode(f.Namespace, at, b, Spec)
		if err != nil {
			return nil, err
		}
		docs = append(docs, out...)
	}
	return docs, nil
}

// groups are a destination's metrics. Its counts are all given, zeros too,
// so that an alarm sees a flush without failures as one. DeliveryFailures
// also goes under the function alone: one alarm then watches every
// destination of a function.
func (d DestinationTally) groups() []Group {
	counts := []float64{float64(d.Delivered), float64(d.Retries), float64(d.ToLog), float64(d.Oversize), float64(d.Failures)}
	count := func(name string, i int) Metric { return Metric{Name: name, Unit: Count, Values: counts[i : i+1]} }
	per := make([]Metric, 4, 5)
	per[0], per[1], per[2], per[3] = count(RecordsDelivered, 0), count(DeliveryRetries, 1), count(RecordsToLog, 2), count(RecordsOversize, 3)
	if len(d.Latency) > 0 {
		per = append(per, Metric{Name: DeliveryLatency, Unit: Milliseconds, Values: d.Latency})
	}
	return []Group{
		{Dimensions: perDestination, Metrics: per},
		{Dimensions: failures, Metrics: []Metric{count(DeliveryFailures, 4)}},
	}
}

// The dimension sets of the metrics.
var (
	perDestination = [][]string{{FunctionName, Destination}}
	failures       = [][]string{{FunctionName, Destination}, {FunctionName}}
	perFunction    = [][]string{{FunctionName}}
)

// DimensionValue makes s a value CloudWatch takes for a dimension: printable
// ASCII, from 1 to 1024 bytes. The "…" that marks a webhook's path left out
// becomes "...", anything else outside ASCII "?".
func DimensionValue(s string) string {
	const maxLen = 1024
	if len(s) <= maxLen && strings.TrimSpace(s) != "" && printable(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '…':
			b.WriteString("...")
		case r < 0x20 || r > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	v := b.String()
	if strings.TrimSpace(v) == "" {
		return "unknown"
	}
	return v[:min(len(v), maxLen)]
}

// CheckNamespace says what is wrong with a namespace CloudWatch would refuse.
func CheckNamespace(ns string) error {
	switch {
	case ns == "", strings.TrimSpace(ns) == "":
		return errors.New("empty")
	case len(ns) > 255:
		return errors.New("longer than 255 characters")
	case strings.HasPrefix(ns, "AWS/"):
		return errors.New("AWS/ is reserved for the namespaces of AWS services")
	}
	for _, r := range ns {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune(".-_/#: ", r)) {
			return errors.New("want letters, digits, spaces and . - _ / # : only")
		}
	}
	return nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
