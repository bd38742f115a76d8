package sam_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/metrics"
	"github.com/lambda-destinations/lambda-destinations/agent/metrics/emftest"
)

// template is template.yaml decoded into maps, intrinsics kept as written
// ({"Ref": …}, {"Fn::GetAtt": …}, {"Fn::Sub": …}).
type template struct {
	Parameters map[string]map[string]any
	Conditions map[string]any
	Globals    map[string]map[string]any
	Resources  map[string]resource
	Outputs    map[string]map[string]any
}

type resource struct {
	Type       string
	Condition  string
	Metadata   map[string]any
	Properties map[string]any
}

const (
	layerID       = "DestinationsLayer"
	execWrapper   = "/opt/destinations-wrapper"
	maxLayerRTs   = 15 // Lambda's limit on CompatibleRuntimes
	fakeRegion    = "us-east-1"
	fakeAccount   = "123456789012"
	fakePartition = "aws"
)

var ref = func(name string) any { return map[string]any{"Ref": name} }

func loadTemplate(t *testing.T) *template {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// NoProcess keeps intrinsics as they are written. goformation's typed SAM
	// resources are not used: v7.14.9 rejects the layer's CompatibleArchitectures
	// and knows neither AWS::Serverless::CapacityProvider nor a function's
	// CapacityProviderConfig.
	js, err := intrinsics.ProcessYAML(b, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	var tpl template
	if err := json.Unmarshal(js, &tpl); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return &tpl
}

// functions returns the logical IDs of the template's functions, sorted.
func (tpl *template) functions() []string {
	var ids []string
	for id, r := range tpl.Resources {
		if r.Type == "AWS::Serverless::Function" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// prop is a function property, falling back to Globals.
func (tpl *template) prop(id, name string) any {
	if v, ok := tpl.Resources[id].Properties[name]; ok {
		return v
	}
	return tpl.Globals["Function"][name]
}

// variables are a function's environment variables, Globals merged in.
func (tpl *template) variables(id string) map[string]any {
	vars := map[string]any{}
	get := func(props map[string]any) {
		env, _ := props["Environment"].(map[string]any)
		v, _ := env["Variables"].(map[string]any)
		maps.Copy(vars, v)
	}
	get(tpl.Globals["Function"])
	get(tpl.Resources[id].Properties)
	return vars
}

func (tpl *template) hasLayer(id string) bool {
	layers, _ := tpl.prop(id, "Layers").([]any)
	return slices.ContainsFunc(layers, func(l any) bool { return reflect.DeepEqual(l, ref(layerID)) })
}

func TestLayer(t *testing.T) {
	tpl := loadTemplate(t)
	var layers []string
	for id, r := range tpl.Resources {
		if r.Type == "AWS::Serverless::LayerVersion" {
			layers = append(layers, id)
		}
	}
	if !slices.Equal(layers, []string{layerID}) {
		t.Fatalf("layers = %v, want [%s]", layers, layerID)
	}
	layer := tpl.Resources[layerID]

	if got := layer.Metadata["BuildMethod"]; got != "makefile" {
		t.Errorf("Metadata.BuildMethod = %v, want makefile", got)
	}
	arch := tpl.Parameters["Architecture"]
	if got := arch["AllowedValues"]; !reflect.DeepEqual(got, []any{"x86_64", "arm64"}) {
		t.Errorf("parameter Architecture AllowedValues = %v, want [x86_64 arm64]", got)
	}
	if arch["Default"] != "x86_64" {
		t.Errorf("parameter Architecture Default = %v, want x86_64", arch["Default"])
	}
	if got := layer.Metadata["BuildArchitecture"]; !reflect.DeepEqual(got, ref("Architecture")) {
		t.Errorf("Metadata.BuildArchitecture = %v, want !Ref Architecture", got)
	}
	if got := layer.Properties["CompatibleArchitectures"]; !reflect.DeepEqual(got, []any{ref("Architecture")}) {
		t.Errorf("CompatibleArchitectures = %v, want [!Ref Architecture]: a build holds one architecture", got)
	}

	var runtimes []string
	for _, r := range layer.Properties["CompatibleRuntimes"].([]any) {
		runtimes = append(runtimes, r.(string))
	}
	if len(runtimes) > maxLayerRTs {
		t.Errorf("%d CompatibleRuntimes; Lambda accepts at most %d", len(runtimes), maxLayerRTs)
	}
	for _, want := range []string{"nodejs22.x", "nodejs24.x", "provided.al2023", "python3.", "java", "dotnet", "ruby"} {
		if !slices.ContainsFunc(runtimes, func(r string) bool { return strings.HasPrefix(r, want) }) {
			t.Errorf("CompatibleRuntimes %v: none is %s…", runtimes, want)
		}
	}
	deprecated := []string{"nodejs16.x", "nodejs18.x", "nodejs20.x", "python3.8", "python3.9", "java8", "java8.al2", "java11",
		"dotnet6", "dotnet7", "ruby3.2", "go1.x", "provided"}
	for _, r := range runtimes {
		if slices.Contains(deprecated, r) {
			t.Errorf("CompatibleRuntimes lists %s, deprecated or without wrapper support", r)
		}
	}

	found := false
	for _, o := range tpl.Outputs {
		found = found || reflect.DeepEqual(o["Value"], ref(layerID))
	}
	if !found {
		t.Errorf("no output has the layer's ARN (!Ref %s)", layerID)
	}
}

func TestFunctions(t *testing.T) {
	tpl := loadTemplate(t)
	runtimes := tpl.Resources[layerID].Properties["CompatibleRuntimes"].([]any)
	if got := tpl.Parameters["LogLevel"]["AllowedValues"]; !reflect.DeepEqual(got, []any{"debug", "info", "warn", "error"}) {
		t.Errorf("parameter LogLevel AllowedValues = %v", got)
	}

	var node, goSample []string
	for _, id := range tpl.functions() {
		t.Run(id, func(t *testing.T) {
			r := tpl.Resources[id]
			runtime, _ := tpl.prop(id, "Runtime").(string)
			handler, _ := tpl.prop(id, "Handler").(string)
			vars := tpl.variables(id)
			if got := tpl.prop(id, "Architectures"); !reflect.DeepEqual(got, []any{ref("Architecture")}) {
				t.Errorf("Architectures = %v, want [!Ref Architecture]", got)
			}
			if !tpl.hasLayer(id) {
				for name := range vars {
					if strings.HasPrefix(name, "DESTINATIONS_") || name == "AWS_LAMBDA_EXEC_WRAPPER" {
						t.Errorf("%s is set on a function without the layer", name)
					}
				}
				return
			}
			for _, name := range []string{"DESTINATIONS_ON_SUCCESS", "DESTINATIONS_ON_FAILURE"} {
				if vars[name] == nil {
					t.Errorf("%s is not set", name)
				}
			}
			if got := vars["DESTINATIONS_LOG_LEVEL"]; !reflect.DeepEqual(got, ref("LogLevel")) {
				t.Errorf("DESTINATIONS_LOG_LEVEL = %v, want !Ref LogLevel", got)
			}
			if !slices.Contains(runtimes, any(runtime)) {
				t.Errorf("runtime %s is not in the layer's CompatibleRuntimes", runtime)
			}
			if strings.HasPrefix(runtime, "provided") {
				// OS-only runtimes ignore exec wrappers: the layer's bootstrap
				// runs the binary named in Handler, which must not be bootstrap.
				goSample = append(goSample, id)
				if handler == "" || handler == "bootstrap" {
					t.Errorf("Handler = %q: name the function's binary, not bootstrap, so /opt/bootstrap runs", handler)
				}
				if vars["AWS_LAMBDA_EXEC_WRAPPER"] != nil {
					t.Errorf("AWS_LAMBDA_EXEC_WRAPPER is set: %s does not run exec wrappers", runtime)
				}
				if r.Metadata["BuildMethod"] != "makefile" {
					t.Errorf("Metadata.BuildMethod = %v, want makefile", r.Metadata["BuildMethod"])
				}
				return
			}
			if got := vars["AWS_LAMBDA_EXEC_WRAPPER"]; got != execWrapper {
				t.Errorf("AWS_LAMBDA_EXEC_WRAPPER = %v, want %s", got, execWrapper)
			}
			if strings.HasPrefix(runtime, "nodejs") {
				node = append(node, id)
				file, _, _ := strings.Cut(handler, ".")
				code, _ := r.Properties["CodeUri"].(string)
				if _, err := os.Stat(filepath.Join("..", code, file+".mjs")); err != nil {
					t.Errorf("Handler %s in CodeUri %s: %v", handler, code, err)
				}
				if r.Metadata["BuildMethod"] != nil {
					t.Errorf("Metadata.BuildMethod = %v: the Node.js function needs no build", r.Metadata["BuildMethod"])
				}
			}
		})
	}
	if len(node) == 0 {
		t.Error("no Node.js function with the layer (the walkthrough example)")
	}
	if len(goSample) == 0 {
		t.Error("no provided.al2023 function with the layer (the Go sample)")
	}
}

// TestMakeTargets checks that every resource sam builds with its makefile
// has a build target.
func TestMakeTargets(t *testing.T) {
	tpl := loadTemplate(t)
	for id, r := range tpl.Resources {
		if r.Metadata["BuildMethod"] != "makefile" {
			continue
		}
		code := r.Properties["CodeUri"]
		if code == nil {
			code = r.Properties["ContentUri"]
		}
		if code != "." {
			t.Errorf("%s: CodeUri = %v, want . (where the Makefile is)", id, code)
		}
		cmd := exec.Command("make", "-n", "build-"+id, "ARTIFACTS_DIR="+t.TempDir())
		cmd.Dir = ".."
		cmd.Env = makeEnv(nil)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("make -n build-%s: %v\n%s", id, err, out)
		}
	}
}

func TestEventBridgeRule(t *testing.T) {
	tpl := loadTemplate(t)
	for _, id := range tpl.functions() {
		events, _ := tpl.Resources[id].Properties["Events"].(map[string]any)
		for _, ev := range events {
			ev := ev.(map[string]any)
			if ev["Type"] != "EventBridgeRule" {
				continue
			}
			props := ev["Properties"].(map[string]any)
			bus, _ := props["EventBusName"].(map[string]any)
			busID, _ := bus["Ref"].(string)
			if tpl.Resources[busID].Type != "AWS::Events::EventBus" {
				t.Errorf("%s: rule on %v, not on the template's bus", id, props["EventBusName"])
			}
			// What the extension sends (DESIGN.md section 3).
			want := map[string]any{"source": []any{"lambda"}, "detail-type": []any{"Lambda Function Invocation Result - Failure"}}
			if !reflect.DeepEqual(props["Pattern"], want) {
				t.Errorf("%s: rule pattern = %v, want %v", id, props["Pattern"], want)
			}
			return
		}
	}
	t.Error("no function has an EventBridgeRule event on the failure bus")
}

// grant is one action on one resource of the template.
type grant struct {
	action string
	id     string
}

func (g grant) String() string { return g.action + " on " + g.id }

// Per resource type: the one action a destination of that type needs, and
// the kind of destination its ARN makes.
var destinationTypes = map[string]struct {
	action string
	kind   destination.Kind
}{
	"AWS::SQS::Queue":           {"sqs:SendMessage", destination.SQS},
	"AWS::SNS::Topic":           {"sns:Publish", destination.SNS},
	"AWS::Events::EventBus":     {"events:PutEvents", destination.EventBridge},
	"AWS::Serverless::Function": {"lambda:InvokeFunction", destination.Lambda},
	"AWS::Lambda::Function":     {"lambda:InvokeFunction", destination.Lambda},
	"AWS::S3::Bucket":           {"s3:PutObject", destination.S3},
}

// SAM policy templates: the parameter naming the resource and what they allow.
var policyTemplates = map[string]struct {
	param  string
	action string
}{
	"SQSSendMessagePolicy":       {"QueueName", "sqs:SendMessage"},
	"SNSPublishMessagePolicy":    {"TopicName", "sns:Publish"},
	"EventBridgePutEventsPolicy": {"EventBusName", "events:PutEvents"},
	"LambdaInvokePolicy":         {"FunctionName", "lambda:InvokeFunction"},
}

// TestLeastPrivilege computes, for each function, the destinations its
// variables name and the grants its policies make, and wants them equal.
func TestLeastPrivilege(t *testing.T) {
	tpl := loadTemplate(t)
	r := resolver{tpl}
	for _, id := range tpl.functions() {
		t.Run(id, func(t *testing.T) {
			want := map[grant]bool{}
			vars := tpl.variables(id)
			for _, name := range []string{"DESTINATIONS_ON_SUCCESS", "DESTINATIONS_ON_FAILURE"} {
				if vars[name] == nil {
					continue
				}
				for _, g := range r.destinations(t, name, vars[name]) {
					want[g] = true
				}
			}
			got := map[grant]bool{}
			policies, _ := tpl.Resources[id].Properties["Policies"].([]any)
			for _, p := range policies {
				for _, g := range r.policy(t, p) {
					got[g] = true
				}
			}
			for g := range want {
				if !got[g] {
					t.Errorf("missing permission: %s", g)
				}
			}
			for g := range got {
				if !want[g] {
					t.Errorf("permission for no destination: %s", g)
				}
			}
		})
	}
}

// destinations resolves a DESTINATIONS_* value with fake names, parses each
// destination as the extension does, and returns the grants they need.
func (r resolver) destinations(t *testing.T, name string, v any) []grant {
	t.Helper()
	s, refs, err := r.value(v)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return nil
	}
	matched := map[string]bool{}
	var grants []grant
	for part := range strings.SplitSeq(s, ",") {
		target, err := destination.Parse(part)
		if err != nil {
			t.Errorf("%s resolves to %q: %v", name, s, err)
			continue
		}
		if target.Kind == destination.Stdout || target.Kind == destination.Webhook {
			continue
		}
		id := ""
		for _, ref := range refs {
			if arn, ok := r.arn(ref); ok && arn == part {
				id = ref
			}
		}
		if id == "" {
			t.Errorf("%s: %s is not the ARN of a resource of the template", name, part)
			continue
		}
		matched[id] = true
		dt := destinationTypes[r.tpl.Resources[id].Type]
		if target.Kind != dt.kind {
			t.Errorf("%s: %s parses as a %s destination, want %s", name, part, target.Kind, dt.kind)
		}
		grants = append(grants, grant{dt.action, id})
	}
	for _, ref := range refs {
		if !matched[ref] {
			t.Errorf("%s: %s is referred to but is not a destination (%q)", name, ref, s)
		}
	}
	return grants
}

// policy returns what one entry of a function's Policies grants, or fails the
// test for an entry whose scope it cannot check.
func (r resolver) policy(t *testing.T, p any) []grant {
	t.Helper()
	m, ok := p.(map[string]any)
	if !ok {
		t.Errorf("policy %v: a managed policy grants more than the destinations need", p)
		return nil
	}
	if stmts, ok := m["Statement"].([]any); ok {
		var grants []grant
		for _, s := range stmts {
			grants = append(grants, r.statement(t, s.(map[string]any))...)
		}
		return grants
	}
	if len(m) != 1 {
		t.Errorf("policy %v: want one SAM policy template or a Statement", m)
		return nil
	}
	for name, params := range m {
		pt, ok := policyTemplates[name]
		if !ok {
			t.Errorf("policy template %s: not one a destination needs", name)
			return nil
		}
		ps, _ := params.(map[string]any)
		if len(ps) != 1 || ps[pt.param] == nil {
			t.Errorf("%s: parameters %v, want only %s", name, params, pt.param)
			return nil
		}
		value, refs, err := r.value(ps[pt.param])
		if err != nil || len(refs) != 1 {
			t.Errorf("%s %s = %v: want one resource of the template (%v)", name, pt.param, ps[pt.param], err)
			return nil
		}
		id := refs[0]
		if destinationTypes[r.tpl.Resources[id].Type].action != pt.action {
			t.Errorf("%s on %s, a %s", name, id, r.tpl.Resources[id].Type)
		}
		if value != r.name(id) {
			t.Errorf("%s %s = %v resolves to %q, want the name of %s", name, pt.param, ps[pt.param], value, id)
		}
		return []grant{{pt.action, id}}
	}
	return nil
}

// statement checks an inline statement: one action on one destination; for
// S3, objects of the bucket, owned by this account.
func (r resolver) statement(t *testing.T, s map[string]any) []grant {
	t.Helper()
	if s["Effect"] != "Allow" {
		t.Errorf("statement %v: only Allow statements are expected", s)
		return nil
	}
	action, ok := s["Action"].(string)
	if !ok {
		t.Errorf("statement %v: want a single action", s)
		return nil
	}
	resource, refs, err := r.value(s["Resource"])
	if err != nil || len(refs) != 1 {
		t.Errorf("statement %v: want one resource of the template (%v)", s, err)
		return nil
	}
	id := refs[0]
	if destinationTypes[r.tpl.Resources[id].Type].action != action {
		t.Errorf("statement allows %s on %s, a %s", action, id, r.tpl.Resources[id].Type)
		return nil
	}
	arn, _ := r.arn(id)
	if action == "s3:PutObject" {
		if resource != arn+"/*" {
			t.Errorf("s3:PutObject on %q, want %q", resource, arn+"/*")
		}
		want := map[string]any{"StringEquals": map[string]any{"s3:ResourceAccount": ref("AWS::AccountId")}}
		if !reflect.DeepEqual(s["Condition"], want) {
			t.Errorf("s3:PutObject condition = %v, want %v", s["Condition"], want)
		}
	} else if resource != arn {
		t.Errorf("%s on %q, want %q", action, resource, arn)
	}
	return []grant{{action, id}}
}

// resolver evaluates the intrinsics of the template with fake names: each
// resource is named after its logical ID, in a fake account and region.
type resolver struct{ tpl *template }

var subVar = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

// value returns v as CloudFormation would resolve it and the logical IDs of
// the resources it refers to.
func (r resolver) value(v any) (string, []string, error) {
	switch v := v.(type) {
	case string:
		return v, nil, nil
	case map[string]any:
		if len(v) != 1 {
			break
		}
		if name, ok := v["Ref"].(string); ok {
			return r.ref(name)
		}
		if id, attr, ok := getAttOf(v); ok {
			return r.getAtt(id, attr)
		}
		if sub, ok := v["Fn::Sub"].(string); ok {
			var refs []string
			var firstErr error
			out := subVar.ReplaceAllStringFunc(sub, func(m string) string {
				name := m[2 : len(m)-1]
				var s string
				var rs []string
				var err error
				if id, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
					s, rs, err = r.getAtt(id, attr)
				} else {
					s, rs, err = r.ref(name)
				}
				if err != nil && firstErr == nil {
					firstErr = err
				}
				refs = append(refs, rs...)
				return s
			})
			return out, refs, firstErr
		}
		if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
			sep, _ := join[0].(string)
			items, _ := join[1].([]any)
			var parts, refs []string
			for _, it := range items {
				s, rs, err := r.value(it)
				if err != nil {
					return "", nil, err
				}
				parts, refs = append(parts, s), append(refs, rs...)
			}
			return strings.Join(parts, sep), refs, nil
		}
	}
	return "", nil, fmt.Errorf("cannot resolve %v", v)
}

