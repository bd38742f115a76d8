package proxy

import (
	"net/http"
	"net/url"
	"strings"
)

// classify tells which Runtime API call a request is, and for which
// request id, as the Runtime API itself routes it. Its net/http server
// parses the request target with url.ParseRequestURI, and its router
// (chi) matches the path as escaped in the target whenever that escaping
// is not the default one. For the routes below that comes to the same
// thing as matching the escaped path segment by segment, literal segments
// exactly and the id as any segment, which is then decoded. (An empty id
// is routed too, and refused by the Runtime API.)
// Targets net/http refuses are CallOther: the Runtime API answers them 400.
func classify(method, target string) (Call, string) {
	if method != http.MethodGet && method != http.MethodPost {
		return CallOther, ""
	}
	path, ok := targetPath(target)
	if !ok {
		return CallOther, ""
	}
	rest, ok := strings.CutPrefix(path, "/2018-06-01/runtime/")
	if !ok {
		return CallOther, ""
	}
	get := method == http.MethodGet
	switch rest {
	case "invocation/next":
		return pick(get, CallNext), ""
	case "restore/next":
		return pick(get, CallRestoreNext), ""
	case "init/error":
		return pick(!get, CallInitError), ""
	case "restore/error":
		return pick(!get, CallRestoreError), ""
	}
	rest, ok = strings.CutPrefix(rest, "invocation/")
	id, action, _ := strings.Cut(rest, "/")
	if !ok || get {
		return CallOther, ""
	}
	var call Call
	switch action {
	case "response":
		call = CallResponse
	case "error":
		call = CallError
	default:
		return CallOther, ""
	}
	if strings.IndexByte(id, '%') >= 0 {
		id, _ = url.PathUnescape(id) // targetPath checked the escapes
	}
	return call, id
}

func pick(methodMatches bool, c Call) Call {
	if methodMatches {
		return c
	}
	return CallOther
}

// targetPath returns the path of a request target, still escaped, when
// url.ParseRequestURI accepts the target. The origin-form (/path?query),
// which every runtime sends, is read here; any other form is left to
// url.ParseRequestURI.
func targetPath(target string) (string, bool) {
	if target == "" || target[0] != '/' {
		return absolutePath(target)
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c < 0x20 || c == 0x7f {
			return "", false
		}
	}
	path, _, _ := strings.Cut(target, "?")
	return path, validEscapes(path)
}

// absolutePath returns the path of an absolute-form target
// (scheme://authority/path?query, or scheme:/path), still escaped.
func absolutePath(target string) (string, bool) {
	u, err := url.ParseRequestURI(target)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return "", false
	}
	// net/http has checked the target: what follows the scheme is an
	// optional //authority, then the path, then the query.
	_, rest, _ := strings.Cut(target, ":")
	rest, _, _ = strings.Cut(rest, "?")
	if authority, ok := strings.CutPrefix(rest, "//"); ok {
		i := strings.IndexByte(authority, '/')
		if i < 0 {
			return "", true
		}
		rest = authority[i:]
	}
	return rest, true
}

// validEscapes reports whether every % in s starts an escape of two hex
// digits, as url.PathUnescape requires.
func validEscapes(s string) bool {
	for i := strings.IndexByte(s, '%'); i >= 0; i = strings.IndexByte(s, '%') {
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return false
		}
		s = s[i+3:]
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
