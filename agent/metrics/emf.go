package metrics

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/record"
)

// Limits are the bounds of the Embedded Metric Format that Encode keeps.
type Limits struct {
	MaxMetrics    int // metric definitions in one directive
	MaxValues     int // values of one metric in one document
	MaxDimensions int // keys in one dimension set
	MaxBytes      int // bytes in one document
}

// Spec holds the limits of the EMF specification.
var Spec = Limits{MaxMetrics: 100, MaxValues: 100, MaxDimensions: 30, MaxBytes: 1 << 20}

// Unit is a CloudWatch unit.
type Unit string

const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
)

// Dimension is a dimension's key and value, as the document's root holds it.
type Dimension struct{ Key, Value string }

// Metric is one metric and its values over a flush.
type Metric struct {
	Name   string
	Unit   Unit
	Values []float64
}

// Group is metrics published under the same dimension sets, each set a list
// of the batch's dimension keys.
type Group struct {
	Dimensions [][]string
	Metrics    []Metric
}

// Batch is what one document would hold if there were no limits: the
// dimension values, and the metrics by the dimension sets they go under.
type Batch struct {
	Dimensions []Dimension
	Groups     []Group
}

// Encode writes a batch as EMF documents, one unless a limit requires more:
// a metric with more values than a document takes continues in the next
// document, and metrics that do not fit in a document's bytes go to another.
// Every document has the batch's dimension values and the timestamp at.
func Encode(namespace string, at time.Time, b Batch, l Limits) ([][]byte, error) {
	if err := b.check(namespace, l); err != nil {
		return nil, err
	}
	p := packer{limits: l, namespace: namespace, batch: b}
	p.scratch = appendDimensions(appendHead(p.scratch, at), b.Dimensions)
	p.base = len(p.scratch) + len("]}") + len("}")
	for round := 0; ; round++ {
		more := false
		for g, group := range b.Groups {
			for _, m := range group.Metrics {
				lo := round * l.MaxValues
				if lo >= len(m.Values) {
					continue
				}
				more = true
				part := m
				part.Values = m.Values[lo:min(lo+l.MaxValues, len(m.Values))]
				if err := p.add(g, part); err != nil {
					return nil, err
				}
			}
		}
		if !more {
			break
		}
		// A metric appears once in a document: its next values go in the next one.
		p.close()
	}
	return p.render(at), nil
}

// check finds what no split can mend.
func (b Batch) check(namespace string, l Limits) error {
	if namespace == "" {
		return errors.New("metrics: no namespace")
	}
	keys := map[string]bool{"_aws": true}
	for _, d := range b.Dimensions {
		if keys[d.Key] {
			return fmt.Errorf("metrics: dimension %q given twice", d.Key)
		}
		keys[d.Key] = true
	}
	names := map[string]bool{}
	for _, g := range b.Groups {
		for _, set := range g.Dimensions {
			if len(set) > l.MaxDimensions {
				return fmt.Errorf("metrics: a dimension set of %d keys, over the limit of %d", len(set), l.MaxDimensions)
			}
			for _, k := range set {
				if !keys[k] || k == "_aws" {
					return fmt.Errorf("metrics: dimension %q has no value", k)
				}
			}
		}
		for _, m := range g.Metrics {
			if keys[m.Name] || names[m.Name] {
				return fmt.Errorf("metrics: metric %q is named as a dimension or another metric", m.Name)
			}
			names[m.Name] = true
			for _, v := range m.Values {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("metrics: metric %q has a value JSON cannot hold: %v", m.Name, v)
				}
			}
		}
	}
	return nil
}

// directive is one entry of CloudWatchMetrics in a document being packed.
type directive struct {
	group   int
	metrics []Metric
}

// doc is a document being packed: its directives, in order, and its size.
type doc struct {
	directives []directive
	size       int
}

// packer fills documents in order, opening a new one when the next metric
// would make the current one too large.
type packer struct {
	limits    Limits
	namespace string
	batch     Batch
	base      int // bytes of a document with no metrics
	docs      []doc
	open      bool   // the last of docs takes more metrics
	scratch   []byte // where sizes are measured
}

