package record

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzCompact checks compact against encoding/json on any valid UTF-8 input.
func FuzzCompact(f *testing.F) {
	for _, s := range []string{
		`{"Success": true}`, `[1, 2.5e-3, -0, "a\u00e9\n", null, false, {}]`, ` "x" `, `{"a":}`,
		`01`, `1.`, `-`, `"\x"`, `"\u12g4"`, `[1,]`, `{"a":1,}`, "{\"a\"\t:\r\n[ ]}", `1e+`, `tru`,
	} {
		f.Add([]byte(s))
	}
	if events, _ := filepath.Glob("../../events/*.json"); len(events) > 0 {
		for _, e := range events {
			if b, err := os.ReadFile(e); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if !utf8.Valid(in) {
			return
		}
		got, ok := compact(nil, in)
		var want bytes.Buffer
		err := json.Compact(&want, in)
		if ok != (err == nil) {
			t.Fatalf("compact(%q) ok=%v, json.Compact err=%v", in, ok, err)
		}
		if ok && !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("compact(%q) = %q, want %q", in, got, want.Bytes())
		}
	})
}

// FuzzPayload checks that any captured body gives valid JSON in a record.
func FuzzPayload(f *testing.F) {
	f.Add([]byte(`{"Success": false}`), false)
	f.Add([]byte("\xff\x00binary"), false)
	f.Add([]byte(`{"a":"\u00e9`), true)
	f.Fuzz(func(t *testing.T, in []byte, truncated bool) {
		p := pl(string(in))
		p.Truncated = truncated
		raw, enc, _ := Payload(p)
		if !json.Valid(raw) || !utf8.Valid(raw) {
			t.Fatalf("Payload(%q) = %q: not valid JSON", in, raw)
		}
		if enc == "base64" && utf8.Valid(in) && !truncated {
			t.Fatalf("valid UTF-8 %q encoded as base64", in)
		}
	})
}
