package fakeaws

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// NewSNS starts a fake SNS: Publish and PublishBatch in the query
// protocol, answered in XML.
func NewSNS(tb testing.TB) *Server {
	tb.Helper()
	return newServer(tb, snsFake{}, snsFaults)
}

type snsFake struct{}

const snsXMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"

func (snsFake) signingName() string { return "sns" }

func (snsFake) batch(op string) bool { return op == "PublishBatch" }

// form reads a query-protocol body and remembers which keys were read, so
// that a key nobody reads (a field the fake does not know) is reported.
type form struct {
	v    url.Values
	read map[string]bool
}

func (f *form) get(k string) string {
	f.read[k] = true
	return f.v.Get(k)
}

func (f *form) has(k string) bool { return f.v.Has(k) }

func (f *form) unread() []string {
	var out []string
	for k := range f.v {
		if !f.read[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (snsFake) decode(r *http.Request, body []byte) (Call, error) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return Call{}, fmt.Errorf("not an SNS query call: %s %s", r.Method, r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		return Call{}, fmt.Errorf("Content-Type %q, want application/x-www-form-urlencoded", ct)
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return Call{}, fmt.Errorf("form body: %w", err)
	}
	f := &form{v: v, read: map[string]bool{}}
	if ver := f.get("Version"); ver != "2010-03-31" {
		return Call{}, fmt.Errorf("Version %q, want 2010-03-31", ver)
	}
	c := Call{Operation: f.get("Action"), Target: f.get("TopicArn")}
	switch c.Operation {
	case "Publish":
		c.Entries = []Entry{snsEntry(f, "")}
	case "PublishBatch":
		for n := 1; f.has(fmt.Sprintf("PublishBatchRequestEntries.member.%d.Id", n)); n++ {
			c.Entries = append(c.Entries, snsEntry(f, fmt.Sprintf("PublishBatchRequestEntries.member.%d.", n)))
		}
	default:
		return Call{}, fmt.Errorf("operation %q is not faked", c.Operation)
	}
	if c.Target == "" {
		return Call{}, fmt.Errorf("%s without TopicArn", c.Operation)
	}
	if u := f.unread(); len(u) > 0 {
		return Call{}, fmt.Errorf("%s: unexpected fields %v", c.Operation, u)
	}
	return c, nil
}

func snsEntry(f *form, prefix string) Entry {
	e := Entry{
		ID:              f.get(prefix + "Id"),
		Body:            f.get(prefix + "Message"),
		GroupID:         f.get(prefix + "MessageGroupId"),
		DeduplicationID: f.get(prefix + "MessageDeduplicationId"),
	}
	for n := 1; ; n++ {
		p := prefix + "MessageAttributes.entry." + strconv.Itoa(n) + "."
		if !f.has(p + "Name") {
			break
		}
		if e.Attributes == nil {
			e.Attributes = map[string]Attribute{}
		}
		a := Attribute{DataType: f.get(p + "Value.DataType"), StringValue: f.get(p + "Value.StringValue")}
		if f.has(p + "Value.BinaryValue") {
			a.BinaryValue = []byte(f.get(p + "Value.BinaryValue")) // base64, as sent
		}
		e.Attributes[f.get(p+"Name")] = a
	}
	return e
}

// snsFaults is how SNS spells each fault.
var snsFaults = &faultTable{
	Throttle:     {status: 429, code: "Throttled", message: "Rate exceeded", sender: true},
	ServerError:  {status: 500, code: "InternalError", message: "Internal error"},
	TooLarge:     {status: 400, code: "InvalidParameter", message: "Invalid parameter: Message too long", sender: true},
	NotFound:     {status: 404, code: "NotFound", message: "Topic does not exist", sender: true},
	AccessDenied: {status: 403, code: "AuthorizationError", message: "User is not authorized to perform: SNS:Publish", sender: true},
	badSignature: {status: 403, code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match the signature you provided", sender: true},
}

func (snsFake) writeError(w http.ResponseWriter, e wireError) {
	typ := "Receiver"
	if e.sender {
		typ = "Sender"
	}
	type errorBody struct {
		Type    string
		Code    string
		Message string
	}
	writeXML(w, e.status, struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		XMLNS     string   `xml:"xmlns,attr"`
		Error     errorBody
		RequestId string
	}{XMLNS: snsXMLNS, Error: errorBody{typ, e.code, e.message}, RequestId: "fakeaws-sns"})
}

func (snsFake) answer(s *Server, w http.ResponseWriter, c Call, failed map[int]wireError) {
	type metadata struct{ RequestId string }
	seq := func(group string) string {
		if group == "" {
			return ""
		}
		return "1" + strings.Repeat("0", 19)
	}
	if c.Operation == "Publish" {
		type result struct {
			MessageId      string
			SequenceNumber string `xml:",omitempty"`
		}
		writeXML(w, 200, struct {
			XMLName          xml.Name `xml:"PublishResponse"`
			XMLNS            string   `xml:"xmlns,attr"`
			PublishResult    result
			ResponseMetadata metadata
		}{XMLNS: snsXMLNS, PublishResult: result{s.messageID(), seq(c.Entries[0].GroupID)}, ResponseMetadata: metadata{"fakeaws-sns"}})
		return
	}
	type ok struct {
		Id             string
		MessageId      string
		SequenceNumber string `xml:",omitempty"`
	}
	type bad struct {
		Id          string
		Code        string
		Message     string
		SenderFault bool
	}
	var result struct {
		Successful []ok  `xml:"Successful>member"`
		Failed     []bad `xml:"Failed>member"`
	}
	for k, e := range c.Entries {
		if we, isFailed := failed[k]; isFailed {
			result.Failed = append(result.Failed, bad{e.ID, we.code, we.message, we.sender})
			continue
		}
		result.Successful = append(result.Successful, ok{e.ID, s.messageID(), seq(e.GroupID)})
	}
	writeXML(w, 200, struct {
		XMLName            xml.Name `xml:"PublishBatchResponse"`
		XMLNS              string   `xml:"xmlns,attr"`
		PublishBatchResult any
		ResponseMetadata   metadata
	}{XMLNS: snsXMLNS, PublishBatchResult: result, ResponseMetadata: metadata{"fakeaws-sns"}})
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", "fakeaws-sns")
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	w.Write(b)
}
