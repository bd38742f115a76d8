package lifecycle

import "github.com/lambda-destinations/lambda-destinations/extension/extapi"

// Mode is the kind of execution environment the extension runs in.
type Mode int

const (
	// Classic Lambda: one invocation at a time, INVOKE and SHUTDOWN events,
	// the environment frozen between invocations.
	Classic Mode = iota
	// Managed is Lambda Managed Instances: many invocations at once, SHUTDOWN
	// alone, never frozen.
	Managed
)

// initTypeManaged is AWS_LAMBDA_INITIALIZATION_TYPE under Managed Instances.
const initTypeManaged = "lambda-managed-instances"

// ModeOf decides the mode from AWS_LAMBDA_INITIALIZATION_TYPE, before
// registering: Managed Instances refuse the INVOKE event, and an extension
// that asks for it fails the function's init.
func ModeOf(initializationType string) Mode {
	if initializationType == initTypeManaged {
		return Managed
	}
	return Classic
}

func (m Mode) String() string {
	if m == Managed {
		return "lambda-managed-instances"
	}
	return "classic"
}

// Events are the Extensions API events to register for in this mode.
func (m Mode) Events() []extapi.EventType {
	if m == Managed {
		return []extapi.EventType{extapi.Shutdown}
	}
	return []extapi.EventType{extapi.Invoke, extapi.Shutdown}
}

// TelemetrySchema is the Telemetry API schema version to subscribe with:
// Managed Instances accept only their own.
func (m Mode) TelemetrySchema() string {
	if m == Managed {
		return "2025-01-29"
	}
	return "2022-12-13"
}

// TelemetryBuffering is how the Telemetry API should batch events. On
// classic Lambda, the smallest wait it allows, so that runtimeDone arrives
// before the SHUTDOWN that follows a timeout or a crash. Under Managed
// Instances, with many invocations a second, a longer one: the batches are
// fewer and larger, and the deadline settles a timeout anyway.
func (m Mode) TelemetryBuffering() extapi.Buffering {
	if m == Managed {
		return extapi.Buffering{MaxItems: 10000, MaxBytes: 1 << 20, TimeoutMs: 500}
	}
	return extapi.Buffering{MaxItems: 1000, MaxBytes: 262144, TimeoutMs: 25}
}
