package bench

import (
	"context"
	"fmt"
	"time"
)

// coldStarts starts a fresh emulator per setup and round, in turn, and
// reads the duration of the init phase of its first invocation.
func (r *runner) coldStarts(ctx context.Context, rep *Report) error {
	setups := r.in(coldStarts)
	initMs := map[string][]float64{}
	first := map[string][]time.Duration{}
	for i := range r.o.ColdStarts {
		fmt.Fprintf(r.progress, "cold starts: round %d/%d\n", i+1, r.o.ColdStarts)
		for _, s := range rotate(setups, i) {
			em, err := r.start(ctx, s, "")
			if err != nil {
				return err
			}
			lat, err := r.invoke(ctx, em, r.event, len(r.event))
			if err == nil {
				wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err = em.e.WaitOutput(wctx, "INIT REPORT(")
				cancel()
			}
			var d float64
			if err == nil {
				d, err = InitDuration(em.e.Output())
			}
			if serr := em.e.Stop(); err == nil && serr != nil {
				err = serr
			}
			if err != nil {
				return fmt.Errorf("cold start of %s: %w", s.name, err)
			}
			initMs[s.name] = append(initMs[s.name], d)
			first[s.name] = append(first[s.name], lat)
		}
	}
	for _, s := range setups {
		st := rep.setup(s.name)
		st.InitDuration = SummarizeMs(initMs[s.name])
		st.FirstInvoke = Summarize(first[s.name])
	}
	return nil
}

// warm starts one emulator per setup and measures sequential 1 KB
// invocations, the setups taking turns invocation by invocation.
func (r *runner) warm(ctx context.Context, rep *Report) error {
	setups := r.in(warm)
	for _, s := range setups {
		em, err := r.start(ctx, s, r.hook.URL())
		if err != nil {
			return err
		}
		r.emus[s.name] = em
	}
	fmt.Fprintf(r.progress, "warming up: %d invocations per setup\n", r.o.Warmup)
	for i := range r.o.Warmup {
		for _, s := range rotate(setups, i) {
			if _, err := r.invoke(ctx, r.emus[s.name], r.event, len(r.event)); err != nil {
				return err
			}
		}
	}
	for _, s := range setups {
		if s.ext == "" {
			continue
		}
		m, err := r.memory(r.emus[s.name])
		if err != nil {
			return err
		}
		rep.setup(s.name).Idle = &m
	}
	fmt.Fprintf(r.progress, "latency: %d sequential 1 KB invocations per setup, alternating\n", r.o.Invocations)
	lat := map[string][]time.Duration{}
	for i := range r.o.Invocations {
		for _, s := range rotate(setups, i) {
			d, err := r.invoke(ctx, r.emus[s.name], r.event, len(r.event))
			if err != nil {
				return err
			}
			lat[s.name] = append(lat[s.name], d)
		}
	}
	if got := len(r.hook.Received()); got < r.emus[Webhook].calls {
		return fmt.Errorf("setup %s: the webhook received %d records for %d invocations", Webhook, got, r.emus[Webhook].calls)
	}
	for _, s := range setups {
		rep.setup(s.name).Latency = Summarize(lat[s.name])
	}
	return nil
}

// growth keeps invoking the layer and watches its extension's memory.
func (r *runner) growth(ctx context.Context, rep *Report) error {
	em := r.emus[Layer]
	m, err := r.memory(em)
	if err != nil {
		return err
	}
	g := &Growth{Start: Sample{Invocations: em.calls, Memory: m}}
	step := max(r.o.Growth/10, 1)
	fmt.Fprintf(r.progress, "memory growth: %d invocations of the layer\n", r.o.Growth)
	for em.calls < r.o.Growth {
		if _, err := r.invoke(ctx, em, r.event, len(r.event)); err != nil {
			return err
		}
		if em.calls%step == 0 || em.calls == r.o.Growth {
			m, err := r.memory(em)
			if err != nil {
				return err
			}
			g.Samples = append(g.Samples, Sample{Invocations: em.calls, Memory: m})
		}
	}
	if len(g.Samples) > 0 {
		g.End = g.Samples[len(g.Samples)-1]
	} else {
		g.End = g.Start
	}
	g.Percent = 100 * float64(g.End.Memory.RSS-g.Start.Memory.RSS) / float64(g.Start.Memory.RSS)
	rep.Growth = g
	return nil
}

// largeResponses measures large responses, the setups taking turns, and
// the extensions' peak memory while they carry them.
func (r *runner) largeResponses(ctx context.Context, rep *Report) error {
	setups := r.in(large)
	before := map[string]Memory{}
	for _, s := range setups {
		if s.ext == "" {
			continue
		}
		em := r.emus[s.name]
		if _, err := r.memory(em); err != nil {
			return err
		}
		if err := ResetPeak(em.pid); err != nil {
			return err
		}
		m, err := r.memory(em)
		if err != nil {
			return err
		}
		before[s.name] = m
	}
	fmt.Fprintf(r.progress, "large responses: %d invocations of %d bytes per setup, alternating\n", r.o.Large, r.o.LargeBytes)
	lat := map[string][]time.Duration{}
	for i := range r.o.Large {
		for _, s := range rotate(setups, i) {
			d, err := r.invoke(ctx, r.emus[s.name], r.large, r.o.LargeBytes)
			if err != nil {
				return err
			}
			lat[s.name] = append(lat[s.name], d)
		}
	}
	for _, s := range setups {
		st := rep.setup(s.name)
		st.LargeLatency = Summarize(lat[s.name])
		if s.ext == "" {
			continue
		}
		after, err := r.memory(r.emus[s.name])
		if err != nil {
			return err
		}
		b := before[s.name]
		st.LargeMemory = &LargeMemory{Before: b, After: after, AddedPeakKiB: after.HWM - b.RSS}
	}
	return nil
}
