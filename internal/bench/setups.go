package bench

import (
	"maps"
	"path/filepath"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/rie"
)

// Setups.
const (
	None     = "none"            // the function alone
	Noop     = "noop"            // the function and the do-nothing extension
	Relay    = "relay"           // the do-nothing extension and a TCP relay (./relayext)
	Layer    = "layer"           // the function through the layer, stdout destination
	Carry    = "layer-onfailure" // the layer with records on failure only
	Webhook  = "layer-webhook"   // the layer delivering to a local webhook before /next
	Baseline = "baseline"        // another build of the layer, when Options.BaselineDir is set
	Backlog  = "layer-backlog"   // the layer in the background strategy, behind a slow webhook
	// Under the emulator's Lambda Managed Instances mode.
	Managed      = "lmi"         // the function alone
	ManagedRelay = "lmi-relay"   // the do-nothing extension and a TCP relay
	ManagedLayer = "lmi-webhook" // the function through the layer, records to a local webhook
)

// Extension executables inside the layers, as the emulator starts them.
const (
	LayerExtension = "/opt/extensions/destinations"
	NoopExtension  = "/opt/extensions/noop"
	RelayExtension = "/opt/extensions/relay"
)

// phase is a part of a run that a setup takes part in.
type phase int

const (
	coldStarts   phase = 1 << iota // fresh emulators: the init phase
	warm                           // sequential 1 KB invocations, idle memory
	large                          // large responses, peak memory
	backlog                        // a webhook slower than the invocations
	managedPhase                   // concurrent invocations under Managed Instances
	all          = coldStarts | warm | large
)

// setup is one way of running the function.
type setup struct {
	name  string
	about string // what it is, for the report
	ext   string // the extension's executable; "" for none
	// layer is the folder mounted at /opt: nil for none, and a setup whose
	// folder is "" is not part of the run.
	layer func(Options) string
	wrap  bool // the runtime goes through the layer's destinations-wrapper
	// env is the layer's configuration; hook is the local webhook's URL.
	env    func(hook string) map[string]string
	phases phase
}

// setups, in the order the report shows them.
var setups = []setup{
	{name: None, about: "the function alone", phases: all},
	{name: Noop, about: "with a do-nothing extension (registers, loops on /next): the floor of any extension",
		ext: NoopExtension, layer: func(o Options) string { return o.NoopDir }, phases: all},
	{name: Relay, about: "the do-nothing extension plus a byte-for-byte TCP relay the runtime goes through: the floor of any proxy",
		ext: RelayExtension, layer: func(o Options) string { return o.RelayDir }, wrap: true, phases: all},
	{name: Layer, about: "through this layer, records to stdout",
		ext: LayerExtension, layer: layerDir, wrap: true, env: toStdout, phases: all},
	{name: Carry, about: "through this layer with records on failure only: successes are carried, not recorded",
		ext: LayerExtension, layer: layerDir, wrap: true, phases: warm | large,
		env: func(string) map[string]string { return records("", "stdout") }},
	{name: Webhook, about: "through this layer delivering to a local webhook before /next (DESTINATIONS_FLUSH=end)",
		ext: LayerExtension, layer: layerDir, wrap: true, phases: warm,
		env: func(hook string) map[string]string { return records(hook+"/success", "stdout") }},
	{name: Baseline, about: "another build of the layer (-baseline), set up as layer",
		ext: LayerExtension, layer: func(o Options) string { return o.BaselineDir }, wrap: true, env: toStdout, phases: all},
	{name: Backlog, about: "through this layer, records delivered in the background to a webhook slower than the invocations",
		ext: LayerExtension, layer: layerDir, wrap: true, phases: backlog,
		env: func(hook string) map[string]string {
			return map[string]string{"DESTINATIONS_ON_SUCCESS": hook + "/backlog", "DESTINATIONS_FLUSH": "background"}
		}},
	{name: Managed, about: "the function alone under Lambda Managed Instances (the emulator's mode)", phases: managedPhase},
	{name: ManagedRelay, about: "the byte-for-byte TCP relay under Lambda Managed Instances: the floor of any proxy there",
		ext: RelayExtension, layer: func(o Options) string { return o.RelayDir }, phases: managedPhase},
	{name: ManagedLayer, about: "through this layer under Lambda Managed Instances, records to a local webhook",
		ext: LayerExtension, layer: layerDir, phases: managedPhase,
		env: func(hook string) map[string]string { return map[string]string{"DESTINATIONS_ON_SUCCESS": hook} }},
}

func layerDir(o Options) string { return o.LayerDir }

func toStdout(string) map[string]string { return records("stdout", "stdout") }

// records configures the layer to deliver at the end of each invocation;
// "" leaves a condition without destination.
func records(success, failure string) map[string]string {
	env := map[string]string{"DESTINATIONS_FLUSH": "end"}
	if success != "" {
		env["DESTINATIONS_ON_SUCCESS"] = success
	}
	if failure != "" {
		env["DESTINATIONS_ON_FAILURE"] = failure
	}
	return env
}

// in returns the setups that take part in phase p of this run, in order.
func (r *runner) in(p phase) []setup {
	var out []setup
	for _, s := range setups {
		if s.phases&p != 0 && (s.layer == nil || s.layer(r.o) != "") {
			out = append(out, s)
		}
	}
	return out
}

// options configure the emulator of a setup; hook is the URL of the
// webhook receiver its records go to, if any.
func (r *runner) options(s setup, hook string) rie.Options {
	o := rie.Options{
		TaskRoot: filepath.Dir(r.o.Function),
		Command:  []string{r.o.Function},
		Timeout:  30 * time.Second,
		Env:      map[string]string{},
		// The log pipe is drained as Lambda's is, without keeping every
		// record: 5 MiB records by the hundred would otherwise stall the
		// harness, and the layer writing them with it.
		KeepOutput: 1 << 20,
	}
	if s.layer != nil {
		o.LayerDir = s.layer(r.o)
	}
	if s.wrap {
		o.Command = []string{"/opt/destinations-wrapper", r.o.Function}
	}
	if s.env != nil {
		maps.Copy(o.Env, s.env(hook))
	}
	return o
}
