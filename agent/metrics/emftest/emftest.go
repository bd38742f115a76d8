// Package emftest reads CloudWatch Embedded Metric Format documents for
// tests, with a strict reading of the specification
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)
// and of what CloudWatch accepts in names and dimension values. It is
// written apart from the encoder it checks, and shares no code with it.
package emftest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The specification's limits.
const (
	MaxBytes      = 1 << 20 // a document
	MaxMetrics    = 100     // definitions in a directive
	MaxValues     = 100     // values of a metric
	MaxDimensions = 30      // keys in a dimension set
)

// Units are those CloudWatch knows.
var Units = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
	"Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
	"Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
	"Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"}

// Document is a document that passed Parse.
type Document struct {
	Timestamp  time.Time
	Directives []Directive
	Dimensions map[string]string    // the root's dimension values
	Values     map[string][]float64 // the root's metric values, a single number as one value
	Size       int
}

// Directive is one entry of CloudWatchMetrics.
type Directive struct {
	Namespace  string
	Dimensions [][]string
	Metrics    []Definition
}

// Definition is one metric of a directive.
type Definition struct{ Name, Unit string }

// Unit is the unit a metric is given in its directives, "" if none gives it.
func (d Document) Unit(metric string) string {
	for _, dir := range d.Directives {
		for _, m := range dir.Metrics {
			if m.Name == metric {
				return m.Unit
			}
		}
	}
	return ""
}

// Sets are the dimension sets a metric is published under.
func (d Document) Sets(metric string) [][]string {
	var sets [][]string
	for _, dir := range d.Directives {
		if slices.ContainsFunc(dir.Metrics, func(m Definition) bool { return m.Name == metric }) {
			sets = append(sets, dir.Dimensions...)
		}
	}
	return sets
}

// Lines parses every line of output that mentions "_aws" as a document:
// one that is not a valid document whole on its line is an error.
func Lines(output string) ([]Document, []error) {
	var docs []Document
	var errs []error
	for line := range strings.Lines(output) {
		line = strings.TrimSuffix(line, "\n")
		if !strings.Contains(line, `"_aws"`) {
			continue
		}
		d, err := Parse([]byte(line))
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %.300s", err, line))
			continue
		}
		docs = append(docs, d)
	}
	return docs, errs
}

// Parse checks one document strictly and returns what it holds.
func Parse(b []byte) (Document, error) {
	d := Document{Size: len(b), Dimensions: map[string]string{}, Values: map[string][]float64{}}
	if len(b) > MaxBytes {
		return d, fmt.Errorf("document of %d bytes, over %d", len(b), MaxBytes)
	}
	if err := noDuplicateKeys(b); err != nil {
		return d, err
	}
	var root map[string]json.RawMessage
	if err := strictUnmarshal(b, &root); err != nil {
		return d, fmt.Errorf("not a JSON object: %w", err)
	}
	var meta struct {
		Timestamp         json.RawMessage   `json:"Timestamp"`
		CloudWatchMetrics []json.RawMessage `json:"CloudWatchMetrics"`
	}
	raw, ok := root["_aws"]
	if !ok {
		return d, errors.New("no _aws")
	}
	if err := strictUnmarshal(raw, &meta); err != nil {
		return d, fmt.Errorf("_aws: %w", err)
	}
	ts, err := timestamp(meta.Timestamp)
	if err != nil {
		return d, err
	}
	d.Timestamp = ts
	if len(meta.CloudWatchMetrics) == 0 {
		return d, errors.New("_aws.CloudWatchMetrics is missing or empty")
	}
	for i, rawDir := range meta.CloudWatchMetrics {
		dir, err := directive(rawDir, root, &d)
		if err != nil {
			return d, fmt.Errorf("_aws.CloudWatchMetrics[%d]: %w", i, err)
		}
		d.Directives = append(d.Directives, dir)
	}
	return d, nil
}

// timestamp wants a whole number of milliseconds since the epoch, of a
// plausible date: seconds or microseconds would fall outside.
func timestamp(raw json.RawMessage) (time.Time, error) {
	s := string(raw)
	if s == "" {
		return time.Time{}, errors.New("_aws.Timestamp is missing")
	}
	if strings.Trim(s, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("_aws.Timestamp %s is not a whole positive number of milliseconds", s)
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("_aws.Timestamp %s: %w", s, err)
	}
	t := time.UnixMilli(ms)
	if t.Year() < 2000 || t.Year() > 2100 {
		return time.Time{}, fmt.Errorf("_aws.Timestamp %s is %s: not epoch milliseconds", s, t.UTC())
	}
	return t, nil
}