func (r resolver) ref(name string) (string, []string, error) {
	switch name {
	case "AWS::Partition":
		return fakePartition, nil, nil
	case "AWS::Region":
		return fakeRegion, nil, nil
	case "AWS::AccountId":
		return fakeAccount, nil, nil
	case "AWS::StackName":
		return "stack", nil, nil
	}
	if p, ok := r.tpl.Parameters[name]; ok {
		return fmt.Sprint(p["Default"]), nil, nil
	}
	res, ok := r.tpl.Resources[name]
	if !ok {
		return "", nil, fmt.Errorf("Ref %s: no such parameter or resource", name)
	}
	switch res.Type {
	case "AWS::SQS::Queue":
		return "https://sqs." + fakeRegion + ".amazonaws.com/" + fakeAccount + "/" + name, []string{name}, nil
	case "AWS::SNS::Topic":
		arn, _ := r.arn(name)
		return arn, []string{name}, nil
	}
	return r.name(name), []string{name}, nil
}

func (r resolver) getAtt(id, attr string) (string, []string, error) {
	res, ok := r.tpl.Resources[id]
	if !ok {
		return "", nil, fmt.Errorf("GetAtt %s.%s: no such resource", id, attr)
	}
	arn, hasARN := r.arn(id)
	switch {
	case attr == "Arn" && hasARN && res.Type != "AWS::SNS::Topic",
		attr == "TopicArn" && res.Type == "AWS::SNS::Topic":
		return arn, []string{id}, nil
	case attr == "QueueName" && res.Type == "AWS::SQS::Queue",
		attr == "TopicName" && res.Type == "AWS::SNS::Topic",
		attr == "Name" && res.Type == "AWS::Events::EventBus":
		return r.name(id), []string{id}, nil
	}
	return "", nil, fmt.Errorf("GetAtt %s.%s: not an attribute of %s this test knows", id, attr, res.Type)
}

