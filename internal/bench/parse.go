package bench

import (
	"bufio"
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The emulator says how long the init phase took in its own log, INIT
// REPORT(durationMs: X), from the start of init to the runtime's and every
// extension's first /next. The REPORT line's "Init Duration" only times the
// start of init, which the emulator runs asynchronously, and is a fallback.
var (
	initReportRE   = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)`)
	initDurationRE = regexp.MustCompile(`Init Duration: ([0-9.]+) ms`)
)

// InitDuration returns the init phase's duration from the emulator's
// output, in milliseconds.
func InitDuration(output string) (float64, error) {
	m := initReportRE.FindStringSubmatch(output)
	if m == nil {
		m = initDurationRE.FindStringSubmatch(output)
	}
	if m == nil {
		return 0, fmt.Errorf("no INIT REPORT or Init Duration in the emulator's output")
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("init duration %q: %w", m[1], err)
	}
	return v, nil
}

// PackageInit is the cost of one package's initialisation before main.
type PackageInit struct {
	Package string  `json:"package"`
	ClockMs float64 `json:"clockMs"`
	Bytes   int64   `json:"bytes"`
	Allocs  int64   `json:"allocs"`
}

// InitTrace sums what GODEBUG=inittrace=1 reports: every package's
// initialisation, which runs before main and so before the extension can
// register.
type InitTrace struct {
	Packages int           `json:"packages"`
	ClockMs  float64       `json:"clockMs"`
	Bytes    int64         `json:"bytes"`
	Allocs   int64         `json:"allocs"`
	Top      []PackageInit `json:"top,omitempty"` // the costliest, by clock
}

// initLineRE matches "init net/http @4.6 ms, 0.046 ms clock, 4712 bytes, 49 allocs".
var initLineRE = regexp.MustCompile(`^init (\S+) @[0-9.]+ ms, ([0-9.]+) ms clock, ([0-9]+) bytes, ([0-9]+) allocs`)

// ParseInitTrace reads GODEBUG=inittrace=1 output and keeps the top n
// packages by clock time.
func ParseInitTrace(out string, top int) InitTrace {
	var t InitTrace
	var all []PackageInit
	for line := range strings.Lines(out) {
		m := initLineRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		p := PackageInit{Package: m[1]}
		p.ClockMs, _ = strconv.ParseFloat(m[2], 64)
		p.Bytes, _ = strconv.ParseInt(m[3], 10, 64)
		p.Allocs, _ = strconv.ParseInt(m[4], 10, 64)
		t.Packages++
		t.ClockMs += p.ClockMs
		t.Bytes += p.Bytes
		t.Allocs += p.Allocs
		all = append(all, p)
	}
	slices.SortStableFunc(all, func(a, b PackageInit) int { return cmp.Compare(b.ClockMs, a.ClockMs) })
	t.Top = all[:min(top, len(all))]
	return t
}

// GoBench is one result line of `go test -bench`.
type GoBench struct {
	Package     string  `json:"package,omitempty"`
	Name        string  `json:"name"`
	Iterations  int64   `json:"iterations"`
	NsPerOp     float64 `json:"nsPerOp"`
	MBPerS      float64 `json:"mbPerS,omitempty"`
	BytesPerOp  int64   `json:"bytesPerOp"`
	AllocsPerOp int64   `json:"allocsPerOp"`
}

// OpsPerSecond is how many operations one benchmark loop makes a second.
func (b GoBench) OpsPerSecond() float64 {
	if b.NsPerOp <= 0 {
		return 0
	}
	return 1e9 / b.NsPerOp
}

// ParseGoBench reads the output of `go test -bench` (with -benchmem or
// b.ReportAllocs), taking package names from its "pkg:" lines.
func ParseGoBench(out string) []GoBench {
	var res []GoBench
	pkg := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		b := GoBench{Package: pkg, Name: f[0], Iterations: n}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			switch f[i+1] {
			case "ns/op":
				b.NsPerOp = v
			case "MB/s":
				b.MBPerS = v
			case "B/op":
				b.BytesPerOp = int64(v)
			case "allocs/op":
				b.AllocsPerOp = int64(v)
			}
		}
		res = append(res, b)
	}
	return res
}
