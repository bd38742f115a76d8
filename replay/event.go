package replay

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/lambda-destinations/lambda-destinations/agent"
	"github.com/lambda-destinations/lambda-destinations/agent/record"
	"github.com/lambda-destinations/lambda-destinations/agent/redact"
)

// redactedNonJSON starts the marker that replaces a payload that is not
// JSON under DESTINATIONS_REDACT_NON_JSON=drop (agent/redact writes it).
const redactedNonJSON = "[REDACTED non-JSON payload of "

// Reason is why a record is not re-driven: a short kind, the same for
// all records skipped for one cause, and a sentence.
type Reason struct {
	Kind string
	Text string
}

// Kinds of Reason.
const (
	KindUnreadable  = "unreadable"
	KindTruncated   = "truncated"
	KindOmitted     = "omitted-for-size"
	KindNoPayload   = "no-request-payload"
	KindRedacted    = "redacted"
	KindBadEncoding = "bad-encoding"
	KindBadFunction = "bad-function-arn"
	KindDuplicate   = "duplicate"
	KindSucceeded   = "succeeded-later"
)

// event is the event to send again for a record: its requestPayload, as
// the function received it (decoded when the record carries it in
// base64). When the record does not hold the event whole and as it was,
// it returns why instead: a changed event is never re-driven.
func event(r record.Record) ([]byte, Reason) {
	p := bytes.TrimSpace(r.RequestPayload)
	if t := r.RequestPayloadTruncated; t != nil {
		return nil, Reason{KindTruncated, fmt.Sprintf("requestPayload truncated: %d of its %d bytes kept (DESTINATIONS_MAX_PAYLOAD_BYTES)", t.Kept, t.Size)}
	}
	if o, ok := omitted(p); ok {
		if o.Location != "" {
			return nil, Reason{KindOmitted, "requestPayload left out for its size, and the whole record at " + o.Location + " was not read"}
		}
		return nil, Reason{KindOmitted, `requestPayload left out for its size: the whole record is on the function's log, as an "oversize record" line`}
	}
	if len(p) == 0 || string(p) == "null" {
		return nil, Reason{KindNoPayload, "no requestPayload: left out (DESTINATIONS_INCLUDE), or the request had no body"}
	}
	if redacted(p) {
		return nil, Reason{KindRedacted, "requestPayload redacted (DESTINATIONS_REDACT)"}
	}
	if r.RequestPayloadEncoding == "base64" {
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return nil, Reason{KindBadEncoding, "requestPayload marked base64 is not a JSON string"}
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, Reason{KindBadEncoding, "requestPayload marked base64 is not base64: " + err.Error()}
		}
		return b, Reason{}
	}
	return p, Reason{}
}

// overflow is where the whole record is kept when the record's payloads
// were left out for its size and stored in the overflow bucket: an
// s3://BUCKET/KEY location, or "".
func overflow(r record.Record) string {
	if o, ok := omitted(bytes.TrimSpace(r.RequestPayload)); ok {
		return o.Location
	}
	return ""
}

// omitted reads the marker that replaces a payload left out for size.
func omitted(p []byte) (agent.Omitted, bool) {
	if !bytes.HasPrefix(p, []byte("{")) || !bytes.Contains(p, []byte(`"destinationsOmitted"`)) {
		return agent.Omitted{}, false
	}
	var o agent.Omitted
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.DisallowUnknownFields()
	if dec.Decode(&o) != nil || !o.Omitted {
		return agent.Omitted{}, false
	}
	return o, true
}

// redacted reports a payload that holds a value the layer redacted, or
// that is the marker of a redacted payload that was not JSON.
func redacted(p []byte) bool {
	if !bytes.Contains(p, []byte("[REDACTED")) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(p))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if s, ok := tok.(string); ok && (s == redact.Value || strings.HasPrefix(s, redactedNonJSON)) {
			return true
		}
	}
}