// name is a resource's fake physical name.
func (r resolver) name(id string) string {
	if r.tpl.Resources[id].Type == "AWS::S3::Bucket" {
		return strings.ToLower(id)
	}
	return id
}

// arn is a resource's fake ARN, for the types that can be destinations.
func (r resolver) arn(id string) (string, bool) {
	prefix := "arn:" + fakePartition + ":"
	regional := fakeRegion + ":" + fakeAccount + ":"
	switch r.tpl.Resources[id].Type {
	case "AWS::SQS::Queue":
		return prefix + "sqs:" + regional + id, true
	case "AWS::SNS::Topic":
		return prefix + "sns:" + regional + id, true
	case "AWS::Events::EventBus":
		return prefix + "events:" + regional + "event-bus/" + id, true
	case "AWS::Serverless::Function", "AWS::Lambda::Function":
		return prefix + "lambda:" + regional + "function:" + id, true
	case "AWS::S3::Bucket":
		return prefix + "s3:::" + r.name(id), true
	}
	return "", false
}

// TestDeliveryFailuresAlarms: every function of the template that writes
// metrics has an alarm on its DeliveryFailures, on the metric as the
// extension publishes it, and every such alarm watches such a function.
func TestDeliveryFailuresAlarms(t *testing.T) {
	tpl := loadTemplate(t)
	// The dimension sets the extension publishes DeliveryFailures under.
	docs, err := metrics.Format{Namespace: metrics.DefaultNamespace, Function: "f"}.Documents(
		metrics.Tally{Destinations: []metrics.DestinationTally{{Name: "stdout", Failures: 1}}}, time.Now())
	if err != nil || len(docs) != 1 {
		t.Fatalf("documents %q, %v", docs, err)
	}
	doc, err := emftest.Parse(docs[0])
	if err != nil {
		t.Fatal(err)
	}
	published := doc.Sets(metrics.DeliveryFailures)

	alarmed := map[string]bool{}
	for id, r := range tpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" || r.Properties["MetricName"] != metrics.DeliveryFailures {
			continue
		}
		p := r.Properties
		var names []string
		function := ""
		dims, _ := p["Dimensions"].([]any)
		for _, d := range dims {
			d, _ := d.(map[string]any)
			name, _ := d["Name"].(string)
			names = append(names, name)
			if v, ok := d["Value"].(map[string]any); ok && name == metrics.FunctionName {
				function, _ = v["Ref"].(string)
			}
		}
		slices.Sort(names)
		if !slices.ContainsFunc(published, func(set []string) bool { return slices.Equal(slices.Sorted(slices.Values(set)), names) }) {
			t.Errorf("%s: dimensions %v; the extension publishes %s under %v", id, names, metrics.DeliveryFailures, published)
		}
		if tpl.Resources[function].Type != "AWS::Serverless::Function" {
			t.Errorf("%s: FunctionName is %v, want !Ref to a function of the template", id, p["Dimensions"])
			continue
		}
		vars := tpl.variables(function)
		if mode, _ := vars["DESTINATIONS_METRICS"].(string); !strings.EqualFold(mode, "emf") || !tpl.hasLayer(function) {
			t.Errorf("%s watches %s, which writes no metrics (the layer and DESTINATIONS_METRICS=emf)", id, function)
		}
		namespace := metrics.DefaultNamespace
		if ns, ok := vars["DESTINATIONS_METRICS_NAMESPACE"].(string); ok {
			namespace = ns
		}
		if p["Namespace"] != namespace {
			t.Errorf("%s: Namespace %v, want %s", id, p["Namespace"], namespace)
		}
		// Any one record undelivered is worth knowing; a function that
		// delivers nothing writes no data points, which is no failure.
		anyFailure := p["ComparisonOperator"] == "GreaterThanThreshold" && p["Threshold"] == 0.0 ||
			p["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" && p["Threshold"] == 1.0
		period, _ := p["Period"].(float64)
		if p["Statistic"] != "Sum" || !anyFailure || p["TreatMissingData"] != "notBreaching" || period < 60 || int(period)%60 != 0 {
			t.Errorf("%s: Statistic %v, %v %v, TreatMissingData %v, Period %v; want the Sum over whole minutes above 0, missing data not breaching",
				id, p["Statistic"], p["ComparisonOperator"], p["Threshold"], p["TreatMissingData"], p["Period"])
		}
		alarmed[function] = true
	}
	for _, id := range tpl.functions() {
		mode, _ := tpl.variables(id)["DESTINATIONS_METRICS"].(string)
		if strings.EqualFold(mode, "emf") && !alarmed[id] {
			t.Errorf("%s writes metrics and no alarm watches its %s", id, metrics.DeliveryFailures)
		}
	}
	if len(alarmed) == 0 {
		t.Errorf("no alarm on %s", metrics.DeliveryFailures)
	}
}

