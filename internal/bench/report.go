package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Budgets are what the layer may add above the do-nothing extension.
type Budgets struct {
	AddedMedianMs     float64 `json:"addedMedianMs"`     // 1 KB invocations, median
	AddedP99Ms        float64 `json:"addedP99Ms"`        // 1 KB invocations, p99
	LargeAddedPercent float64 `json:"largeAddedPercent"` // large responses, median
	LargeMemoryFactor float64 `json:"largeMemoryFactor"` // peak above idle while carrying a large response, × its size
	ColdStartAddedMs  float64 `json:"coldStartAddedMs"`  // the init phase (INIT REPORT), median
	IdleRSSMiB        float64 `json:"idleRssMiB"`        // the extension's resident memory after warm-up
	GrowthPercent     float64 `json:"growthPercent"`     // resident memory growth over the growth run
	ZipBytes          int64   `json:"zipBytes"`          // each layer zip
	PostResponseMs    float64 `json:"postResponseMs"`    // webhook with the end strategy, median
	RecordsPerSecond  float64 `json:"recordsPerSecond"`  // BenchmarkBuildMarshal1KB on one core
	// BacklogSlackMiB is what the extension's peak memory under a backlog
	// may take beyond its idle memory and twice the pending cap.
	BacklogSlackMiB float64 `json:"backlogSlackMiB"`
	// DrainedAddedMiB is what it may keep above idle once the backlog is gone.
	DrainedAddedMiB float64 `json:"drainedAddedMiB"`
	// ManagedThroughput is the least share of the function's own
	// throughput under Managed Instances the layer must keep.
	ManagedThroughput float64 `json:"managedThroughput"`
}

// DefaultBudgets are the project's.
var DefaultBudgets = Budgets{
	AddedMedianMs:     0.15,
	AddedP99Ms:        1,
	LargeAddedPercent: 10,
	LargeMemoryFactor: 2,
	ColdStartAddedMs:  5,
	IdleRSSMiB:        15,
	GrowthPercent:     10,
	ZipBytes:          4 << 20,
	PostResponseMs:    1,
	RecordsPerSecond:  100000,
	BacklogSlackMiB:   8,
	DrainedAddedMiB:   4,
	ManagedThroughput: 0.9,
}

// Report is the outcome of a run, written as JSON for comparing commits.
type Report struct {
	Time     string          `json:"time"`
	Commit   string          `json:"commit,omitempty"`
	Machine  Machine         `json:"machine"`
	Settings Settings        `json:"settings"`
	Setups   []*Setup        `json:"setups"`
	Growth   *Growth         `json:"growth,omitempty"`
	Backlog  *BacklogResult  `json:"backlog,omitempty"`
	Managed  []ManagedResult `json:"managed,omitempty"`
	Sizes    []Size          `json:"sizes"`
	// Init is each extension's package initialisation (GODEBUG=inittrace=1).
	Init    map[string]InitTrace `json:"init"`
	Go      []GoBench            `json:"go,omitempty"`
	GoError string               `json:"goError,omitempty"`
	Budgets []BudgetResult       `json:"budgets"`
}

