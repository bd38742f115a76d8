package record

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

// split cuts b at the given offsets (ascending) into parts.
func split(b []byte, cuts ...int) [][]byte {
	var parts [][]byte
	prev := 0
	for _, c := range cuts {
		parts = append(parts, b[prev:c])
		prev = c
	}
	return append(parts, b[prev:])
}

// checkParts says whether a record built from p in parts is the one built
// from p in one slice, serialised and in its fields.
func checkParts(t *testing.T, p invocation.Payload, parts [][]byte) {
	t.Helper()
	inv := invocation.Invocation{RequestID: "r", InvokedFunctionARN: "arn:aws:lambda:us-east-1:1:function:f",
		Request: invocation.Payload{Bytes: []byte(`{"a":1}`), Size: 7}, End: time.Unix(1, 0), Outcome: invocation.Error}
	inv.Request, inv.Response = p, p
	both := Build(inv, Function{})
	want, err := Marshal(&both)
	if err != nil {
		t.Fatal(err)
	}
	inv.Request = invocation.Payload{Parts: parts, Size: p.Size, Truncated: p.Truncated}
	inv.Response = inv.Request
	r := Build(inv, Function{})
	got, err := Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("parts %q:\n got %s\nwant %s", parts, got, want)
	}
	if !json.Valid(got) {
		t.Fatalf("not JSON: %s", got)
	}
	if r.requestParts != nil || r.responseParts != nil {
		t.Errorf("the record still holds the parts")
	}
	if !reflect.DeepEqual(r, both) {
		t.Errorf("record fields after Marshal\n got %+v\nwant %+v", r, both)
	}
}

func TestPayloadParts(t *testing.T) {
	const big = `{"k": [1, 2.5, "x\u00e9y", true, null, {"z": "w"}]}`
	tests := []struct {
		name string
		p    invocation.Payload
	}{
		{"compact JSON", pl(`{"a":[1,2,{"b":"c\u00e9d"}],"e":"\u20ac"}`)},
		{"JSON with whitespace", pl(big)},
		{"JSON string", pl(`"hello \"world\""`)},
		{"invalid JSON", pl(`{"a":1,}`)},
		{"text", pl("plain text with \"quotes\", é and \u2028")},
		{"invalid UTF-8", pl("ab\xe2\x82\xacc\xff\xfed")},
		{"multibyte rune", pl("x\xe2\x82\xacy\xf0\x9f\x98\x80z")},
		{"truncated JSON", invocation.Payload{Bytes: []byte(`{"a":"bcd`), Size: 100, Truncated: true}},
		{"truncated inside a rune", invocation.Payload{Bytes: []byte("ab\xe2\x82\xac\xf0\x9f\x98"), Size: 100, Truncated: true}},
		{"truncated, only a partial rune", invocation.Payload{Bytes: []byte("\xf0\x9f\x98"), Size: 100, Truncated: true}},
		{"truncated, nothing kept", invocation.Payload{Size: 78, Truncated: true}},
		{"truncated invalid UTF-8", invocation.Payload{Bytes: []byte("a\xffb\xe2\x82"), Size: 100, Truncated: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.p.Bytes
			for i := 0; i <= len(b); i++ {
				checkParts(t, tt.p, split(b, i))
				for j := i; j <= len(b); j++ {
					checkParts(t, tt.p, split(b, i, j))
				}
			}
			ones := make([]int, 0, len(b))
			for i := 1; i < len(b); i++ {
				ones = append(ones, i)
			}
			checkParts(t, tt.p, split(b, ones...))
		})
	}
}

func TestPayloadPartsLarge(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("[\n")
	for i := range 20000 {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(`  {"i": 12345, "s": "é€😀 text"}`)
	}
	b.WriteString("\n]")
	body := b.Bytes()
	// As the proxy captures aws-lambda-go's chunks: 32 KiB, then 64 KiB.
	cuts := func(n int) []int {
		var cs []int
		for c := 32 << 10; c < n; c += 64 << 10 {
			cs = append(cs, c)
		}
		return cs
	}
	checkParts(t, pl(string(body)), split(body, cuts(len(body))...))
	compacted := compact(nil, body)
	checkParts(t, pl(string(compacted)), split(compacted, cuts(len(compacted))...))
	cut := body[:len(body)-1]
	checkParts(t, invocation.Payload{Bytes: cut, Size: int64(len(body)), Truncated: true}, split(cut, cuts(len(cut))...))
}

// FuzzPayloadParts checks that a payload in two or three parts is embedded
// as the same payload in one slice.
func FuzzPayloadParts(f *testing.F) {
	for _, s := range []string{`{"a": 1}`, "x\xe2\x82\xacy", `[1,]`, "\xff", `"\u00e9"`, ""} {
		f.Add([]byte(s), uint16(1), uint16(3), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, i, j uint16, truncated bool) {
		a := min(int(i), len(in))
		c := min(max(int(j), a), len(in))
		p := invocation.Payload{Bytes: in, Size: int64(len(in)), Truncated: truncated}
		if truncated {
			p.Size += 10
		}
		checkParts(t, p, split(in, a, c))
	})
}
