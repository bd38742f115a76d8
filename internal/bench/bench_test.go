package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/rie"
)

func TestSummarize(t *testing.T) {
	if Summarize(nil) != nil {
		t.Error("summary of nothing")
	}
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(101-i)*time.Millisecond) // unsorted
	}
	s := Summarize(ds)
	want := Summary{N: 100, Median: 50.5, P90: 90, P99: 99, Max: 100, Min: 1, Mean: 50.5}
	if *s != want {
		t.Errorf("got %+v, want %+v", *s, want)
	}
	tests := []struct {
		in          []float64
		median, p99 float64
	}{
		{[]float64{3}, 3, 3},
		{[]float64{1, 3}, 2, 3},
		{[]float64{5, 1, 3}, 3, 5},
	}
	for _, tt := range tests {
		s := SummarizeMs(tt.in)
		if s.Median != tt.median || s.P99 != tt.p99 {
			t.Errorf("%v: median %v p99 %v, want %v %v", tt.in, s.Median, s.P99, tt.median, tt.p99)
		}
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("quantile of nothing")
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tdestinations\nVmPeak:\t  1234 kB\nVmHWM:\t    9000 kB\nVmRSS:\t    8192 kB\nThreads:\t7\n"
	m, err := ParseStatus([]byte(status))
	if err != nil || m != (Memory{RSS: 8192, HWM: 9000}) {
		t.Errorf("got %+v, %v", m, err)
	}
	for _, bad := range []string{"Name:\tkthread\n", "VmRSS:\t12 MB\nVmHWM:\t1 kB\n", "VmRSS:\tx kB\nVmHWM:\t1 kB\n"} {
		if _, err := ParseStatus([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	self, err := ReadMemory(os.Getpid())
	if err != nil || self.RSS <= 0 || self.HWM < self.RSS {
		t.Errorf("own memory %+v, %v", self, err)
	}
}

func TestInitDuration(t *testing.T) {
	tests := []struct {
		out  string
		want float64
		err  bool
	}{
		{"(rapid) INIT REPORT(durationMs: 15.244000)\nREPORT RequestId: x\tInit Duration: 0.02 ms\t", 15.244, false},
		{"REPORT RequestId: x\tInit Duration: 12.50 ms\tDuration: 1 ms", 12.5, false},
		{"START RequestId: x", 0, true},
	}
	for _, tt := range tests {
		got, err := InitDuration(tt.out)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("InitDuration(%q) = %v, %v", tt.out, got, err)
		}
	}
}

func TestParseInitTrace(t *testing.T) {
	out := `init internal/bytealg @0.009 ms, 0 ms clock, 0 bytes, 0 allocs
init runtime @0.10 ms, 0.031 ms clock, 0 bytes, 0 allocs
destinations dev
init net/http @4.6 ms, 0.046 ms clock, 4712 bytes, 49 allocs
init github.com/aws/aws-sdk-go-v2/service/lambda/schemas @2.2 ms, 0.91 ms clock, 673632 bytes, 4003 allocs
`
	tr := ParseInitTrace(out, 2)
	if tr.Packages != 4 || math.Abs(tr.ClockMs-0.987) > 1e-9 || tr.Bytes != 678344 || tr.Allocs != 4052 {
		t.Errorf("got %+v", tr)
	}
	if len(tr.Top) != 2 || tr.Top[0].Package != "github.com/aws/aws-sdk-go-v2/service/lambda/schemas" || tr.Top[1].Package != "net/http" {
		t.Errorf("top %+v", tr.Top)
	}
}

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
pkg: github.com/lambda-destinations/lambda-destinations/agent/record
BenchmarkBuildMarshal1KB        	  366068	      3181 ns/op	 635.07 MB/s	    2952 B/op	       5 allocs/op
BenchmarkBuildMarshal/5MB/json-2         	      34	   6524351 ns/op	 803.74 MB/s	 5251336 B/op	       5 allocs/op
PASS
pkg: github.com/lambda-destinations/lambda-destinations/extension/proxy
BenchmarkProxyNext/proxied/1024B	6940	49467 ns/op	8581 B/op	81 allocs/op
--- FAIL: BenchmarkBroken
`
	got := ParseGoBench(out)
	if len(got) != 3 {
		t.Fatalf("got %+v", got)
	}
	if g := got[0]; g.Name != "BenchmarkBuildMarshal1KB" || g.NsPerOp != 3181 || g.BytesPerOp != 2952 || g.AllocsPerOp != 5 ||
		g.MBPerS != 635.07 || !strings.HasSuffix(g.Package, "agent/record") || math.Abs(g.OpsPerSecond()-314366.55) > 0.01 {
		t.Errorf("first %+v", g)
	}
	if g := got[2]; !strings.HasSuffix(g.Package, "extension/proxy") || g.NsPerOp != 49467 || g.MBPerS != 0 {
		t.Errorf("last %+v", g)
	}
}

func TestEvents(t *testing.T) {
	for _, n := range []int{1, 64, 100, 1024, 4096, 100000} {
		ev := EchoEvent(n)
		if len(ev) != max(n, 64) || !json.Valid(ev) || !bytes.HasPrefix(ev, []byte(`{"Echo":true,`)) {
			t.Errorf("EchoEvent(%d): %d bytes: %.80s", n, len(ev), ev)
		}
	}
	var large struct{ ListBytes int }
	if err := json.Unmarshal(LargeResponseEvent(5<<20), &large); err != nil || large.ListBytes != 5<<20 {
		t.Errorf("LargeResponseEvent: %+v %v", large, err)
	}
}

func TestRotate(t *testing.T) {
	s := []string{"a", "b", "c"}
	for i, want := range []string{"abc", "bca", "cab", "abc"} {
		if got := strings.Join(rotate(s, i), ""); got != want {
			t.Errorf("rotate(%d) = %s, want %s", i, got, want)
		}
	}
}

func TestSetupsIn(t *testing.T) {
	base := Options{LayerDir: "layer", NoopDir: "noop"}
	more := Options{LayerDir: "layer", NoopDir: "noop", RelayDir: "relay", BaselineDir: "baseline"}
	tests := []struct {
		o    Options
		p    phase
		want string
	}{
		{base, coldStarts, "none noop layer"},
		{base, warm, "none noop layer layer-onfailure layer-webhook"},
		{base, large, "none noop layer layer-onfailure"},
		{more, coldStarts, "none noop relay layer baseline"},
		{more, warm, "none noop relay layer layer-onfailure layer-webhook baseline"},
		{base, managedPhase, "lmi lmi-webhook"},
		{more, managedPhase, "lmi lmi-relay lmi-webhook"},
	}
	for _, tt := range tests {
		r := &runner{o: tt.o}
		var got []string
		for _, s := range r.in(tt.p) {
			got = append(got, s.name)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("in(%d) with %+v = %v, want %s", tt.p, tt.o, got, tt.want)
		}
	}
}

func TestSetupOptions(t *testing.T) {
	r := &runner{o: Options{LayerDir: "/l", NoopDir: "/n", RelayDir: "/r", Function: "/task/fn"}}
	byName := map[string]setup{}
	for _, s := range setups {
		byName[s.name] = s
	}
	tests := []struct {
		name, layer, command, success, failure string
	}{
		{None, "", "/task/fn", "", ""},
		{Noop, "/n", "/task/fn", "", ""},
		{Relay, "/r", "/opt/destinations-wrapper /task/fn", "", ""},
		{Layer, "/l", "/opt/destinations-wrapper /task/fn", "stdout", "stdout"},
		{Carry, "/l", "/opt/destinations-wrapper /task/fn", "", "stdout"},
		{Webhook, "/l", "/opt/destinations-wrapper /task/fn", "http://hook/success", "stdout"},
		{Backlog, "/l", "/opt/destinations-wrapper /task/fn", "http://hook/backlog", ""},
	}
	for _, tt := range tests {
		o := r.options(byName[tt.name], "http://hook")
		if o.LayerDir != tt.layer || strings.Join(o.Command, " ") != tt.command || o.TaskRoot != "/task" ||
			o.Env["DESTINATIONS_ON_SUCCESS"] != tt.success || o.Env["DESTINATIONS_ON_FAILURE"] != tt.failure {
			t.Errorf("%s: %+v", tt.name, o)
		}
	}
}

// report is a report with made-up numbers; lat is the layer's 1 KB median.
func report(lat float64) *Report {
	r := &Report{Settings: Settings{Invocations: 500, LargeBytes: 5 << 20, EventBytes: 1 << 10, Budgets: DefaultBudgets}}
	r.setup(None).Latency = &Summary{N: 500, Median: 0.7, P99: 1.5}
	r.setup(Noop).Latency = &Summary{N: 500, Median: 0.8, P99: 1.8}
	r.setup(Noop).InitDuration = &Summary{N: 10, Median: 6}
	r.setup(Noop).LargeLatency = &Summary{N: 20, Median: 30}
	l := r.setup(Layer)
	l.Latency = &Summary{N: 500, Median: lat, P99: 2.2}
	l.InitDuration = &Summary{N: 10, Median: 8}
	l.LargeLatency = &Summary{N: 20, Median: 32}
	l.Idle = &Memory{RSS: 9 * 1024, HWM: 9 * 1024}
	l.LargeMemory = &LargeMemory{Before: Memory{RSS: 10 * 1024}, After: Memory{HWM: 18 * 1024}, AddedPeakKiB: 8 * 1024}
	r.setup(Webhook).Latency = &Summary{N: 500, Median: 1.2, P99: 2.4}
	r.Growth = &Growth{Start: Sample{Invocations: 550}, End: Sample{Invocations: 10000}, Percent: 1.5}
	r.Sizes = []Size{{Name: "layer-x86_64.zip", Bytes: 3 << 20, Zip: true}, {Name: "extensions/destinations", Bytes: 7 << 20}}
	r.Go = []GoBench{{Name: "BenchmarkBuildMarshal1KB", NsPerOp: 4000}}
	r.Evaluate()
	return r
}

func TestEvaluate(t *testing.T) {
	r := report(0.9)
	got := map[string]BudgetResult{}
	for _, b := range r.Budgets {
		got[b.Name] = b
	}
	want := map[string]struct {
		value float64
		pass  bool
	}{
		"added median latency, 1 KB, stdout":                         {0.1, true},
		"added p99 latency, 1 KB, stdout":                            {0.4, true},
		"added median latency, 5 MiB response, recorded to stdout":   {100 * (32.0/30 - 1), true},
		"added cold start (median INIT REPORT durationMs)":           {2, true},
		"extension peak memory above idle, 5 MiB response, recorded": {1.6, true},
		"extension idle RSS":                                         {9, true},
		"extension RSS growth over 10000 invocations":                {1.5, true},
		"time after the response (webhook, end): added median":       {0.4, true},
		"size of layer-x86_64.zip":                                   {3 << 20, true},
		"records built and serialised, 1 KB, one core":               {250000, true},
	}
	for name, w := range want {
		b, ok := got[name]
		if !ok {
			t.Errorf("no budget %q", name)
			continue
		}
		if math.Abs(b.Value-w.value) > 1e-9 || b.Pass != w.pass {
			t.Errorf("%s: %v (pass %v), want %v (pass %v)", name, b.Value, b.Pass, w.value, w.pass)
		}
	}
	if len(r.Failed()) != 0 {
		t.Errorf("failed: %+v", r.Failed())
	}
	if failed := report(1.0).Failed(); len(failed) != 1 || failed[0].Name != "added median latency, 1 KB, stdout" {
		t.Errorf("failed: %+v", failed)
	}
}

func TestWriteTable(t *testing.T) {
	r := report(0.9)
	prev := report(1.0)
	prev.Commit = "abc123"
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteComparison(&b, prev); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"caller latency, ms: 500 sequential invocations, 1 KiB event and response", "layer-webhook",
		"+0.100", "PASS  added median latency, 1 KB, stdout", "compared with the previous run", "abc123", "→ 0.100 ms"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	// The JSON report reads back.
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil || len(back.Budgets) != len(r.Budgets) || back.Setup(Layer).Latency.Median != 0.9 {
		t.Errorf("round trip: %v %+v", err, back)
	}
}

// TestRun runs every measurement with small counts under the emulator.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs emulators")
	}
	if err := rie.Available(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	o := Options{
		LayerDir: filepath.Join(tmp, "layer"), NoopDir: filepath.Join(tmp, "noop"), RelayDir: filepath.Join(tmp, "relay"),
		Function:    filepath.Join(tmp, "task", "function"),
		Invocations: 5, Warmup: 2, ColdStarts: 1, Growth: 30, Large: 2, LargeBytes: 1 << 20,
		Backlog: 40, BacklogBytes: 64 << 10, BacklogDelay: 20 * time.Millisecond,
		ManagedWorkers: []int{2}, ManagedCalls: 20, ManagedRounds: 2,
	}
	for _, build := range []func() error{
		func() error { return rie.BuildLayer(ctx, o.LayerDir) },
		func() error { return BuildNoopLayer(ctx, o.NoopDir) },
		func() error { return BuildRelayLayer(ctx, o.RelayDir) },
		func() error { return rie.BuildFunction(ctx, "./sam/function", o.Function) },
	} {
		if err := build(); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{None, Noop, Relay, Layer, Carry, Webhook} {
		s := r.Setup(name)
		if s == nil || s.Latency == nil || s.Latency.N != 5 {
			t.Errorf("%s: %+v", name, s)
		}
	}
	for _, name := range []string{None, Noop, Relay, Layer} {
		if s := r.Setup(name); s.InitDuration == nil || s.InitDuration.Median <= 0 || s.FirstInvoke == nil {
			t.Errorf("%s: cold start %+v", name, s)
		}
	}
	if l := r.Setup(Layer); l.Idle == nil || l.Idle.RSS <= 0 || l.LargeMemory == nil || l.LargeLatency == nil || l.LargeLatency.N != 2 {
		t.Errorf("layer: %+v", l)
	}
	if r.Growth == nil || r.Growth.End.Invocations != 30 || r.Growth.Start.Memory.RSS <= 0 {
		t.Errorf("growth %+v", r.Growth)
	}
	if b := r.Backlog; b == nil || b.Delivered == 0 || b.Delivered > b.Invocations || b.PeakKiB < b.Idle.RSS || b.DrainedKiB <= 0 {
		t.Errorf("backlog %+v", b)
	}
	if len(r.Managed) != 3 { // alone, the relay, the layer
		t.Errorf("managed instances: %+v", r.Managed)
	}
	if b := r.budget("throughput under Managed Instances, 2 workers, webhook"); b == nil || !b.AtLeast || b.Unit != "× alone" {
		t.Errorf("managed instances budget: %+v", b)
	}
	for _, m := range r.Managed {
		if m.Workers != 2 || m.Calls != 40 || m.PerSecond <= 0 || m.Latency == nil || m.Latency.N != 40 {
			t.Errorf("managed instances, %s: %+v", m.Setup, m)
		}
	}
	if tr := r.Init[Layer]; tr.Packages == 0 {
		t.Errorf("init trace %+v", r.Init)
	}
	if len(r.Budgets) == 0 {
		t.Error("no budget checked")
	}
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
}

// budget is the named budget of the report, or nil.
func (r *Report) budget(name string) *BudgetResult {
	for i := range r.Budgets {
		if r.Budgets[i].Name == name {
			return &r.Budgets[i]
		}
	}
	return nil
}

func TestSink(t *testing.T) {
	s, err := newSink()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	for i := range 3 {
		resp, err := client.Post(s.URL()+"/a", "application/json", strings.NewReader(fmt.Sprintf(`{"n":%d}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if s.count("/a") != 3 || s.count("/b") != 0 {
		t.Errorf("counts %d, %d", s.count("/a"), s.count("/b"))
	}
}
