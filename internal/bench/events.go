package bench

import (
	"fmt"
	"strings"
)

// EchoEvent returns a JSON event of exactly n bytes (n ≥ 64) that the sample
// function (sam/function) answers with itself: n bytes in, n bytes out. It
// looks like a typical API payload (objects, numbers, strings) so that the
// record builder does its usual work on it.
func EchoEvent(n int) []byte {
	const head, tail = `{"Echo":true,"items":[`, `],"pad":"`
	n = max(n, 64)
	var b strings.Builder
	b.WriteString(head)
	for i := 0; ; i++ {
		item := fmt.Sprintf(`{"id":%d,"name":"item-%04d","price":12.5,"tags":["a","b"]}`, i, i)
		if i > 0 {
			item = "," + item
		}
		if b.Len()+len(item)+len(tail)+2 > n {
			break
		}
		b.WriteString(item)
	}
	b.WriteString(tail)
	b.WriteString(strings.Repeat("x", n-b.Len()-2))
	b.WriteString(`"}`)
	return []byte(b.String())
}

// LargeResponseEvent returns the event the sample function answers with a
// JSON list of objects of exactly n bytes: a large API response, whose
// record costs what checking that much JSON costs.
func LargeResponseEvent(n int) []byte {
	return fmt.Appendf(nil, `{"ListBytes":%d}`, n)
}
