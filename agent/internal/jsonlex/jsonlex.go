// Package jsonlex finds where JSON tokens end: strings, numbers and
// literals, read in place. The record builder's validator and the
// redactor each walk JSON's structure their own way, on these tokens.
package jsonlex

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// Status says how reading a token ended.
type Status uint8

const (
	OK    Status = iota
	Short        // the input ends inside the token: a cut input
	Bad          // not a valid token; the index returned is where
)

// String reads the JSON string whose opening quote is at i and returns
// the index after its closing quote, checking its escapes and, with
// checkUTF8, that its bytes are UTF-8.
func String(src []byte, i int, checkUTF8 bool) (int, Status) {
	i++
	for {
		// Skip to the next byte worth a look, eight at a time.
		for i+8 <= len(src) {
			if m := SpecialBytes(binary.LittleEndian.Uint64(src[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(src) {
			return len(src), Short
		}
		switch c := src[i]; {
		case c == '"':
			return i + 1, OK
		case c == '\\':
			if i+1 >= len(src) {
				return len(src), Short
			}
			switch src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for j := i + 2; j < i+6; j++ {
					if j >= len(src) {
						return len(src), Short
					}
					if !isHex(src[j]) {
						return j, Bad
					}
				}
				i += 6
			default:
				return i, Bad
			}
		case c < 0x20:
			return i, Bad
		case c < utf8.RuneSelf || !checkUTF8:
			i++
		case !utf8.FullRune(src[i:]):
			return len(src), Short
		default:
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size == 1 {
				return i, Bad
			}
			i += size
		}
	}
}

// Number reads the number -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? at
// i and returns the index after it.
func Number(src []byte, i int) (int, Status) {
	digits := func() bool {
		s := i
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
		return i > s
	}
	fail := func() (int, Status) {
		if i >= len(src) {
			return i, Short
		}
		return i, Bad
	}
	if i < len(src) && src[i] == '-' {
		i++
	}
	if i < len(src) && src[i] == '0' {
		i++
	} else if !digits() {
		return fail()
	}
	if i < len(src) && src[i] == '.' {
		i++
		if !digits() {
			return fail()
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if !digits() {
			return fail()
		}
	}
	return i, OK
}

// Literal reads word (true, false or null) at i and returns the index after it.
func Literal(src []byte, i int, word string) (int, Status) {
	rest := src[i:]
	switch {
	case len(rest) >= len(word) && string(rest[:len(word)]) == word:
		return i + len(word), OK
	case len(rest) < len(word) && word[:len(rest)] == string(rest):
		return len(src), Short
	}
	return i, Bad
}

// SWAR masks: eight bytes at a time.
const (
	lsbs = 0x0101010101010101
	msbs = 0x8080808080808080
)

// SpecialBytes flags the bytes of x (eight, little-endian) that need a look
// in a JSON string: a quote, a backslash, a control character or a
// non-ASCII byte. The lowest flagged byte is always one of those; a borrow
// may also flag plain bytes above it, never below.
func SpecialBytes(x uint64) uint64 {
	quote := x ^ (lsbs * '"')
	backslash := x ^ (lsbs * '\\')
	m := ((x - lsbs*0x20) | (quote - lsbs) | (backslash - lsbs)) &^ x
	return (m | x) & msbs
}

func isHex(b byte) bool {
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F')
}
