// Package extloop is the whole life of a do-nothing extension: register for
// INVOKE and SHUTDOWN (SHUTDOWN alone under Lambda Managed Instances, as the
// layer does), ask for events until SHUTDOWN. The bench's reference
// extensions run it with the layer's own Extensions API client, so that the
// floor they measure is the one the layer stands on.
package extloop

import (
	"context"
	"os"
	"path/filepath"

	"github.com/lambda-destinations/lambda-destinations/extension/extapi"
	"github.com/lambda-destinations/lambda-destinations/extension/lifecycle"
)

// Run registers under the executable's name and loops until SHUTDOWN.
func Run(ctx context.Context) error {
	c := extapi.NewClient(os.Getenv("AWS_LAMBDA_RUNTIME_API"))
	mode := lifecycle.ModeOf(os.Getenv("AWS_LAMBDA_INITIALIZATION_TYPE"))
	if _, err := c.Register(ctx, filepath.Base(os.Args[0]), mode.Events()...); err != nil {
		return err
	}
	for {
		ev, err := c.Next(ctx)
		if err != nil {
			return err
		}
		if ev.EventType == extapi.Shutdown {
			return nil
		}
	}
}
