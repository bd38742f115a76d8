package record

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzCompact checks scan and compact together against encoding/json on
// any valid UTF-8 input: the same values are valid, and compact to the same.
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
		ok, _ := scan(in)
		var got []byte
		if ok {
			got = compact(nil, in)
		}
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

// FuzzScan checks scan against encoding/json on any valid UTF-8 input: the
// same values are valid, and compact ones are those json.Compact leaves
// unchanged. Invalid UTF-8 inside strings is never valid.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		`{"Success": true}`, `[1, 2.5e-3, -0, "a\u00e9\n", null, false, {}]`, ` "x" `, `{"a":}`,
		`01`, `1.`, `-`, `"\x"`, `"\u12g4"`, `[1,]`, `{"a":1,}`, "{\"a\"\t:\r\n[ ]}", `1e+`, `tru`,
		`{"a":[{"b":"cccccccccccccccccc\"dddddddd\\eeeeeeee"}],"f":"\u00e9\u2028é€𝄞"}`, `[[[[[]]]]]`, `[{}]`, `{"a":{}}`,
		"\"abcdefgh\x01ijklmnop\"", `"abcdefghijklmnopqrstuvwxyz"`, `{}`, `[]`, `""`, "\"\xff\"", "\"\xe2\x82\"",
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
		valid, compacted := scan(in)
		if !utf8.Valid(in) {
			// Non-ASCII bytes may appear only in strings, and must be UTF-8 there.
			if valid {
				t.Fatalf("scan(%q) valid with invalid UTF-8", in)
			}
			return
		}
		if valid != json.Valid(in) {
			t.Fatalf("scan(%q) valid=%v, json.Valid=%v", in, valid, json.Valid(in))
		}
		if !valid {
			return
		}
		var c bytes.Buffer
		if err := json.Compact(&c, in); err != nil {
			t.Fatal(err)
		}
		if compacted != bytes.Equal(c.Bytes(), in) {
			t.Fatalf("scan(%q) compact=%v, json.Compact gives %q", in, compacted, c.Bytes())
		}
	})
}

// FuzzPayload checks that any captured body gives valid JSON in a record.
func FuzzPayload(f *testing.F) {
	f.Add([]byte(`{"Success": false}`), false)
	f.Add([]byte("\xff\x00binary"), false)
	f.Add([]byte(`{"a":"\u00e9`), true)
	f.Add([]byte("plain text with \"quotes\", a tab\t, \u2028 and é€ in the middle of a long line"), false)
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
		if enc == "" && !truncated && utf8.Valid(in) && !json.Valid(in) {
			// Text is carried as a JSON string that decodes to it.
			var s string
			if err := json.Unmarshal(raw, &s); err != nil || s != string(in) {
				t.Fatalf("Payload(%q) = %s, decodes to %q (%v)", in, raw, s, err)
			}
		}
	})
}
