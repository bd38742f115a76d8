package config

import (
	"strings"

	"github.com/lambda-destinations/lambda-destinations/agent/metrics"
)

// Metrics are the settings of the delivery metrics.
type Metrics struct {
	// EMF writes delivery metrics to the log as CloudWatch Embedded
	// Metric Format documents: DESTINATIONS_METRICS=emf.
	EMF       bool
	Namespace string // DESTINATIONS_METRICS_NAMESPACE
}

// read checks the metrics settings of e. The namespace is checked even
// with metrics off, so that a mistake shows before they are turned on.
func (m *Metrics) read(e *environment) error {
	switch strings.ToLower(strings.TrimSpace(e.Metrics)) {
	case "", "off":
	case "emf":
		m.EMF = true
	default:
		return &Error{"DESTINATIONS_METRICS", e.Metrics, "want emf (CloudWatch Embedded Metric Format on the log) or off"}
	}
	m.Namespace = strings.TrimSpace(e.MetricsNamespace)
	if m.Namespace == "" {
		m.Namespace = metrics.DefaultNamespace
	}
	if err := metrics.CheckNamespace(m.Namespace); err != nil {
		return &Error{"DESTINATIONS_METRICS_NAMESPACE", e.MetricsNamespace, "not a CloudWatch namespace: " + err.Error()}
	}
	return nil
}
