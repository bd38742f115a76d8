package record

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

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
		var ok bool
		if i, ok = stringEnd(src, i); !ok {
			return false, false
		}
		goto after
	case c == 't':
		if !hasLiteral(src, i, "true") {
			return false, false
		}
		i += 4
		goto after
	case c == 'f':
		if !hasLiteral(src, i, "false") {
			return false, false
		}
		i += 5
		goto after
	case c == 'n':
		if !hasLiteral(src, i, "null") {
			return false, false
		}
		i += 4
		goto after
	case c == '-' || (c >= '0' && c <= '9'):
		var ok bool
		if i, ok = numberEnd(src, i); !ok {
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
		var ok bool
		if i, ok = stringEnd(src, i); !ok {
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

func hasLiteral(src []byte, i int, lit string) bool {
	return len(src)-i >= len(lit) && string(src[i:i+len(lit)]) == lit
}

// numberEnd returns the index after the number that starts at i.
func numberEnd(src []byte, i int) (int, bool) {
	if src[i] == '-' {
		i++
	}
	digits := func() bool {
		s := i
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
		return i > s
	}
	if i < len(src) && src[i] == '0' {
		i++
	} else if !digits() {
		return i, false
	}
	if i < len(src) && src[i] == '.' {
		i++
		if !digits() {
			return i, false
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if !digits() {
			return i, false
		}
	}
	return i, true
}

// SWAR masks: eight bytes at a time.
const (
	lsbs = 0x0101010101010101
	msbs = 0x8080808080808080
)

// specialBytes flags the bytes of x (eight, little-endian) that need a
// look in a JSON string: a quote, a backslash, a control character or a
// non-ASCII byte. The lowest flagged byte is always one of those; a borrow
// may also flag plain bytes above it, never below.
func specialBytes(x uint64) uint64 {
	quote := x ^ (lsbs * '"')
	backslash := x ^ (lsbs * '\\')
	m := ((x - lsbs*0x20) | (quote - lsbs) | (backslash - lsbs)) &^ x
	return (m | x) & msbs
}

// stringEnd returns the index after the JSON string that starts with the
// quote at i, checking its escapes and its UTF-8.
func stringEnd(src []byte, i int) (int, bool) {
	i++
	for {
		// Skip to the next byte worth a look, eight at a time.
		for i+8 <= len(src) {
			if m := specialBytes(binary.LittleEndian.Uint64(src[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(src) {
			return i, false
		}
		switch c := src[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(src) {
				return i, false
			}
			switch src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(src) {
					return i, false
				}
				for _, h := range src[i+2 : i+6] {
					if !isHex(h) {
						return i, false
					}
				}
				i += 6
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size == 1 {
				return i, false
			}
			i += size
		}
	}
}

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
			end, _ := stringEnd(src, i)
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

func isHex(b byte) bool {
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F')
}
