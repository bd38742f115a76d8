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
	"strconv"
	"syscall"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent"
	"github.com/lambda-destinations/lambda-destinations/agent/config"
	"github.com/lambda-destinations/lambda-destinations/agent/flush"
	"github.com/lambda-destinations/lambda-destinations/extension/extapi"
	"github.com/lambda-destinations/lambda-destinations/extension/lifecycle"
	"github.com/lambda-destinations/lambda-destinations/extension/proxy"
	"github.com/lambda-destinations/lambda-destinations/extension/runtimeproc"
	"github.com/lambda-destinations/lambda-destinations/extension/telemetry"
)

// version is stamped by the release build.
var version = "dev"

// initLimit is Lambda's limit on the init phase, runtime and extensions together.
const initLimit = 10 * time.Second

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
	mode := lifecycle.ModeOf(os.Getenv("AWS_LAMBDA_INITIALIZATION_TYPE"))

	cfg, err := config.Load()
	if err != nil {
		return initError(ctx, log, client, name, mode, "Extension.ConfigInvalid", err)
	}
	log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel})).With("extension", "destinations")

	if mode == lifecycle.Managed {
		// Never frozen, many invocations at once: records go out as they come.
		cfg.Flush = flush.Background
	}
	log.Info("starting", "version", version, "mode", mode.String(), "flush", string(cfg.Flush))

	// The proxy listens before registering: Lambda starts the runtime as
	// soon as every extension has registered.
	var tracker *lifecycle.Tracker
	runtime := runtimeproc.New(runtimeproc.PIDFile(cfg.ProxyPort), func() { tracker.RuntimeExited() }, log)
	defer runtime.Close()
	tracker = lifecycle.NewTracker(lifecycle.TrackerOptions{
		Managed: mode == lifecycle.Managed,
		Timeout: cfg.Timeout,
		Runtime: runtime,
		Log:     log,
	})
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
		ManagedInstances: mode == lifecycle.Managed,
		Observer:         tracker,
		Logger:           log,
	})
	ln, err := px.Listen(cfg.ProxyAddress())
	if err != nil {
		err = &config.Error{Variable: "DESTINATIONS_PROXY_PORT", Value: strconv.Itoa(cfg.ProxyPort), Reason: fmt.Sprintf("cannot listen: %v", err)}
		return initError(ctx, log, client, name, mode, "Extension.ConfigInvalid", err)
	}
	go func() {
		if err := px.Serve(ln); err != nil {
			log.Error("runtime API proxy stopped", "error", err)
		}
	}()

	reg, err := client.Register(ctx, name, mode.Events()...)
	if err != nil {
		log.Error("cannot register", "error", err)
		return err
	}
	// The runtime starts now; it may fail its init before it calls the
	// Runtime API, which only the end of its process then tells.
	runtime.Start(initLimit)

	aws := newAWSDestinations(cfg, reg.AccountID, log)
	overflow, err := aws.Overflow()
	if err != nil {
		return initError(ctx, log, client, "", mode, "Extension.ConfigInvalid", err)
	}
	ag, err := agent.New(agent.Options{Config: cfg, Stdout: os.Stdout, Log: log, AWS: aws.New, Overflow: overflow,
		FunctionARN: functionARN(cfg, reg.AccountID)})
	if err != nil {
		return initError(ctx, log, client, "", mode, "Extension.ConfigInvalid", err)
	}
	aws.Warm(ctx)
	// Last in the init: a proxy that DESTINATIONS_RUNTIME_API chains to
	// starts beside this extension and has had this init's time to listen.
	if err := cfg.CheckRuntimeAPI(ctx); err != nil {
		return initError(ctx, log, client, "", mode, "Extension.ConfigInvalid", err)
	}
	if !cfg.Records() {
		log.Warn("no destinations configured: invocations pass through and nothing is recorded; set DESTINATIONS_ON_SUCCESS or DESTINATIONS_ON_FAILURE")
	}

	// Last before the first /next: Lambda takes subscriptions during the
	// init only, and closes them once every extension has asked for an event.
	if !cfg.SAMLocal {
		subscribeTelemetry(ctx, log, client, tracker, mode)
	}

	loop := &lifecycle.Loop{
		Client:         client,
		Tracker:        tracker,
		Listener:       ag,
		Log:            log,
		Mode:           mode,
		InvokeMargin:   200 * time.Millisecond,
		ShutdownMargin: 300 * time.Millisecond,
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

// subscribeTelemetry subscribes to the Telemetry API's platform events.
// Where the API is absent, timeouts and crashes are told by SHUTDOWN, the
// deadline and the runtime's process.
func subscribeTelemetry(ctx context.Context, log *slog.Logger, client *extapi.Client, tracker *lifecycle.Tracker, mode lifecycle.Mode) {
	l, err := telemetry.Listen(tracker, log)
	if err != nil {
		log.Warn("telemetry not used", "error", err)
		return
	}
	err = client.SubscribeTelemetry(ctx, l.URI(), mode.TelemetrySchema(), mode.TelemetryBuffering())
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
func initError(ctx context.Context, log *slog.Logger, client *extapi.Client, name string, mode lifecycle.Mode, errorType string, err error) error {
	log.Error("init failed", "errorType", errorType, "error", err.Error())
	if name != "" {
		if _, rerr := client.Register(ctx, name, mode.Events()...); rerr != nil {
			log.Error("cannot register to report the init error", "error", rerr)
			return err
		}
	}
	if rerr := client.InitError(ctx, errorType, err.Error()); rerr != nil {
		log.Error("cannot report the init error", "error", errors.Join(rerr))
	}
	return err
}