// TestEnvJSON checks env.json for `sam local invoke --env-vars env.json`:
// records go to the log for every function with the layer. sam local
// overrides only variables that the template declares.
func TestEnvJSON(t *testing.T) {
	tpl := loadTemplate(t)
	b, err := os.ReadFile(filepath.Join("..", "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]map[string]string
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("env.json: %v", err)
	}
	for _, id := range tpl.functions() {
		if !tpl.hasLayer(id) {
			continue
		}
		vars, ok := env[id]
		if !ok {
			t.Errorf("env.json has no entry for %s", id)
			continue
		}
		for _, name := range []string{"DESTINATIONS_ON_SUCCESS", "DESTINATIONS_ON_FAILURE"} {
			if vars[name] != "stdout" {
				t.Errorf("env.json %s %s = %q, want stdout", id, name, vars[name])
			}
		}
	}
	for id, vars := range env {
		if id == "Parameters" {
			continue
		}
		if tpl.Resources[id].Type != "AWS::Serverless::Function" {
			t.Errorf("env.json entry %s is not a function of the template", id)
			continue
		}
		declared := tpl.variables(id)
		for name := range vars {
			if _, ok := declared[name]; !ok {
				t.Errorf("env.json sets %s on %s, which the template does not declare: sam local would ignore it", name, id)
			}
		}
	}
}

// TestSAMConfig checks that samconfig.toml overrides only parameters the
// template has and allows SAM to create the functions' roles.
func TestSAMConfig(t *testing.T) {
	tpl := loadTemplate(t)
	b, err := os.ReadFile(filepath.Join("..", "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, `capabilities = "CAPABILITY_IAM"`) {
		t.Error(`samconfig.toml: no capabilities = "CAPABILITY_IAM"; sam deploy could not create the functions' roles`)
	}
	m := regexp.MustCompile(`(?m)^parameter_overrides = "(.*)"$`).FindAllStringSubmatch(s, -1)
	if len(m) == 0 {
		t.Fatal("samconfig.toml: no parameter_overrides")
	}
	for _, line := range m {
		for _, kv := range regexp.MustCompile(`(\w+)=`).FindAllStringSubmatch(line[1], -1) {
			if _, ok := tpl.Parameters[kv[1]]; !ok {
				t.Errorf("samconfig.toml overrides %s, which is not a parameter of the template", kv[1])
			}
		}
	}
}

const (
	lmiCondition     = "ManagedInstances"
	lmiSwitch        = "EnableManagedInstances"
	capacityProvider = "AWS::Serverless::CapacityProvider"
	lmiMinMemoryMB   = 2048 // the least a function on Lambda Managed Instances gets
)

// TestManagedInstances checks the opt-in Lambda Managed Instances example:
// a capacity provider in the VPC the parameters name, and a function on it
// with the layer, all behind one condition that is off by default.
func TestManagedInstances(t *testing.T) {
	tpl := loadTemplate(t)
	if p := tpl.Parameters[lmiSwitch]; p["Default"] != "false" || !reflect.DeepEqual(p["AllowedValues"], []any{"true", "false"}) {
		t.Errorf("parameter %s = %v, want true or false, default false", lmiSwitch, p)
	}
	for _, name := range []string{"ManagedInstancesSubnetIds", "ManagedInstancesSecurityGroupIds"} {
		// Empty by default: a stack without the example needs no VPC.
		if p := tpl.Parameters[name]; p["Type"] != "CommaDelimitedList" || p["Default"] != "" {
			t.Errorf("parameter %s = %v, want a CommaDelimitedList, empty by default", name, p)
		}
	}
	want := map[string]any{"Fn::Equals": []any{ref(lmiSwitch), "true"}}
	if got := tpl.Conditions[lmiCondition]; !reflect.DeepEqual(got, want) {
		t.Errorf("condition %s = %v, want %v", lmiCondition, got, want)
	}

	var providers []string
	for id, r := range tpl.Resources {
		if r.Type == capacityProvider {
			providers = append(providers, id)
		}
	}
	if len(providers) != 1 {
		t.Fatalf("capacity providers %v, want one", providers)
	}
	cp := tpl.Resources[providers[0]]
	if cp.Condition != lmiCondition {
		t.Errorf("%s: Condition %q, want %s", providers[0], cp.Condition, lmiCondition)
	}
	wantVPC := map[string]any{"SubnetIds": ref("ManagedInstancesSubnetIds"), "SecurityGroupIds": ref("ManagedInstancesSecurityGroupIds")}
	if got := cp.Properties["VpcConfig"]; !reflect.DeepEqual(got, wantVPC) {
		t.Errorf("%s: VpcConfig = %v, want %v", providers[0], got, wantVPC)
	}
	wantArch := map[string]any{"Architectures": []any{ref("Architecture")}}
	if got := cp.Properties["InstanceRequirements"]; !reflect.DeepEqual(got, wantArch) {
		t.Errorf("%s: InstanceRequirements = %v, want %v: the instances run the layer's architecture", providers[0], got, wantArch)
	}

	var onProvider []string
	for _, id := range tpl.functions() {
		cfg, ok := tpl.Resources[id].Properties["CapacityProviderConfig"].(map[string]any)
		if !ok {
			continue
		}
		onProvider = append(onProvider, id)
		if got := slices.Sorted(maps.Keys(cfg)); !slices.Equal(got, []string{"Arn", "ExecutionEnvironmentMemoryGiBPerVCpu", "PerExecutionEnvironmentMaxConcurrency"}) {
			t.Errorf("%s: CapacityProviderConfig has %v", id, got)
		}
		if id, attr, _ := getAttOf(cfg["Arn"]); id != providers[0] || attr != "Arn" {
			t.Errorf("%s: CapacityProviderConfig.Arn = %v, want !GetAtt %s.Arn", id, cfg["Arn"], providers[0])
		}
		if n, ok := cfg["PerExecutionEnvironmentMaxConcurrency"].(float64); !ok || n < 2 || n != float64(int(n)) {
			t.Errorf("%s: PerExecutionEnvironmentMaxConcurrency = %v, want a whole number above 1", id, cfg["PerExecutionEnvironmentMaxConcurrency"])
		}
		if r := cfg["ExecutionEnvironmentMemoryGiBPerVCpu"]; !slices.Contains([]any{2.0, 4.0, 8.0}, r) {
			t.Errorf("%s: ExecutionEnvironmentMemoryGiBPerVCpu = %v, want 2, 4 or 8", id, r)
		}
		if m, _ := tpl.prop(id, "MemorySize").(float64); m < lmiMinMemoryMB {
			t.Errorf("%s: MemorySize = %v, want at least %d", id, tpl.prop(id, "MemorySize"), lmiMinMemoryMB)
		}
		if tpl.prop(id, "AutoPublishAlias") == nil {
			t.Errorf("%s: no AutoPublishAlias: Managed Instances run published versions", id)
		}
		if !tpl.hasLayer(id) {
			t.Errorf("%s: the Managed Instances example runs without the layer", id)
		}
	}
	if len(onProvider) == 0 {
		t.Error("no function on the capacity provider")
	}
}

// TestConditions checks that whatever refers to a resource behind a
// condition, or to a parameter only such resources use, stands behind the
// same condition: CloudFormation refuses the template otherwise.
func TestConditions(t *testing.T) {
	tpl := loadTemplate(t)
	onlyIf := map[string]string{ // parameter or resource -> condition
		"ManagedInstancesSubnetIds":        lmiCondition,
		"ManagedInstancesSecurityGroupIds": lmiCondition,
	}
	for id, r := range tpl.Resources {
		if r.Condition != "" {
			if _, ok := tpl.Conditions[r.Condition]; !ok {
				t.Errorf("%s: Condition %s is not in Conditions", id, r.Condition)
			}
			onlyIf[id] = r.Condition
		}
	}
	check := func(what, condition string, body any) {
		for _, name := range refsOf(body) {
			if want, ok := onlyIf[name]; ok && condition != want {
				t.Errorf("%s refers to %s without its condition %s", what, name, want)
			}
		}
	}
	for id, r := range tpl.Resources {
		check("resource "+id, r.Condition, r.Properties)
	}
	for id, o := range tpl.Outputs {
		condition, _ := o["Condition"].(string)
		check("output "+id, condition, o["Value"])
	}
}

// refsOf returns the names v refers to through Ref, Fn::GetAtt and Fn::Sub,
// sorted, without duplicates. SAM's "Function.Alias" is the function.
func refsOf(v any) []string {
	var names []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for k, e := range v {
				switch k {
				case "Ref":
					if s, ok := e.(string); ok {
						name, _, _ := strings.Cut(s, ".")
						names = append(names, name)
					}
				case "Fn::GetAtt":
					if id, _, ok := getAttOf(v); ok {
						names = append(names, id)
					}
				case "Fn::Sub":
					if s, ok := e.(string); ok {
						for _, m := range subVar.FindAllStringSubmatch(s, -1) {
							name, _, _ := strings.Cut(m[1], ".")
							names = append(names, name)
						}
					}
				}
				walk(e)
			}
		}
	}
	walk(v)
	slices.Sort(names)
	return slices.Compact(names)
}

// getAttOf returns the resource and attribute of v when v is a Fn::GetAtt,
// in its short form ("Id.Attr") or its long one ([Id, Attr]).
func getAttOf(v any) (id, attr string, ok bool) {
	m, _ := v.(map[string]any)
	switch ga := m["Fn::GetAtt"].(type) {
	case string:
		id, attr, ok = strings.Cut(ga, ".")
	case []any:
		if len(ga) == 2 {
			id, _ = ga[0].(string)
			attr, _ = ga[1].(string)
			ok = id != "" && attr != ""
		}
	}
	return id, attr, ok
}
