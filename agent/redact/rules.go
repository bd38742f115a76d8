// Package redact replaces secret values in JSON payloads by "[REDACTED]"
// before a record is built, so no destination or log ever holds them.
//
// Rules are object keys, matched case-insensitively at any depth
// (password, authorization), or JSON paths, matched exactly and
// case-sensitively from the root: $.a.b, $.items[*].secret, $.a[0].b,
// $['key.with.dots'], $.*.token.
package redact

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Value is what a redacted value becomes.
const Value = "[REDACTED]"

// segment is one step of a path: a key, an index, or a wildcard.
type segment struct {
	key   string
	index int  // -1 when the segment is a key or a wildcard
	any   bool // [*] or .*: any key or index
}

func (s segment) matchKey(key []byte) bool { return s.any || (s.index < 0 && s.key == string(key)) }
func (s segment) matchIndex(i int) bool    { return s.any || s.index == i }

type path []segment

// PathError is a malformed JSON path.
type PathError struct {
	Path   string
	Offset int // byte offset of the fault in Path
	Reason string
}

func (e *PathError) Error() string {
	return fmt.Sprintf("malformed JSON path %q at offset %d: %s", e.Path, e.Offset, e.Reason)
}

// parsePath reads $ followed by .key, .*, [N], [*], ['key'] or ["key"] steps.
func parsePath(p string) (path, error) {
	fail := func(at int, reason string) (path, error) {
		return nil, &PathError{Path: p, Offset: at, Reason: reason}
	}
	if !strings.HasPrefix(p, "$") {
		return fail(0, "a path starts with $")
	}
	var out path
	i := 1
	for i < len(p) {
		switch p[i] {
		case '.':
			j := i + 1
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			name := p[i+1 : j]
			switch {
			case name == "":
				return fail(i+1, "empty key after .")
			case name == "*":
				out = append(out, segment{index: -1, any: true})
			case strings.ContainsAny(name, "]'\"*"):
				return fail(i+1, "a key with ], quotes or * must be written ['key']")
			default:
				out = append(out, segment{key: name, index: -1})
			}
			i = j
		case '[':
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				return fail(i, "unclosed [")
			}
			inner := p[i+1 : i+end]
			switch {
			case inner == "*":
				out = append(out, segment{index: -1, any: true})
			case len(inner) >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[len(inner)-1] == inner[0]:
				name := inner[1 : len(inner)-1]
				if name == "" || strings.ContainsAny(name, "'\"\\") {
					return fail(i+1, "a quoted key must be non-empty, without quotes or backslashes")
				}
				out = append(out, segment{key: name, index: -1})
			default:
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 || strings.HasPrefix(inner, "+") {
					return fail(i+1, "want [N], [*] or ['key'] with N a whole number from 0")
				}
				out = append(out, segment{index: n})
			}
			i += end + 1
		default:
			return fail(i, "want . or [ between steps")
		}
	}
	return out, nil
}

// NonJSON is what becomes of a payload that is not JSON.
type NonJSON int

const (
	Keep NonJSON = iota // left as it is
	Drop                // replaced by a marker that gives only its size
)

// ParseNonJSON reads "keep" or "drop".
func ParseNonJSON(s string) (NonJSON, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "keep":
		return Keep, nil
	case "drop":
		return Drop, nil
	}
	return Keep, errors.New("want keep or drop")
}

// Redactor applies compiled rules. A nil Redactor changes nothing.
type Redactor struct {
	keys    [][]byte
	paths   []path
	deeper  []int // indexes of the paths below the root
	whole   bool  // a path is $ itself
	nonJSON NonJSON
}

// New compiles rules: entries starting with $ are paths, others keys.
// Empty entries are ignored. The error names the malformed entry.
func New(rules []string, nonJSON NonJSON) (*Redactor, error) {
	r := &Redactor{nonJSON: nonJSON}
	for _, rule := range rules {
		rule = strings.TrimSpace(rule)
		switch {
		case rule == "":
		case strings.HasPrefix(rule, "$"):
			p, err := parsePath(rule)
			if err != nil {
				return nil, err
			}
			if len(p) == 0 {
				r.whole = true
				continue
			}
			r.deeper = append(r.deeper, len(r.paths))
			r.paths = append(r.paths, p)
		default:
			r.keys = append(r.keys, []byte(rule))
		}
	}
	return r, nil
}

// Active reports whether r changes anything at all.
func (r *Redactor) Active() bool {
	return r != nil && (len(r.keys) > 0 || len(r.paths) > 0 || r.whole || r.nonJSON == Drop)
}
