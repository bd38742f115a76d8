package bench

import (
	"math"
	"slices"
	"time"
)

// Summary describes a sample of durations, in milliseconds.
type Summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	P99    float64 `json:"p99"`
	Max    float64 `json:"max"`
	Min    float64 `json:"min"`
	Mean   float64 `json:"mean"`
}

// Summarize returns the summary of ds; nil when ds is empty.
func Summarize(ds []time.Duration) *Summary {
	if len(ds) == 0 {
		return nil
	}
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	return SummarizeMs(ms)
}

// SummarizeMs returns the summary of values in milliseconds; nil when empty.
func SummarizeMs(ms []float64) *Summary {
	if len(ms) == 0 {
		return nil
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	return &Summary{
		N:      len(s),
		Median: median(s),
		P90:    Quantile(s, 0.90),
		P99:    Quantile(s, 0.99),
		Max:    s[len(s)-1],
		Min:    s[0],
		Mean:   sum / float64(len(s)),
	}
}

// Quantile is the nearest-rank q-quantile of sorted (0 < q ≤ 1): the
// smallest value at least a fraction q of the sample is not above.
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
