package agent

import (
	"errors"
	"net/http"
	"slices"
	"sync/atomic"

	"github.com/lambda-destinations/lambda-destinations/agent/config"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
	"github.com/lambda-destinations/lambda-destinations/agent/destination/stdout"
	"github.com/lambda-destinations/lambda-destinations/agent/destination/webhook"
	"github.com/lambda-destinations/lambda-destinations/agent/metrics"
)

// target is a destination and the client that delivers to it.
type target struct {
	destination.Target
	d destination.Destination
	// metric is the destination's Destination dimension: its name in the
	// logs, which CloudWatch takes.
	metric string

	certificateRefused atomic.Bool // its TLS certificate was refused, and the log says so
}

// addTargets makes the clients of the configured destinations, one per
// destination whatever the conditions that list it, and the router's lists.
// A destination listed twice for one condition gets each record once.
func (a *Agent) addTargets(o Options) error {
	hooks := webhook.NewClient()
	index := map[string]int{}
	add := func(variable string, ts []destination.Target) ([]int, error) {
		var idx []int
		for _, t := range ts {
			i, ok := index[t.Raw]
			if !ok {
				d, err := a.client(o, t, hooks)
				if err != nil {
					return nil, &config.Error{Variable: variable, Value: t.Name(), Reason: err.Error()}
				}
				i = len(a.dests)
				index[t.Raw] = i
				a.dests = append(a.dests, &target{Target: t, d: d, metric: metrics.DimensionValue(t.Name())})
			}
			if slices.Contains(idx, i) {
				a.log.Warn("destination listed twice: records go to it once", "variable", variable, "destination", t.Name())
				continue
			}
			idx = append(idx, i)
		}
		return idx, nil
	}
	var err error
	if a.router.Success, err = add("DESTINATIONS_ON_SUCCESS", o.Config.Success); err != nil {
		return err
	}
	if a.router.Failure, err = add("DESTINATIONS_ON_FAILURE", o.Config.Failure); err != nil {
		return err
	}
	a.router.Slow, err = add("DESTINATIONS_ON_SLOW", o.Config.Slow)
	return err
}

// client makes the client of one destination; webhooks share hooks.
func (a *Agent) client(o Options, t destination.Target, hooks *http.Client) (destination.Destination, error) {
	switch t.Kind {
	case destination.Stdout:
		return stdout.New(a.lines), nil
	case destination.Webhook:
		return webhook.NewSigned(t.URL, hooks, o.Config.WebhookSecret), nil
	}
	if o.AWS == nil {
		return nil, errors.New("AWS destinations are not available in this build")
	}
	return o.AWS(t)
}
