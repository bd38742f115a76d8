package awsdest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// userAgent names the extension in the services' request logs.
const userAgent = "lambda-destinations"

// maxAnswerBytes bounds what is read of an answer: the answers of the
// operations used are small, and the rest is drained unread.
const maxAnswerBytes = 1 << 20

// protocol is how a service spells its errors.
type protocol int

const (
	awsJSON  protocol = iota // SQS (with its query-compatible error codes), EventBridge
	awsQuery                 // SNS
	restJSON                 // Lambda
	restXML                  // S3
)

// client calls one service at one endpoint: it signs, sends, and turns
// refusals into *APIError.
type client struct {
	svc      service
	region   string // signing region
	ep       endpoint
	proto    protocol
	creds    aws.CredentialsProvider
	http     *http.Client
	signer   *v4.Signer
	skew     atomic.Int64 // the server's clock less ours, from the last answer
	s3Signer bool
}

func newClient(svc service, region string, ep endpoint, proto protocol, creds aws.CredentialsProvider, hc *http.Client) *client {
	c := &client{svc: svc, region: region, ep: ep, proto: proto, creds: creds, http: hc}
	if svc == s3Service {
		// S3 signs the path as sent, without escaping it again.
		c.signer = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	} else {
		c.signer = v4.NewSigner()
	}
	return c
}

// call is one request.
type call struct {
	op      string // the operation, for errors
	method  string
	path    string // appended to the endpoint's path; "" for "/"
	rawPath string // path, escaped, when it needs escaping
	query   string // encoded
	header  http.Header
	body    []byte
	// payloadHeader sends the payload's SHA-256 as X-Amz-Content-Sha256
	// (S3 wants it).
	payloadHeader bool
	// answerLimit bounds what is read of a 2xx answer; 0 is maxAnswerBytes.
	answerLimit int64
}

