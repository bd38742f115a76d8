package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/agent/invocation"
)

func TestJSON(t *testing.T) {
	tests := []struct {
		name  string
		rules []string
		in    string
		want  string
	}{
		{"no rules compacts", nil, "{ \"a\" : [1, 2.50, -0.0e+10] ,\n\"b\":null}", `{"a":[1,2.50,-0.0e+10],"b":null}`},
		{"key at top", []string{"password"}, `{"user":"ann","password":"hunter2"}`, `{"user":"ann","password":"[REDACTED]"}`},
		{"key any case", []string{"password"}, `{"PassWord":"x"}`, `{"PassWord":"[REDACTED]"}`},
		{"rule any case", []string{"cardNumber"}, `{"cardnumber":4111111111111111}`, `{"cardnumber":"[REDACTED]"}`},
		{"key deep in arrays", []string{"authorization"}, `{"headers":[{"Authorization":"Bearer x"},{"Host":"h"}]}`,
			`{"headers":[{"Authorization":"[REDACTED]"},{"Host":"h"}]}`},
		{"key hides a whole object", []string{"secret"}, `{"secret":{"a":[1,{"b":2}]},"c":3}`, `{"secret":"[REDACTED]","c":3}`},
		{"escaped key", []string{"password"}, `{"pass\u0077ord":"x"}`, `{"pass\u0077ord":"[REDACTED]"}`},
		{"key in a string value is not a key", []string{"password"}, `{"note":"password"}`, `{"note":"password"}`},
		{"path", []string{"$.a.b"}, `{"a":{"b":1,"c":2},"b":3}`, `{"a":{"b":"[REDACTED]","c":2},"b":3}`},
		{"path is case-sensitive", []string{"$.a.b"}, `{"A":{"b":1},"a":{"B":1}}`, `{"A":{"b":1},"a":{"B":1}}`},
		{"path wildcard index", []string{"$.items[*].secret"}, `{"items":[{"secret":1,"x":1},{"secret":[2]}],"secret":3}`,
			`{"items":[{"secret":"[REDACTED]","x":1},{"secret":"[REDACTED]"}],"secret":3}`},
		{"path index", []string{"$.a[1].b"}, `{"a":[{"b":0},{"b":1},{"b":2}]}`, `{"a":[{"b":0},{"b":"[REDACTED]"},{"b":2}]}`},
		{"path wildcard key", []string{"$.*.token"}, `{"x":{"token":1},"y":{"token":2},"token":3}`,
			`{"x":{"token":"[REDACTED]"},"y":{"token":"[REDACTED]"},"token":3}`},
		{"path quoted key", []string{"$['a.b'].c"}, `{"a.b":{"c":1},"a":{"b":{"c":2}}}`, `{"a.b":{"c":"[REDACTED]"},"a":{"b":{"c":2}}}`},
		{"path to an array", []string{"$.list"}, `{"list":[1,2,3]}`, `{"list":"[REDACTED]"}`},
		{"path into a scalar does nothing", []string{"$.a.b"}, `{"a":"text"}`, `{"a":"text"}`},
		{"path root array", []string{"$[0]"}, `[1,2]`, `["[REDACTED]",2]`},
		{"whole payload", []string{"$"}, `{"a":1}`, `"[REDACTED]"`},
		{"keys and paths together", []string{"password", "$.card.number"}, `{"card":{"number":"4111","exp":"12/30"},"password":"p"}`,
			`{"card":{"number":"[REDACTED]","exp":"12/30"},"password":"[REDACTED]"}`},
		{"big numbers exact", nil, `{"n":12345678901234567890123,"f":1.000000000000000000001}`, `{"n":12345678901234567890123,"f":1.000000000000000000001}`},
		{"html and unicode kept", []string{"k"}, `{"h":"<a>&amp;","u":"é\u00e9"}`, `{"h":"<a>&amp;","u":"é\u00e9"}`},
		{"scalar", []string{"password"}, ` "password" `, `"password"`},
		{"empty containers", []string{"a"}, `{"a":{},"b":[]}`, `{"a":"[REDACTED]","b":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.rules, Keep)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.JSON([]byte(tt.in))
			if err != nil {
				t.Fatalf("JSON(%s): %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("JSON(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("output is not JSON: %s", got)
			}
		})
	}
}

func TestJSONRejects(t *testing.T) {
	r, _ := New([]string{"password"}, Keep)
	for _, in := range []string{
		`{"a":1,}`, `{"a" 1}`, `[1 2]`, `{'a':1}`, `01`, `1.`, `-`, `tru`, `nul`, `{"a":1}x`, `"a` + "\x01" + `"`,
		`"\x"`, `"\u12g4"`, `{"a":1`, `[`, `"abc`, ``, ` `, `plain text`, `{1:2}`, `+1`, `.5`, `1e`, strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	} {
		if _, err := r.JSON([]byte(in)); err == nil {
			t.Errorf("JSON(%q) accepted it", in)
		}
		if json.Valid([]byte(in)) {
			t.Errorf("test case %q is valid JSON", in)
		}
	}
}

func TestTruncated(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`{"user":"ann","password":"hunt`, `{"user":"ann","password":"[REDACTED]"`},
		{`{"user":"ann","password":{"a":[1,2`, `{"user":"ann","password":"[REDACTED]"`},
		{`{"user":"an`, `{"user":`},
		{`{"items":[{"secret":"s3cr`, `{"items":[{"secret":"[REDACTED]"`},
		{`[1,2,tr`, `[1,2,`},
		{`{"a":"\u00`, `{"a":`},
	}
	r, _ := New([]string{"password", "$.items[*].secret"}, Keep)
	for _, tt := range tests {
		got, err := r.JSON([]byte(tt.in))
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("JSON(%s): error %v, want ErrTruncated", tt.in, err)
		}
		if string(got) != tt.want {
			t.Errorf("JSON(%s)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestPayload(t *testing.T) {
	secret := []string{"password"}
	tests := []struct {
		name    string
		nonJSON NonJSON
		rules   []string
		in      invocation.Payload
		want    invocation.Payload
	}{
		{"json", Keep, secret, invocation.Payload{Bytes: []byte(`{"password": 1}`), Size: 15},
			invocation.Payload{Bytes: []byte(`{"password":"[REDACTED]"}`), Size: 15}},
		{"empty stays empty", Drop, secret, invocation.Payload{}, invocation.Payload{}},
		{"text kept", Keep, secret, invocation.Payload{Bytes: []byte("password=1"), Size: 10},
			invocation.Payload{Bytes: []byte("password=1"), Size: 10}},
		{"text dropped", Drop, secret, invocation.Payload{Bytes: []byte("password=1"), Size: 10},
			invocation.Payload{Bytes: []byte("[REDACTED non-JSON payload of 10 bytes]"), Size: 39}},
		{"dropped without rules", Drop, nil, invocation.Payload{Bytes: []byte("abc")},
			invocation.Payload{Bytes: []byte("[REDACTED non-JSON payload of 3 bytes]"), Size: 38}},
		{"json kept without rules", Drop, nil, invocation.Payload{Bytes: []byte(`[1, 2]`)},
			invocation.Payload{Bytes: []byte(`[1,2]`)}},
		{"truncated json keeps its redacted prefix", Drop, secret,
			invocation.Payload{Bytes: []byte(`{"a":1,"password":"abc`), Size: 1000, Truncated: true},
			invocation.Payload{Bytes: []byte(`{"a":1,"password":"[REDACTED]"`), Size: 1000, Truncated: true}},
		{"truncated text dropped with its full size", Drop, secret,
			invocation.Payload{Bytes: []byte(`hello`), Size: 1000, Truncated: true},
			invocation.Payload{Bytes: []byte("[REDACTED non-JSON payload of 1000 bytes]"), Size: 41}},
		{"cut json that is not truncated is not JSON", Drop, secret,
			invocation.Payload{Bytes: []byte(`{"a":1`), Size: 6},
			invocation.Payload{Bytes: []byte("[REDACTED non-JSON payload of 6 bytes]"), Size: 38}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.rules, tt.nonJSON)
			if err != nil {
				t.Fatal(err)
			}
			got := r.Payload(tt.in)
			if !bytes.Equal(got.Bytes, tt.want.Bytes) || got.Size != tt.want.Size || got.Truncated != tt.want.Truncated {
				t.Errorf("Payload = {%s %d %v}, want {%s %d %v}", got.Bytes, got.Size, got.Truncated, tt.want.Bytes, tt.want.Size, tt.want.Truncated)
			}
		})
	}
	var none *Redactor
	in := invocation.Payload{Bytes: []byte("x")}
	if got := none.Payload(in); string(got.Bytes) != "x" {
		t.Errorf("nil Redactor changed the payload: %s", got.Bytes)
	}
}

func TestNewRejects(t *testing.T) {
	for _, rule := range []string{"$.a[", "$.a[x]", "$.a[-1]", "$..a", "$a", "$.", "$.a]", "$['']", "$.a*"} {
		_, err := New([]string{"password", rule}, Keep)
		var pe *PathError
		if !errors.As(err, &pe) || pe.Path != rule {
			t.Errorf("New(%q) = %v, want a PathError naming it", rule, err)
		}
	}
	if _, err := New([]string{" password ", "", "$.a[0]['b.c'].*[*]"}, Keep); err != nil {
		t.Errorf("valid rules rejected: %v", err)
	}
}

func TestParseNonJSON(t *testing.T) {
	for in, want := range map[string]NonJSON{"": Keep, "keep": Keep, "DROP": Drop, " drop ": Drop} {
		if got, err := ParseNonJSON(in); err != nil || got != want {
			t.Errorf("ParseNonJSON(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseNonJSON("remove"); err == nil {
		t.Error("ParseNonJSON(remove) accepted it")
	}
}

// FuzzJSON checks the scanner against encoding/json: it accepts exactly
// valid JSON, gives compact valid JSON, and without rules is json.Compact.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"password":"x"}],"b":"\u00e9\n"}`, `[]`, `-0.5e-3`, `"x"`, `{"a":1`, `nul`, `{"a":{"b":[true,false,null]}}`} {
		f.Add([]byte(s))
	}
	plain, _ := New(nil, Keep)
	rules, _ := New([]string{"password", "$.a[*].b", "$.*"}, Keep)
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := plain.JSON(in)
		if valid := json.Valid(in); valid != (err == nil) {
			t.Fatalf("JSON(%q): error %v, json.Valid %v", in, err, valid)
		}
		if err != nil {
			return
		}
		var want bytes.Buffer
		if err := json.Compact(&want, in); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("JSON(%q) = %q, want %q", in, got, want.Bytes())
		}
		red, err := rules.JSON(in)
		if err != nil || !json.Valid(red) {
			t.Fatalf("redacted JSON(%q) = %q, %v", in, red, err)
		}
	})
}