func directive(raw json.RawMessage, root map[string]json.RawMessage, d *Document) (Directive, error) {
	var dir struct {
		Namespace  *string            `json:"Namespace"`
		Dimensions [][]string         `json:"Dimensions"`
		Metrics    []*json.RawMessage `json:"Metrics"`
	}
	if err := strictUnmarshal(raw, &dir); err != nil {
		return Directive{}, err
	}
	if dir.Namespace == nil {
		return Directive{}, errors.New("no Namespace")
	}
	if err := namespace(*dir.Namespace); err != nil {
		return Directive{}, fmt.Errorf("Namespace %q: %w", *dir.Namespace, err)
	}
	out := Directive{Namespace: *dir.Namespace, Dimensions: dir.Dimensions}
	if dir.Dimensions == nil {
		return out, errors.New("no Dimensions")
	}
	keys := map[string]bool{}
	for _, set := range dir.Dimensions {
		if len(set) > MaxDimensions {
			return out, fmt.Errorf("a dimension set of %d keys, over %d", len(set), MaxDimensions)
		}
		seen := map[string]bool{}
		for _, k := range set {
			if seen[k] {
				return out, fmt.Errorf("dimension %q twice in one set", k)
			}
			seen[k], keys[k] = true, true
			v, err := dimension(k, root)
			if err != nil {
				return out, err
			}
			d.Dimensions[k] = v
		}
	}
	if len(dir.Metrics) == 0 || len(dir.Metrics) > MaxMetrics {
		return out, fmt.Errorf("%d metric definitions, want 1 to %d", len(dir.Metrics), MaxMetrics)
	}
	for _, rawDef := range dir.Metrics {
		if rawDef == nil {
			return out, errors.New("a null metric definition")
		}
		def, values, err := definition(*rawDef, root, keys)
		if err != nil {
			return out, err
		}
		if slices.ContainsFunc(out.Metrics, func(m Definition) bool { return m.Name == def.Name }) {
			return out, fmt.Errorf("metric %q twice in one directive", def.Name)
		}
		out.Metrics = append(out.Metrics, def)
		d.Values[def.Name] = values
	}
	return out, nil
}

// namespace: what PutMetricData accepts.
func namespace(ns string) error {
	switch {
	case len(ns) < 1 || len(ns) > 255:
		return errors.New("want 1 to 255 characters")
	case strings.TrimSpace(ns) == "":
		return errors.New("only spaces")
	case strings.HasPrefix(ns, "AWS/"):
		return errors.New("AWS/ is reserved")
	}
	for _, r := range ns {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune(".-_/#: ", r)) {
			return fmt.Errorf("character %q is not allowed", r)
		}
	}
	return nil
}

// dimension reads a dimension's value in the root: a string of printable
// ASCII, 1 to 1024 bytes, not only spaces, under a name CloudWatch accepts.
func dimension(key string, root map[string]json.RawMessage) (string, error) {
	if err := name(key); err != nil {
		return "", fmt.Errorf("dimension name %q: %w", key, err)
	}
	if strings.HasPrefix(key, ":") {
		return "", fmt.Errorf("dimension name %q starts with a colon", key)
	}
	raw, ok := root[key]
	if !ok {
		return "", fmt.Errorf("dimension %q has no member in the root", key)
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("dimension %q is %s, not a string", key, raw)
	}
	if len(v) < 1 || len(v) > 1024 || strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("dimension %q = %q: want 1 to 1024 characters, not only spaces", key, v)
	}
	if err := printable(v); err != nil {
		return "", fmt.Errorf("dimension %q = %q: %w", key, v, err)
	}
	return v, nil
}

// definition reads a metric definition and the metric's values; keys are
// the directive's dimensions, which no metric may be named after.
func definition(raw json.RawMessage, root map[string]json.RawMessage, keys map[string]bool) (Definition, []float64, error) {
	var def struct {
		Name *string `json:"Name"`
		Unit *string `json:"Unit"`
	}
	if err := strictUnmarshal(raw, &def); err != nil {
		return Definition{}, nil, fmt.Errorf("metric definition %s: %w", raw, err)
	}
	if def.Name == nil || def.Unit == nil {
		return Definition{}, nil, fmt.Errorf("metric definition %s: want a Name and a Unit", raw)
	}
	out := Definition{Name: *def.Name, Unit: *def.Unit}
	if err := name(out.Name); err != nil {
		return out, nil, fmt.Errorf("metric name %q: %w", out.Name, err)
	}
	if keys[out.Name] {
		return out, nil, fmt.Errorf("metric %q is also a dimension", out.Name)
	}
	if !slices.Contains(Units, out.Unit) {
		return out, nil, fmt.Errorf("metric %q: unit %q is not a CloudWatch unit", out.Name, out.Unit)
	}
	member, ok := root[out.Name]
	if !ok {
		return out, nil, fmt.Errorf("metric %q has no member in the root", out.Name)
	}
	values, err := numbers(member)
	if err != nil {
		return out, nil, fmt.Errorf("metric %q: %w", out.Name, err)
	}
	return out, values, nil
}

// numbers reads a metric's member: a number, or an array of 1 to 100.
func numbers(raw json.RawMessage) ([]float64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var vs []float64
		if err := json.Unmarshal(raw, &vs); err != nil {
			return nil, fmt.Errorf("values %s: not an array of numbers", raw)
		}
		if len(vs) < 1 || len(vs) > MaxValues {
			return nil, fmt.Errorf("%d values, want 1 to %d", len(vs), MaxValues)
		}
		return vs, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("value %s: not a number", raw)
	}
	return []float64{v}, nil
}

// name: a metric's or a dimension's name, 1 to 255 printable ASCII characters.
func name(s string) error {
	if len(s) < 1 || len(s) > 255 || strings.TrimSpace(s) == "" {
		return errors.New("want 1 to 255 characters, not only spaces")
	}
	return printable(s)
}

func printable(s string) error {
	for _, c := range []byte(s) {
		if c < 0x20 || c > 0x7e {
			return fmt.Errorf("byte %#x is not printable ASCII", c)
		}
	}
	return nil
}

// strictUnmarshal decodes JSON refusing fields v does not have, keeping
// numbers as they are written.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if _, ok := v.(*map[string]json.RawMessage); !ok {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// noDuplicateKeys refuses an object that gives a key twice, which
// encoding/json would silently resolve.
func noDuplicateKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	var walk func() error
	walk = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key := k.(string)
				if seen[key] {
					return fmt.Errorf("key %q given twice", key)
				}
				seen[key] = true
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if err := walk(); err != nil {
		return fmt.Errorf("not valid JSON: %w", err)
	}
	return nil
}
