package config

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/redact"
)

// Routing holds the settings that choose which invocations make records and
// what the records hold. Their zero values change nothing, so that a Config
// made by hand records as native does.
type Routing struct {
	SampleSuccesses bool     // whether SampleRate applies
	SampleRate      float64  // share of success records kept
	ErrorTypes      []string // failure error types routed; empty: all
	Slow            []destination.Target
	SlowThreshold   time.Duration
	Redactor        *redact.Redactor // nil when nothing is redacted
	OmitRequest     bool
	OmitResponse    bool
	WebhookSecret   string
	AddContext      bool
}

// read derives and checks the routing settings of e.
func (r *Routing) read(e *environment) error {
	rate, err := strconv.ParseFloat(strings.TrimSpace(e.SuccessSampleRate), 64)
	if err != nil || math.IsNaN(rate) || rate < 0 || rate > 1 {
		return &Error{"DESTINATIONS_SUCCESS_SAMPLE_RATE", e.SuccessSampleRate, "want a number from 0 to 1 (the share of success records kept)"}
	}
	r.SampleRate, r.SampleSuccesses = rate, rate < 1

	for _, t := range e.FailureErrorTypes {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if i := strings.IndexByte(t, '*'); i >= 0 && i != len(t)-1 {
			return &Error{"DESTINATIONS_FAILURE_ERROR_TYPES", strings.Join(e.FailureErrorTypes, ","), "* is allowed only at the end of an error type, as a prefix match: " + t}
		}
		r.ErrorTypes = append(r.ErrorTypes, t)
	}

	if r.Slow, err = targets("DESTINATIONS_ON_SLOW", e.OnSlow); err != nil {
		return err
	}
	if s := strings.TrimSpace(e.SlowMS); s != "" {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil || ms <= 0 || ms > math.MaxInt64/int64(time.Millisecond) {
			return &Error{"DESTINATIONS_SLOW_MS", e.SlowMS, "want a whole number of milliseconds above 0"}
		}
		r.SlowThreshold = time.Duration(ms) * time.Millisecond
	}
	if len(r.Slow) > 0 && r.SlowThreshold == 0 {
		return &Error{"DESTINATIONS_SLOW_MS", e.SlowMS, "required when DESTINATIONS_ON_SLOW is set: the duration in milliseconds above which a success is slow"}
	}

	nonJSON, err := redact.ParseNonJSON(e.RedactNonJSON)
	if err != nil {
		return &Error{"DESTINATIONS_REDACT_NON_JSON", e.RedactNonJSON, err.Error()}
	}
	red, err := redact.New(e.Redact, nonJSON)
	if err != nil {
		return &Error{"DESTINATIONS_REDACT", strings.Join(e.Redact, ","), err.Error()}
	}
	if red.Active() {
		r.Redactor = red
	}

	request, response, none, given := false, false, false, false
	for _, v := range e.Include {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "":
			continue
		case "request":
			request = true
		case "response":
			response = true
		case "none":
			none = true
		default:
			return &Error{"DESTINATIONS_INCLUDE", strings.Join(e.Include, ","), "want request, response, request,response or none"}
		}
		given = true
	}
	if none && (request || response) {
		return &Error{"DESTINATIONS_INCLUDE", strings.Join(e.Include, ","), "none leaves both payloads out: it cannot be combined with request or response"}
	}
	r.OmitRequest, r.OmitResponse = given && !request, given && !response
	r.WebhookSecret = e.WebhookSecret
	if r.AddContext, err = strconv.ParseBool(strings.ToLower(strings.TrimSpace(e.AddContext))); err != nil {
		return &Error{"DESTINATIONS_CONTEXT", e.AddContext, "want true or false"}
	}
	return nil
}