func (p *packer) add(group int, m Metric) error {
	if !p.open {
		p.docs, p.open = append(p.docs, doc{size: p.base}), true
	}
	d := &p.docs[len(p.docs)-1]
	grow := p.growth(d, group, m)
	if d.size+grow > p.limits.MaxBytes {
		if len(d.directives) == 0 {
			return fmt.Errorf("metrics: metric %q alone makes a document of more than %d bytes", m.Name, p.limits.MaxBytes)
		}
		p.close()
		return p.add(group, m)
	}
	d.size += grow
	if i := len(d.directives) - 1; i >= 0 && d.directives[i].group == group && len(d.directives[i].metrics) < p.limits.MaxMetrics {
		d.directives[i].metrics = append(d.directives[i].metrics, m)
		return nil
	}
	ms := make([]Metric, 1, min(len(p.batch.Groups[group].Metrics), p.limits.MaxMetrics))
	ms[0] = m
	d.directives = append(d.directives, directive{group: group, metrics: ms})
	return nil
}

func (p *packer) close() { p.open = false }

// growth is how many bytes m adds to d: its definition, its values, and a
// directive when it needs a new one.
func (p *packer) growth(d *doc, group int, m Metric) int {
	p.scratch = appendMember(appendDefinition(p.scratch[:0], m), m)
	n := len(p.scratch) + 1 // the member's comma
	i := len(d.directives) - 1
	if i >= 0 && d.directives[i].group == group && len(d.directives[i].metrics) < p.limits.MaxMetrics {
		return n + 1 // the definition's comma
	}
	p.scratch = appendDirective(p.scratch[:0], p.namespace, p.batch.Groups[group].Dimensions, nil)
	n += len(p.scratch)
	if i >= 0 {
		n++ // the directive's comma
	}
	return n
}

func (p *packer) render(at time.Time) [][]byte {
	out := make([][]byte, 0, len(p.docs))
	for _, d := range p.docs {
		if len(d.directives) == 0 {
			continue
		}
		b := make([]byte, 0, d.size)
		b = appendHead(b, at)
		for i, dir := range d.directives {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendDirective(b, p.namespace, p.batch.Groups[dir.group].Dimensions, dir.metrics)
		}
		b = append(b, "]}"...)
		b = appendDimensions(b, p.batch.Dimensions)
		for _, dir := range d.directives {
			for _, m := range dir.metrics {
				b = append(b, ',')
				b = appendMember(b, m)
			}
		}
		out = append(out, append(b, '}'))
	}
	return out
}

func appendHead(b []byte, at time.Time) []byte {
	b = append(b, `{"_aws":{"Timestamp":`...)
	b = strconv.AppendInt(b, at.UnixMilli(), 10)
	return append(b, `,"CloudWatchMetrics":[`...)
}

func appendDirective(b []byte, namespace string, sets [][]string, ms []Metric) []byte {
	b = append(b, `{"Namespace":`...)
	b = record.AppendString(b, namespace)
	b = append(b, `,"Dimensions":[`...)
	for i, set := range sets {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, k := range set {
			if j > 0 {
				b = append(b, ',')
			}
			b = record.AppendString(b, k)
		}
		b = append(b, ']')
	}
	b = append(b, `],"Metrics":[`...)
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendDefinition(b, m)
	}
	return append(b, "]}"...)
}

func appendDefinition(b []byte, m Metric) []byte {
	b = append(b, `{"Name":`...)
	b = record.AppendString(b, m.Name)
	b = append(b, `,"Unit":`...)
	b = record.AppendString(b, string(m.Unit))
	return append(b, '}')
}

func appendDimensions(b []byte, dims []Dimension) []byte {
	for _, d := range dims {
		b = append(b, ',')
		b = record.AppendString(b, d.Key)
		b = append(b, ':')
		b = record.AppendString(b, d.Value)
	}
	return b
}

// appendMember writes a metric's values in the root: a number, or an array
// of them.
func appendMember(b []byte, m Metric) []byte {
	b = record.AppendString(b, m.Name)
	b = append(b, ':')
	if len(m.Values) == 1 {
		return strconv.AppendFloat(b, m.Values[0], 'f', -1, 64)
	}
	b = append(b, '[')
	for i, v := range m.Values {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	return append(b, ']')
}
