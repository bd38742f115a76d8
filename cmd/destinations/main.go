// Command destinations is the lambda-destinations extension: it registers
// with the Extensions API, serves the Runtime API proxy the runtime is
// pointed at, and delivers an execution record for every invocation.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent"
	"github.com/lambda-destinations/lambda-destinations/agent/config"
	"github.com/lambda-destinations/lambda-destinations/extension/extapi"
	"github.com/lambda-destinations/lambda-destinations/extension/lifecycle"
	"github.com/lambda-destinations/lambda-destinations/extension/proxy"
	"github.com/lambda-destinations/lambda-destinations/extension/telemetry"
)

// version is stamped by the release build.
var version = "dev"

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("destinations", version)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx); err != nil {
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("extension", "destinations")
	name := filepath.Base(os.Args[0]) // Lambda wants the file name in /opt/extensions
	client := extapi.NewClient(os.Getenv("AWS_LAMBDA_RUNTIME_API"))

	cfg, err := config.Load()
	if err != nil {
		return initError(ctx, log, client, name, "Extension.ConfigInvalid", err)
	}
	log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.Level})).With("extension", "destinations")

	// The proxy listens before registering: Lambda starts the runtime as
	// soon as every extension has registered.
	tracker := lifecycle.NewTracker()
	px := proxy.New(proxy.Options{
		Upstream:        cfg.RuntimeAPI,
		MaxPayloadBytes: cfg.MaxPayloadBytes,
		// Bodies no record will hold are not kept.
		Keep: func(c proxy.Call) bool {
			switch c {
			case proxy.CallNext:
				return !cfg.OmitRequest && cfg.Records()
			case proxy.CallResponse:
				return !cfg.OmitResponse && len(cfg.Success)+len(cfg.Slow) > 0
			}
			return len(cfg.Failure) > 0
		},
		ManagedInstances: os.Getenv("AWS_LAMBDA_INITIALIZATION_TYPE") == "lambda-managed-instances",
		Observer:         tracker,
		Logger:           log,
	})
	ln, err := px.Listen(cfg.ProxyAddress())
	if err != nil {
		err = &config.Error{Variable: "DESTINATIONS_PROXY_PORT", Value: cfg.ProxyPort, Reason: fmt.Sprintf("cannot listen: %v", err)}
		return initError(ctx, log, client, name, "Extension.ConfigInvalid", err)
	}
	go func() {
		if err := px.Serve(ln); err != nil {
			log.Error("runtime API proxy stopped", "error", err)
		}
	}()

	reg, err := client.Register(ctx, name, extapi.Invoke, extapi.Shutdown)
	if err != nil {
		log.Error("cannot register", "error", err)
		return err
	}

	if cfg.SAMLocal == "" {
		go subscribeTelemetry(ctx, log, client, tracker)
	}

	aws := newAWSDestinations(cfg, reg.AccountID, log)
	overflow, err := aws.Overflow()
	if err != nil {
		return initError(ctx, log, client, "", "Extension.ConfigInvalid", err)
	}
	ag, err := agent.New(agent.Options{Config: cfg, Stdout: os.Stdout, Log: log, AWS: aws.New, Overflow: overflow})
	if err != nil {
		return initError(ctx, log, client, "", "Extension.ConfigInvalid", err)
	}
	aws.Warm(ctx)
	if !cfg.Records() {
		log.Warn("no destinations configured: invocations pass through and nothing is recorded; set DESTINATIONS_ON_SUCCESS or DESTINATIONS_ON_FAILURE")
	}

	loop := &lifecycle.Loop{
		Client:          client,
		Tracker:         tracker,
		Listener:        ag,
		Log:             log,
		FunctionTimeout: cfg.Timeout,
		InvokeMargin:    200 * time.Millisecond,
		ShutdownMargin:  300 * time.Millisecond,
	}
	err = loop.Run(ctx)
	if err == nil {
		return nil // SHUTDOWN: the loop has flushed
	}
	// Stopped by a signal, or the Extensions API went away: what is pending
	// goes out, or to the log, in the little time left; never lost silently.
	sctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	ag.Shutdown(sctx)
	if ctx.Err() != nil {
		return nil
	}
	log.Error("event loop failed", "error", err)
	return err
}

// subscribeTelemetry runs beside the first /next, off the init path. Where
// the Telemetry API is absent, timeouts and crashes are told by SHUTDOWN.
func subscribeTelemetry(ctx context.Context, log *slog.Logger, client *extapi.Client, tracker *lifecycle.Tracker) {
	l, err := telemetry.Listen(tracker, log)
	if err != nil {
		log.Warn("telemetry not used", "error", err)
		return
	}
	err = client.SubscribeTelemetry(ctx, l.URI())
	switch {
	case err == nil:
		tracker.UseTelemetry()
		log.Debug("subscribed to the Telemetry API", "uri", l.URI())
		return
	case errors.Is(err, extapi.ErrTelemetryNotSupported):
		log.Debug("no Telemetry API here: timeouts and crashes are told by SHUTDOWN")
	default:
		log.Warn("telemetry not used", "error", err)
	}
	_ = l.Close()
}

// initError reports an init failure to Lambda and to the log: the emulator
// shows the caller only a bare error, so the log is where a user reads why.
func initError(ctx context.Context, log *slog.Logger, client *extapi.Client, name, errorType string, err error) error {
	log.Error("init failed", "errorType", errorType, "error", err.Error())
	if name != "" {
		if _, rerr := client.Register(ctx, name, extapi.Invoke, extapi.Shutdown); rerr != nil {
			log.Error("cannot register to report the init error", "error", rerr)
			return err
		}
	}
	if rerr := client.InitError(ctx, errorType, err.Error()); rerr != nil {
		log.Error("cannot report the init error", "error", errors.Join(rerr))
	}
	return err
}
