package destination

import (
	"strings"
	"testing"
)

// FuzzRedaction: whatever a destination string holds before its path, the
// path never reaches an error message or a destination's name.
func FuzzRedaction(f *testing.F) {
	for _, seed := range [][2]string{
		{"https://hooks.slack.com", "services/T000"},
		{"https://user:pass@example.com:8443", "a?b=c"},
		{"http://127.0.0.1:99999", "hooks"},
		{"https://example.com", "%zz"},
		{"https://[::1", "x"},
		{"htps://example.com", "x"},
		{"hooks.slack.com", "services"},
		{"https://exa mple.com", "\x7f"},
		{":", ""},
		{"0", ":/"}, // a "://" in the path
		{"stdout", ""},
		{"", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	const secret = "tok3n-SECRET"
	f.Fuzz(func(t *testing.T, prefix, path string) {
		// "/x/" ends any host the prefix began: what follows is a path.
		raw := prefix + "/x/" + path + "/" + secret
		if strings.HasPrefix(strings.TrimSpace(raw), "arn:") {
			return // ARNs are shown whole: they hold no secret
		}
		if got := Redact(raw); strings.Contains(got, secret) {
			t.Fatalf("Redact(%q) = %q", raw, got)
		}
		tg, err := Parse(raw)
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("Parse(%q): %v", raw, err)
			}
			return
		}
		if strings.Contains(tg.Name(), secret) {
			t.Fatalf("Parse(%q).Name() = %q", raw, tg.Name())
		}
	})
}
