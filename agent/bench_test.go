package agent

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/agent/config"
	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// BenchmarkCompleted is the agent's work for one invocation in the end
// strategy, from the invocation to its record delivered: to the log, and
// to a queue that answers at once. With metrics on, a document a flush.
func BenchmarkCompleted(b *testing.B) {
	body := `{"items":[` + strings.Repeat(`{"id":12345,"name":"abcdefghij"},`, 30) + `{"id":0}]}`
	for name, dest := range map[string]string{"stdout": "stdout", "queue": queue} {
		for _, metrics := range []string{"off", "emf"} {
			b.Run(name+"/metrics="+metrics, func(b *testing.B) {
				cfg, err := config.Parse(map[string]string{
					"AWS_LAMBDA_RUNTIME_API":   "127.0.0.1:9001",
					"AWS_LAMBDA_FUNCTION_NAME": "f",
					"DESTINATIONS_ON_SUCCESS":  dest,
					"DESTINATIONS_METRICS":     metrics,
				})
				if err != nil {
					b.Fatal(err)
				}
				a, err := New(Options{
					Config: cfg, Stdout: io.Discard, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
					AWS: func(destination.Target) (destination.Destination, error) { return accepting{}, nil },
				})
				if err != nil {
					b.Fatal(err)
				}
				inv := success("r", body, body, 0)
				b.ReportAllocs()
				for b.Loop() {
					a.Completed(context.Background(), inv)
				}
			})
		}
	}
}

// accepting is a queue that takes every record at once.
type accepting struct{}

func (accepting) Send(context.Context, destination.Message) error { return nil }

func (accepting) MaxRecordBytes() int { return 1 << 20 }
