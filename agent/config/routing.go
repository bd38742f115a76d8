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
// what the records hold. Rates and thresholds are read as text so that a
// wrong value gets a reason, not just a type name.
type Routing struct {
	SuccessSampleRate string   `env:"DESTINATIONS_SUCCESS_SAMPLE_RATE" envDefault:"1"`
	FailureErrorTypes []string `env:"DESTINATIONS_FAILURE_ERROR_TYPES"`
	OnSlow            []string `env:"DESTINATIONS_ON_SLOW"`
	SlowMS            string   `env:"DESTINATIONS_SLOW_MS"`
	Redact            []string `env:"DESTINATIONS_REDACT"`
	RedactNonJSON     string   `env:"DESTINATIONS_REDACT_NON_JSON" envDefault:"keep"`
	Include           []string `env:"DESTINATIONS_INCLUDE" envDefault:"request,response"`
	WebhookSecret     string   `env:"DESTINATIONS_WEBHOOK_SECRET"`
	AddContext        bool     `env:"DESTINATIONS_CONTEXT"`

	// Derived by Load; their zero values change nothing, so that a Config
	// made by hand records as native does.
	SampleSuccesses bool                 `env:"-"` // whether SampleRate applies
	SampleRate      float64              `env:"-"` // share of success records kept
	ErrorTypes      []string             `env:"-"` // failure error types routed; empty: all
	Slow            []destination.Target `env:"-"`
	SlowThreshold   time.Duration        `env:"-"`
	Redactor        *redact.Redactor     `env:"-"` // nil when nothing is redacted
	OmitRequest     bool                 `env:"-"`
	OmitResponse    bool                 `env:"-"`
}

func (r *Routing) derive() error {
	rate, err := strconv.ParseFloat(strings.TrimSpace(r.SuccessSampleRate), 64)
	if err != nil || math.IsNaN(rate) || rate < 0 || rate > 1 {
		return &Error{"DESTINATIONS_SUCCESS_SAMPLE_RATE", r.SuccessSampleRate, "want a number from 0 to 1 (the share of success records kept)"}
	}
	r.SampleRate, r.SampleSuccesses = rate, rate < 1

	r.ErrorTypes = nil
	for _, t := range r.FailureErrorTypes {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if i := strings.IndexByte(t, '*'); i >= 0 && i != len(t)-1 {
			return &Error{"DESTINATIONS_FAILURE_ERROR_TYPES", strings.Join(r.FailureErrorTypes, ","), "* is allowed only at the end of an error type, as a prefix match: " + t}
		}
		r.ErrorTypes = append(r.ErrorTypes, t)
	}

	if r.Slow, err = targets("DESTINATIONS_ON_SLOW", r.OnSlow); err != nil {
		return err
	}
	r.SlowThreshold = 0
	if s := strings.TrimSpace(r.SlowMS); s != "" {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil || ms <= 0 || ms > math.MaxInt64/int64(time.Millisecond) {
			return &Error{"DESTINATIONS_SLOW_MS", r.SlowMS, "want a whole number of milliseconds above 0"}
		}
		r.SlowThreshold = time.Duration(ms) * time.Millisecond
	}
	if len(r.Slow) > 0 && r.SlowThreshold == 0 {
		return &Error{"DESTINATIONS_SLOW_MS", r.SlowMS, "required when DESTINATIONS_ON_SLOW is set: the duration in milliseconds above which a success is slow"}
	}

	nonJSON, err := redact.ParseNonJSON(r.RedactNonJSON)
	if err != nil {
		return &Error{"DESTINATIONS_REDACT_NON_JSON", r.RedactNonJSON, err.Error()}
	}
	red, err := redact.New(r.Redact, nonJSON)
	if err != nil {
		return &Error{"DESTINATIONS_REDACT", strings.Join(r.Redact, ","), err.Error()}
	}
	r.Redactor = nil
	if red.Active() {
		r.Redactor = red
	}

	request, response, none, given := false, false, false, false
	for _, v := range r.Include {
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
			return &Error{"DESTINATIONS_INCLUDE", strings.Join(r.Include, ","), "want request, response, request,response or none"}
		}
		given = true
	}
	if none && (request || response) {
		return &Error{"DESTINATIONS_INCLUDE", strings.Join(r.Include, ","), "none leaves both payloads out: it cannot be combined with request or response"}
	}
	r.OmitRequest, r.OmitResponse = given && !request, given && !response
	return nil
}