// Machine is where the run took place.
type Machine struct {
	OS     string `json:"os"`
	Arch   string `json:"arch"`
	CPU    string `json:"cpu"`
	CPUs   int    `json:"cpus"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
}

// Settings are the run's counts and sizes.
type Settings struct {
	Invocations int     `json:"invocations"`
	Warmup      int     `json:"warmup"`
	ColdStarts  int     `json:"coldStarts"`
	Growth      int     `json:"growth"`
	Large       int     `json:"large"`
	EventBytes  int     `json:"eventBytes"`
	LargeBytes  int     `json:"largeBytes"`
	Budgets     Budgets `json:"budgets"`
}

// Setup is what was measured of one setup; latencies in milliseconds.
type Setup struct {
	Name         string       `json:"name"`
	Latency      *Summary     `json:"latency,omitempty"`      // sequential invocations, EventBytes in and out
	LargeLatency *Summary     `json:"largeLatency,omitempty"` // LargeBytes responses
	InitDuration *Summary     `json:"initDuration,omitempty"` // the emulator's INIT REPORT durationMs
	FirstInvoke  *Summary     `json:"firstInvoke,omitempty"`  // the caller's latency of a cold invocation
	Idle         *Memory      `json:"idle,omitempty"`         // the extension after warm-up
	LargeMemory  *LargeMemory `json:"largeMemory,omitempty"`
}

// LargeMemory is the extension's memory around the large responses.
type LargeMemory struct {
	Before       Memory `json:"before"` // peak reset to resident before
	After        Memory `json:"after"`
	AddedPeakKiB int64  `json:"addedPeakKiB"` // After.HWM - Before.RSS
}

// Growth follows the layer extension's memory over many invocations.
type Growth struct {
	Start   Sample   `json:"start"`
	End     Sample   `json:"end"`
	Percent float64  `json:"percent"` // resident growth from Start to End
	Samples []Sample `json:"samples"`
}

// Sample is the extension's memory after a number of invocations.
type Sample struct {
	Invocations int    `json:"invocations"`
	Memory      Memory `json:"memory"`
}

// Size is a file's size.
type Size struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
	Zip   bool   `json:"zip,omitempty"`
}

// BudgetResult is one budget checked.
type BudgetResult struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Limit   float64 `json:"limit"`
	Unit    string  `json:"unit"`
	AtLeast bool    `json:"atLeast,omitempty"` // the value must reach the limit, not stay under it
	Pass    bool    `json:"pass"`
}

func newReport(o Options) *Report {
	return &Report{
		Time:    time.Now().UTC().Format(time.RFC3339),
		Machine: machine(),
		Settings: Settings{Invocations: o.Invocations, Warmup: o.Warmup, ColdStarts: o.ColdStarts,
			Growth: o.Growth, Large: o.Large, EventBytes: o.EventBytes, LargeBytes: o.LargeBytes, Budgets: o.Budgets},
	}
}

// setup returns the named setup's results, adding it if needed.
func (r *Report) setup(name string) *Setup {
	for _, s := range r.Setups {
		if s.Name == name {
			return s
		}
	}
	s := &Setup{Name: name}
	r.Setups = append(r.Setups, s)
	return s
}

// Setup returns the named setup's results, or nil.
func (r *Report) Setup(name string) *Setup {
	for _, s := range r.Setups {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func machine() Machine {
	m := Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// added is a's field minus b's, NaN when either is missing.
func added(a, b *Summary, f func(*Summary) float64) float64 {
	if a == nil || b == nil {
		return math.NaN()
	}
	return f(a) - f(b)
}

func medianOf(s *Summary) float64 { return s.Median }
func p99Of(s *Summary) float64    { return s.P99 }

// Evaluate checks every budget against what the report holds; what was not
// measured is left out.
func (r *Report) Evaluate() {
	b := r.Settings.Budgets
	r.Budgets = nil
	check := func(name string, value, limit float64, unit string) {
		if math.IsNaN(value) {
			return
		}
		r.Budgets = append(r.Budgets, BudgetResult{Name: name, Value: value, Limit: limit, Unit: unit, Pass: value <= limit})
	}
	noop, layer, hook := r.Setup(Noop), r.Setup(Layer), r.Setup(Webhook)
	if noop != nil && layer != nil {
		check("added median latency, 1 KB, stdout", added(layer.Latency, noop.Latency, medianOf), b.AddedMedianMs, "ms")
		check("added p99 latency, 1 KB, stdout", added(layer.Latency, noop.Latency, p99Of), b.AddedP99Ms, "ms")
		large := humanBytes(int64(r.Settings.LargeBytes))
		if layer.LargeLatency != nil && noop.LargeLatency != nil {
			check(fmt.Sprintf("added median latency, %s response, recorded to stdout", large),
				100*(layer.LargeLatency.Median/noop.LargeLatency.Median-1), b.LargeAddedPercent, "%")
		}
		if c := r.Setup(Carry); c != nil && c.LargeLatency != nil && noop.LargeLatency != nil {
			check(fmt.Sprintf("added median latency, %s response, carried (no record)", large),
				100*(c.LargeLatency.Median/noop.LargeLatency.Median-1), b.LargeAddedPercent, "%")
		}
		check("added cold start (median INIT REPORT durationMs)", added(layer.InitDuration, noop.InitDuration, medianOf), b.ColdStartAddedMs, "ms")
	}
	if layer != nil && layer.LargeMemory != nil {
		check(fmt.Sprintf("extension peak memory above idle, %s response, recorded", humanBytes(int64(r.Settings.LargeBytes))),
			float64(layer.LargeMemory.AddedPeakKiB)/float64(r.Settings.LargeBytes/1024), b.LargeMemoryFactor, "× body")
	}
	if c := r.Setup(Carry); c != nil && c.LargeMemory != nil {
		check(fmt.Sprintf("extension peak memory above idle, %s response, carried", humanBytes(int64(r.Settings.LargeBytes))),
			float64(c.LargeMemory.AddedPeakKiB)/float64(r.Settings.LargeBytes/1024), b.LargeMemoryFactor, "× body")
	}
	if layer != nil && layer.Idle != nil {
		check("extension idle RSS", float64(layer.Idle.RSS)/1024, b.IdleRSSMiB, "MiB")
	}
	if r.Growth != nil {
		check(fmt.Sprintf("extension RSS growth over %d invocations", r.Growth.End.Invocations), r.Growth.Percent, b.GrowthPercent, "%")
	}
	if hook != nil && noop != nil {
		check("time after the response (webhook, end): added median", added(hook.Latency, noop.Latency, medianOf), b.PostResponseMs, "ms")
	}
	if bl := r.Backlog; bl != nil {
		check("extension peak RSS under a backlog", mib(bl.PeakKiB), mib(bl.Idle.RSS)+2*float64(bl.CapBytes)/(1<<20)+b.BacklogSlackMiB, "MiB")
		check("extension RSS once the backlog drained, above idle", mib(bl.DrainedKiB-bl.Idle.RSS), b.DrainedAddedMiB, "MiB")
	}
	for _, s := range r.Sizes {
		if s.Zip {
			check("size of "+s.Name, float64(s.Bytes), float64(b.ZipBytes), "bytes")
		}
	}
	atLeast := func(name string, value, limit float64, unit string) {
		if !math.IsNaN(value) {
			r.Budgets = append(r.Budgets, BudgetResult{Name: name, Value: value, Limit: limit, Unit: unit, AtLeast: true, Pass: value >= limit})
		}
	}
	for _, g := range r.Go {
		if strings.HasPrefix(g.Name, "BenchmarkBuildMarshal1KB") {
			atLeast("records built and serialised, 1 KB, one core", g.OpsPerSecond(), b.RecordsPerSecond, "records/s")
		}
	}
	for _, m := range r.Managed {
		if alone := r.managedResult(Managed, m.Workers); m.Setup == ManagedLayer && alone != nil {
			atLeast(fmt.Sprintf("throughput under Managed Instances, %d workers, webhook", m.Workers),
				m.PerSecond/alone.PerSecond, b.ManagedThroughput, "× alone")
		}
	}
}

// managedResult is a setup's result under Managed Instances at workers, or nil.
func (r *Report) managedResult(setup string, workers int) *ManagedResult {
	for i := range r.Managed {
		if m := &r.Managed[i]; m.Setup == setup && m.Workers == workers {
			return m
		}
	}
	return nil
}

// Failed lists the budgets not kept.
func (r *Report) Failed() []BudgetResult {
	var out []BudgetResult
	for _, b := range r.Budgets {
		if !b.Pass {
			out = append(out, b)
		}
	}
	return out
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

func ms(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.3f", v)
}

func signed(v float64, unit string) string {
	if math.IsNaN(v) {
		return ""
	}
	return fmt.Sprintf("%+.3f%s", v, unit)
}

// WriteTable writes the report as text tables.
func (r *Report) WriteTable(w io.Writer) error {
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	m := r.Machine
	p("lambda-destinations bench, %s, commit %s\n", r.Time, orDash(r.Commit))
	p("machine: %s, %d CPUs, %s/%s, Linux %s, %s\n", orDash(m.CPU), m.CPUs, m.OS, m.Arch, orDash(m.Kernel), m.Go)
	p("setups:\n")
	for _, s := range setups {
		if r.Setup(s.name) != nil {
			p("  %s = %s\n", s.name, s.about)
		}
	}
	p("\n")
	noop := r.Setup(Noop)

	table := func(title string, get func(*Setup) *Summary) {
		p("%s\n", title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "setup\tn\tmedian\tp90\tp99\tmax\tmedian vs noop\tp99 vs noop\t")
		for _, st := range setups {
			name := st.name
			s := r.Setup(name)
			if s == nil || get(s) == nil {
				continue
			}
			v := get(s)
			var dm, dp string
			if noop != nil && get(noop) != nil && name != Noop {
				dm, dp = signed(v.Median-get(noop).Median, ""), signed(v.P99-get(noop).P99, "")
				if name == None {
					dm, dp = "("+dm+")", "("+dp+")"
				}
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, v.N, ms(v.Median), ms(v.P90), ms(v.P99), ms(v.Max), dm, dp)
		}
		if e := tw.Flush(); err == nil {
			err = e
		}
		p("\n")
	}
	table(fmt.Sprintf("caller latency, ms: %d sequential invocations, %s event and response", r.Settings.Invocations, humanBytes(int64(r.Settings.EventBytes))),
		func(s *Setup) *Summary { return s.Latency })
	table(fmt.Sprintf("caller latency, ms: %s response (%d invocations)", humanBytes(int64(r.Settings.LargeBytes)), r.Settings.Large),
		func(s *Setup) *Summary { return s.LargeLatency })
	table(fmt.Sprintf("cold start, ms: the emulator's INIT REPORT durationMs (%d fresh emulators per setup)", r.Settings.ColdStarts),
		func(s *Setup) *Summary { return s.InitDuration })
	table("cold start, ms: the caller's latency of the first invocation",
		func(s *Setup) *Summary { return s.FirstInvoke })

	p("extension memory, MiB (VmRSS / VmHWM of the extension process)\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "setup\tidle RSS\tbefore %s\tpeak during\tadded peak\tadded peak / body\t\n", humanBytes(int64(r.Settings.LargeBytes)))
	for _, st := range setups {
		name := st.name
		s := r.Setup(name)
		if s == nil || s.Idle == nil {
			continue
		}
		row := fmt.Sprintf("%s\t%.1f\t", name, mib(s.Idle.RSS))
		if lm := s.LargeMemory; lm != nil {
			row += fmt.Sprintf("%.1f\t%.1f\t%+.1f\t%.2f\t", mib(lm.Before.RSS), mib(lm.After.HWM), mib(lm.AddedPeakKiB),
				float64(lm.AddedPeakKiB)/float64(r.Settings.LargeBytes/1024))
		} else {
			row += "\t\t\t\t"
		}
		fmt.Fprintln(tw, row)
	}
	if e := tw.Flush(); err == nil {
		err = e
	}
	if g := r.Growth; g != nil {
		p("layer extension RSS after %d invocations: %.1f MiB, after %d: %.1f MiB (%+.1f%%)\n",
			g.Start.Invocations, mib(g.Start.Memory.RSS), g.End.Invocations, mib(g.End.Memory.RSS), g.Percent)
	}
	if bl := r.Backlog; bl != nil {
		p("layer extension under a backlog (%d invocations, %s responses, a webhook taking %.0f ms a record, cap %s):\n",
			bl.Invocations, humanBytes(int64(bl.ResponseBytes)), bl.DelayMs, humanBytes(int64(bl.CapBytes)))
		p("  idle RSS %.1f MiB, peak %.1f MiB (bound %.1f), %.1f MiB once drained %.1f s after the last invocation; %d records delivered, %d to the log\n",
			mib(bl.Idle.RSS), mib(bl.PeakKiB), mib(bl.BoundKiB), mib(bl.DrainedKiB), bl.DrainSeconds, bl.Delivered, bl.Invocations-bl.Delivered)
	}
	if len(r.Managed) > 0 {
		p("\nLambda Managed Instances (the emulator's mode): 1 KB events, as many callers as workers, retrying while every worker is busy\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "workers\tsetup\tcalls\tinvocations/s\tvs alone\tp50 ms\tp99 ms\t")
		for _, m := range r.Managed {
			vs := ""
			if alone := r.managedResult(Managed, m.Workers); alone != nil && m.Setup != Managed {
				vs = fmt.Sprintf("%.2f×", m.PerSecond/alone.PerSecond)
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%.0f\t%s\t%s\t%s\t\n", m.Workers, m.Setup, m.Calls, m.PerSecond, vs, ms(m.Latency.Median), ms(m.Latency.P99))
		}
		if e := tw.Flush(); err == nil {
			err = e
		}
	}
	p("\n")

	p("package initialisation before main (GODEBUG=inittrace=1, quickest of 7 runs)\n")
	for _, name := range []string{Noop, Layer} {
		if t, ok := r.Init[name]; ok {
			p("  %-6s %3d packages, %.3f ms, %d KiB allocated", name, t.Packages, t.ClockMs, t.Bytes/1024)
			if len(t.Top) > 0 {
				p("; costliest: %s %.3f ms", t.Top[0].Package, t.Top[0].ClockMs)
			}
			p("\n")
		}
	}
	p("\nsizes\n")
	for _, s := range r.Sizes {
		p("  %-30s %10d bytes (%.2f MiB)\n", s.Name, s.Bytes, float64(s.Bytes)/(1<<20))
	}
	if len(r.Go) > 0 || r.GoError != "" {
		p("\nGo benchmarks (one core)\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "benchmark\tns/op\tops/s\tMB/s\tB/op\tallocs/op\t")
		for _, g := range r.Go {
			mbs := ""
			if g.MBPerS > 0 {
				mbs = fmt.Sprintf("%.1f", g.MBPerS)
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%s\t%d\t%d\t\n", shortPkg(g.Package)+"."+strings.TrimPrefix(g.Name, "Benchmark"),
				g.NsPerOp, g.OpsPerSecond(), mbs, g.BytesPerOp, g.AllocsPerOp)
		}
		if e := tw.Flush(); err == nil {
			err = e
		}
		if r.GoError != "" {
			p("  (some Go benchmarks failed: %s)\n", r.GoError)
		}
	}
	p("\nbudgets (what the layer may add above the do-nothing extension)\n")
	for _, b := range r.Budgets {
		verdict := "PASS"
		if !b.Pass {
			verdict = "FAIL"
		}
		cmp := "≤"
		if b.AtLeast {
			cmp = "≥"
		}
		p("  %s  %-58s %12s %s (%s %s)\n", verdict, b.Name, num(b.Value), b.Unit, cmp, num(b.Limit))
	}
	return err
}

func num(v float64) string {
	switch {
	case math.Abs(v) >= 1000:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func shortPkg(p string) string {
	return strings.TrimPrefix(p, "github.com/lambda-destinations/lambda-destinations/")
}

// WriteComparison writes each budgeted value of r beside its value in an
// earlier report prev (such as the build/bench.json of another commit).
func (r *Report) WriteComparison(w io.Writer, prev *Report) error {
	old := map[string]BudgetResult{}
	for _, b := range prev.Budgets {
		old[b.Name] = b
	}
	if _, err := fmt.Fprintf(w, "\ncompared with the previous run (%s, commit %s)\n", prev.Time, orDash(prev.Commit)); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, b := range r.Budgets {
		o, ok := old[b.Name]
		if !ok {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t→ %s %s\t\n", b.Name, num(o.Value), num(b.Value), b.Unit)
	}
	return tw.Flush()
}