// BenchmarkPayload1KB redacts a typical 1 KB API Gateway-like event.
func BenchmarkPayload1KB(b *testing.B) {
	r, err := New([]string{"password", "authorization", "cardNumber", "$.requestContext.identity.sourceIp", "$.body.items[*].secret"}, Keep)
	if err != nil {
		b.Fatal(err)
	}
	p := invocation.Payload{Bytes: sample1KB()}
	b.SetBytes(int64(len(p.Bytes)))
	b.ReportAllocs()
	for b.Loop() {
		r.Payload(p)
	}
}

func sample1KB() []byte {
	var b strings.Builder
	b.WriteString(`{"resource":"/orders","path":"/orders","httpMethod":"POST",`)
	b.WriteString(`"headers":{"Accept":"application/json","Authorization":"Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc","Content-Type":"application/json","Host":"api.example.com","User-Agent":"curl/8.5.0","X-Forwarded-For":"203.0.113.7"},`)
	b.WriteString(`"requestContext":{"accountId":"123456789012","stage":"prod","requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef","identity":{"sourceIp":"203.0.113.7","userAgent":"curl/8.5.0"}},`)
	b.WriteString(`"body":{"customer":{"name":"Ann Example","email":"ann@example.com","password":"hunter2"},`)
	b.WriteString(`"payment":{"cardNumber":"4111111111111111","expiry":"12/30","amount":1234.56,"currency":"EUR"},`)
	b.WriteString(`"items":[`)
	for i := range 6 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"sku":"SKU-000` + string(rune('0'+i)) + `","qty":2,"price":19.99,"secret":"s-` + string(rune('a'+i)) + `","tags":["a","b"]}`)
	}
	b.WriteString(`]},"isBase64Encoded":false}`)
	return []byte(b.String())
}

func TestSample1KB(t *testing.T) {
	s := sample1KB()
	if len(s) < 900 || len(s) > 1200 || !json.Valid(s) {
		t.Fatalf("sample is %d bytes, valid %v", len(s), json.Valid(s))
	}
	r, _ := New([]string{"password", "authorization", "cardNumber", "$.body.items[*].secret"}, Keep)
	out, err := r.JSON(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunter2", "4111111111111111", "eyJhbGci", `"s-a"`} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("%s left in %s", secret, out)
		}
	}
}
