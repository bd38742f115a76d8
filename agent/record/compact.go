package record

import "github.com/lambda-destinations/lambda-destinations/agent/internal/jsonlex"

// maxDepth matches encoding/json's nesting limit.
const maxDepth = 10000

// scan reports whether src is exactly one JSON value, with valid UTF-8 in
// its strings, and whether it is already compact (no insignificant
// whitespace), in one pass that writes nothing. A compact payload, as most
// runtimes' JSON encoders write it, goes into the record as it is.
func scan(src []byte) (valid, compact bool) {
	var stackBuf [64]byte
	stack := stackBuf[:0] // '{' or '[' for each open container
	compact = true
	i := 0
	ws := func() {
		for i < len(src) {
			switch src[i] {
			case ' ', '\t', '\n', '\r':
				i++
				compact = false
			default:
				return
			}
		}
	}
	ws()
value:
	if i >= len(src) {
		return false, false
	}
	switch c := src[i]; {
	case c == '{':
		if len(stack) == maxDepth {
			return false, false
		}
		stack = append(stack, '{')
		i++
		ws()
		if i < len(src) && src[i] == '}' {
			i++
			stack = stack[:len(stack)-1]
			goto after
		}
		goto key
	case c == '[':
		if len(stack) == maxDepth {
			return false, false
		}
		stack = append(stack, '[')
		i++
		ws()
		if i < len(src) && src[i] == ']' {
			i++
			stack = stack[:len(stack)-1]
			goto after
		}
		ws()
		goto value
	case c == '"':
		var st jsonlex.Status
		if i, st = jsonlex.String(src, i, true); st != jsonlex.OK {
			return false, false
		}
		goto after
	case c == 't' || c == 'f' || c == 'n':
		var st jsonlex.Status
		if i, st = jsonlex.Literal(src, i, literals[c]); st != jsonlex.OK {
			return false, false
		}
		goto after
	case c == '-' || (c >= '0' && c <= '9'):
		var st jsonlex.Status
		if i, st = jsonlex.Number(src, i); st != jsonlex.OK {
			return false, false
		}
		goto after
	}
	return false, false
key:
	if i >= len(src) || src[i] != '"' {
		return false, false
	}
	{
		var st jsonlex.Status
		if i, st = jsonlex.String(src, i, true); st != jsonlex.OK {
			return false, false
		}
	}
	ws()
	if i >= len(src) || src[i] != ':' {
		return false, false
	}
	i++
	ws()
	goto value
after:
	ws()
	if len(stack) == 0 {
		return i == len(src), compact
	}
	if i >= len(src) {
		return false, false
	}
	switch top := stack[len(stack)-1]; {
	case src[i] == ',':
		i++
		ws()
		if top == '{' {
			goto key
		}
		goto value
	case (top == '{' && src[i] == '}') || (top == '[' && src[i] == ']'):
		i++
		stack = stack[:len(stack)-1]
		goto after
	}
	return false, false
}

// literals are the words a JSON literal can be, by their first letter.
var literals = [256]string{'t': "true", 'f': "false", 'n': "null"}

// compact appends src, a JSON value scan has found valid, to dst without
// its insignificant whitespace: what json.Compact does, without checking the
// grammar again. dst may be src[:0]: it is only ever written behind where
// src is read.
func compact(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		switch src[i] {
		case ' ', '\t', '\n', '\r':
			i++
		case '"':
			end, _ := jsonlex.String(src, i, false)
			dst = append(dst, src[i:end]...)
			i = end
		default:
			j := i + 1
			for j < len(src) && !isSpaceOrQuote(src[j]) {
				j++
			}
			dst = append(dst, src[i:j]...)
			i = j
		}
	}
	return dst
}

func isSpaceOrQuote(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '"'
}