// answer is a 2xx answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends the call once and returns the answer if it is a 2xx, else an
// *APIError when the service answered, or the transport's error.
func (c *client) do(ctx context.Context, k call) (answer, error) {
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return answer{}, fmt.Errorf("%s: AWS credentials: %w", k.op, err)
	}
	u := *c.ep.url
	u.Path = joinPath(u.Path, k.path)
	if k.rawPath != "" {
		u.RawPath = joinPath(c.ep.url.EscapedPath(), k.rawPath)
	} else {
		u.RawPath = ""
	}
	u.RawQuery = k.query
	req, err := http.NewRequestWithContext(ctx, k.method, u.String(), bytes.NewReader(k.body))
	if err != nil {
		return answer{}, fmt.Errorf("%s: %w", k.op, err)
	}
	for name, v := range k.header {
		req.Header[name] = v
	}
	req.Header.Set("User-Agent", userAgent)
	sum := sha256.Sum256(k.body)
	payload := hex.EncodeToString(sum[:])
	if k.payloadHeader {
		req.Header.Set("X-Amz-Content-Sha256", payload)
	}
	attemptSkew := time.Duration(c.skew.Load())
	if err := c.signer.SignHTTP(ctx, creds, req, payload, c.svc.name, c.region, time.Now().Add(attemptSkew)); err != nil {
		return answer{}, fmt.Errorf("%s: signing: %w", k.op, err)
	}
	sent := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s: %w", k.op, err)
	}
	received := time.Now()
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, cmp.Or(k.answerLimit, maxAnswerBytes)))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4*maxAnswerBytes)) // to reuse the connection
	skew, hasSkew := serverSkew(resp.Header, sent, received)
	if hasSkew {
		c.skew.Store(int64(skew))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := c.apiError(k.op, resp, body)
		e.clockSkew = hasSkew && isClockSkewCode(e.Code) && (attemptSkew-skew).Abs() > skewThreshold
		return answer{}, e
	}
	if err != nil {
		return answer{}, fmt.Errorf("%s: reading the answer: %w", k.op, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// Clock skew correction as the SDK does it (its Clock Skew Correction SEP):
// every answer's Date gives the offset to sign the next request with, and
// a signature refused while the clocks differ by more than skewThreshold
// is worth another try.
const (
	skewThreshold         = 4 * time.Minute
	maxTrustedRequestTime = 15 * time.Minute
)

func serverSkew(h http.Header, sent, received time.Time) (time.Duration, bool) {
	date := h.Get("Date")
	if date == "" || h.Get("Age") != "" || received.Sub(sent) > maxTrustedRequestTime {
		return 0, false
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return 0, false
	}
	return t.Sub(received), true
}

func isClockSkewCode(code string) bool {
	switch code {
	case "InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure", "RequestTimeTooSkewed", "AccessDeniedException":
		return true
	}
	return false
}

// apiError reads a refusal in the service's protocol.
func (c *client) apiError(op string, resp *http.Response, body []byte) *APIError {
	e := &APIError{Operation: op, StatusCode: resp.StatusCode, Header: resp.Header}
	switch c.proto {
	case awsJSON, restJSON:
		var info struct {
			Type    string `json:"__type"`
			Code    any    `json:"code"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &info) // an answer that is not JSON keeps the status only
		code := resp.Header.Get("X-Amzn-ErrorType")
		if code == "" {
			code = info.Type
		}
		if s, ok := info.Code.(string); ok && code == "" {
			code = s
		}
		e.Code, e.Message = sanitizeCode(code), info.Message
		// SQS gives its query-protocol codes (AWS.SimpleQueueService.…)
		// in a header; the SDK reports those.
		if q, _, _ := strings.Cut(resp.Header.Get("X-Amzn-Query-Error"), ";"); q != "" && c.proto == awsJSON {
			e.Code = q
		}
		e.RequestID = resp.Header.Get("X-Amzn-RequestId")
	case awsQuery:
		var r struct {
			Error struct {
				Code    string
				Message string
			}
			RequestID string `xml:"RequestId"`
		}
		_ = xml.Unmarshal(body, &r)
		e.Code, e.Message = r.Error.Code, r.Error.Message
		e.RequestID = cmp.Or(r.RequestID, resp.Header.Get("X-Amzn-RequestId"))
	case restXML:
		var r struct {
			Code      string
			Message   string
			Region    string
			RequestID string `xml:"RequestId"`
		}
		_ = xml.Unmarshal(body, &r)
		e.Code, e.Message, e.region = r.Code, r.Message, r.Region
		e.RequestID = cmp.Or(r.RequestID, resp.Header.Get("X-Amz-Request-Id"))
		if e.Code == "" {
			// No body (or not XML): the SDK names the status.
			e.Code = strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "")
		}
	}
	return e
}

// sanitizeCode strips a namespace and a URI from an error type:
// "com.amazonaws.sqs#QueueDoesNotExist:http://…" is QueueDoesNotExist.
func sanitizeCode(code string) string {
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.IndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	return code
}

// jsonBody encodes v as the JSON protocols want it; HTML characters stay
// as they are (the default escaping would make a record of "<" six times
// its size on the wire).
func jsonBody(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// jsonHeader is the header of an AWS JSON call.
func jsonHeader(version, target string) http.Header {
	return http.Header{
		"Content-Type": {"application/x-amz-json-" + version},
		"X-Amz-Target": {target},
	}
}

// queryBody encodes a query-protocol request as the SDK does: keys sorted,
// query-escaped.
func queryBody(v url.Values) []byte { return []byte(v.Encode()) }

// httpClient is the client of the destinations given none: one pool of
// connections for all. It honours HTTP(S)_PROXY and NO_PROXY, and returns
// redirects instead of following them (S3 answers a bucket in another
// region so, and a signed request must not go elsewhere).
func (c *Config) httpClient() *http.Client {
	c.httpOnce.Do(func() {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 10
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		c.http = &http.Client{
			Transport:     t,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	})
	return c.http
}
