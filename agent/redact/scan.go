package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lambda-destinations/lambda-destinations/agent/internal/jsonlex"
	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

// ErrTruncated means the input ended inside a JSON value: what JSON returned
// is the redacted text of the complete tokens before the end.
var ErrTruncated = errors.New("JSON text ends early")

// maxDepth is encoding/json's nesting limit: deeper input is not JSON to it
// either, and recursion stays bounded.
const maxDepth = 10000

var redacted = []byte(`"` + Value + `"`)

// JSON returns b, which must be one JSON text, compacted and with the
// matching values redacted, in a single pass over the bytes: keys, strings
// and numbers are copied as they are, so numbers stay exact and key order
// is kept. A value being redacted is never copied, even in part.
func (r *Redactor) JSON(b []byte) ([]byte, error) {
	s := scanner{in: b, r: r, out: make([]byte, 0, len(b))}
	var act []int
	if r != nil {
		act = r.deeper
	}
	var err error
	if r != nil && r.whole {
		s.out = append(s.out, redacted...)
		err = s.skip(0)
	} else {
		err = s.value(0, act)
	}
	if err == nil {
		s.space()
		if s.pos < len(s.in) {
			err = s.fail("data after the JSON value")
		}
	}
	return s.out, err
}

// Payload redacts a captured body. A JSON body keeps its shape, compacted;
// a truncated JSON body keeps the redacted tokens before the cut; any other
// body is kept or, with Drop, replaced by a marker that says only its size.
func (r *Redactor) Payload(p invocation.Payload) invocation.Payload {
	if !r.Active() || p.Len() == 0 {
		return p
	}
	p = p.Contiguous()
	out, err := r.JSON(p.Bytes)
	if err == nil || (p.Truncated && errors.Is(err, ErrTruncated)) {
		p.Bytes = out
		return p
	}
	if r.nonJSON == Keep {
		return p
	}
	size := max(p.Size, int64(len(p.Bytes)))
	marker := fmt.Appendf(nil, "[REDACTED non-JSON payload of %d bytes]", size)
	return invocation.Payload{Bytes: marker, Size: int64(len(marker))}
}

type scanner struct {
	in    []byte
	pos   int
	out   []byte
	r     *Redactor
	stack []int // the paths still matching at each open level, innermost last
}

func (s *scanner) fail(reason string) error {
	return fmt.Errorf("not JSON at offset %d: %s", s.pos, reason)
}

func (s *scanner) space() {
	for s.pos < len(s.in) {
		switch s.in[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// value copies one value. act lists the paths whose first depth steps lead
// here and that go deeper.
func (s *scanner) value(depth int, act []int) error {
	s.space()
	if s.pos >= len(s.in) {
		return ErrTruncated
	}
	switch c := s.in[s.pos]; {
	case c == '{':
		return s.object(depth+1, act)
	case c == '[':
		return s.array(depth+1, act)
	case c == '"':
		start := s.pos
		if err := s.str(); err != nil {
			return err
		}
		s.out = append(s.out, s.in[start:s.pos]...)
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := s.pos
		if err := s.number(); err != nil {
			return err
		}
		s.out = append(s.out, s.in[start:s.pos]...)
		return nil
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.fail("unexpected character")
}

// skip reads one value and copies nothing of it.
func (s *scanner) skip(depth int) error {
	mark := len(s.out)
	err := s.value(depth, nil)
	s.out = s.out[:mark]
	return err
}

// open moves into the container whose opening bracket is at pos; more is
// false when it is empty, and closed already.
func (s *scanner) open(depth int, open, close byte) (more bool, err error) {
	if depth > maxDepth {
		return false, s.fail("nested too deeply")
	}
	s.pos++
	s.out = append(s.out, open)
	s.space()
	if s.pos >= len(s.in) {
		return false, ErrTruncated
	}
	if s.in[s.pos] == close {
		s.pos++
		s.out = append(s.out, close)
		return false, nil
	}
	return true, nil
}

// next moves past what follows a member of a container: a comma, and more
// is true, or the container's closing bracket.
func (s *scanner) next(close byte, member string) (more bool, err error) {
	s.space()
	if s.pos >= len(s.in) {
		return false, ErrTruncated
	}
	switch c := s.in[s.pos]; c {
	case ',', close:
		s.pos++
		s.out = append(s.out, c)
		return c == ',', nil
	}
	return false, s.fail("want , or " + string(close) + " after " + member)
}

func (s *scanner) object(depth int, act []int) error {
	more, err := s.open(depth, '{', '}')
	for more && err == nil {
		s.space()
		if s.pos >= len(s.in) {
			return ErrTruncated
		}
		if s.in[s.pos] != '"' {
			return s.fail("want a key")
		}
		start := s.pos
		if err := s.str(); err != nil {
			return err
		}
		raw := s.in[start:s.pos]
		s.space()
		if s.pos >= len(s.in) {
			return ErrTruncated
		}
		if s.in[s.pos] != ':' {
			return s.fail("want : after a key")
		}
		s.pos++
		key := raw[1 : len(raw)-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var k string
			if err := json.Unmarshal(raw, &k); err != nil {
				return s.fail("bad escape in a key")
			}
			key = []byte(k)
		}
		s.out = append(s.out, raw...)
		s.out = append(s.out, ':')
		if err := s.member(depth, act, s.matchKey(key), key, -1); err != nil {
			return err
		}
		more, err = s.next('}', "a member")
	}
	return err
}

func (s *scanner) array(depth int, act []int) error {
	more, err := s.open(depth, '[', ']')
	for i := 0; more && err == nil; i++ {
		if err := s.member(depth, act, false, nil, i); err != nil {
			return err
		}
		more, err = s.next(']', "an element")
	}
	return err
}

// member copies or redacts the value of a key (index < 0) or of the
// element at index, in a container at depth; hide says a key rule matched.
func (s *scanner) member(depth int, act []int, hide bool, key []byte, index int) error {
	base := len(s.stack)
	for _, i := range act {
		p := s.r.paths[i]
		if g := p[depth-1]; !(index < 0 && g.matchKey(key) || index >= 0 && g.matchIndex(index)) {
			continue
		}
		if len(p) == depth {
			hide = true
		} else {
			s.stack = append(s.stack, i)
		}
	}
	var err error
	if hide {
		s.out = append(s.out, redacted...)
		err = s.skip(depth)
	} else {
		err = s.value(depth, s.stack[base:])
	}
	s.stack = s.stack[:base]
	return err
}

func (s *scanner) matchKey(key []byte) bool {
	if s.r == nil {
		return false
	}
	for _, k := range s.r.keys {
		if bytes.EqualFold(key, k) {
			return true
		}
	}
	return false
}

// str moves past a string, checking its escapes. Its bytes need not be
// UTF-8: what is redacted here is checked again where it is embedded.
func (s *scanner) str() error {
	return s.token(jsonlex.String(s.in, s.pos, false))
}

func (s *scanner) number() error {
	return s.token(jsonlex.Number(s.in, s.pos))
}

// token moves past a token that ends at end, or says why it could not.
func (s *scanner) token(end int, st jsonlex.Status) error {
	switch st {
	case jsonlex.Short:
		return ErrTruncated
	case jsonlex.Bad:
		s.pos = end
		return s.fail("bad token")
	}
	s.pos = end
	return nil
}

func (s *scanner) literal(word string) error {
	if err := s.token(jsonlex.Literal(s.in, s.pos, word)); err != nil {
		return err
	}
	s.out = append(s.out, word...)
	return nil
}
